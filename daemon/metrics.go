package daemon

import (
	"errors"
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/policy"
)

// metrics are the Prometheus series of one Server. Each Server has its own
// registry (not the global one) so that several servers in one test binary
// do not collide, and so /metrics shows only what jaild owns plus the Go
// runtime and process collectors.
type metrics struct {
	reg       *prometheus.Registry
	runs      *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	queueWait prometheus.Histogram
	oomKills  prometheus.Counter
	rejected  *prometheus.CounterVec
}

// Buckets for wall time and queue wait, in seconds: a bare python run is
// ~50 ms, the default wall limit 5 s, the largest allowed 60 s.
var (
	durationBuckets  = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	queueWaitBuckets = []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
)

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jaild_runs_total",
			Help: "Finished runs by language and result status."}, []string{"language", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "jaild_run_duration_seconds",
			Help: "Wall-clock time of finished runs inside their jail.", Buckets: durationBuckets}, []string{"language"}),
		queueWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "jaild_queue_wait_seconds",
			Help: "Time runs waited for an admission slot.", Buckets: queueWaitBuckets}),
		oomKills: prometheus.NewCounter(prometheus.CounterOpts{Name: "jaild_oom_kills_total",
			Help: "Runs killed by their memory limit."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "jaild_admission_rejections_total",
			Help: "Runs refused before starting, by reason (the API error code: queue_full and quota_exceeded answer 429, policy_denied 403, validation_failed 422)."}, []string{"reason"}),
	}
	running := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "jaild_jails_running",
		Help: "Runs holding an admission slot now."}, func() float64 { r, _ := s.adm.counts(); return float64(r) })
	queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "jaild_queue_length",
		Help: "Runs waiting for an admission slot now."}, func() float64 { _, q := s.adm.counts(); return float64(q) })
	maxConc := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "jaild_max_concurrent",
		Help: "Admission slots in force (changes on reload)."}, func() float64 { return float64(s.config().MaxConcurrent) })
	build := prometheus.NewGauge(prometheus.GaugeOpts{Name: "jaild_build_info",
		Help:        "Always 1; the labels tell the build.",
		ConstLabels: prometheus.Labels{"version": s.version, "goversion": runtime.Version()}})
	build.Set(1)
	m.reg.MustRegister(m.runs, m.duration, m.queueWait, m.oomKills, m.rejected, running, queued, maxConc, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if p, ok := poolOf(s.runner); ok {
		m.reg.MustRegister(newPoolCollector(p))
	}
	if z, ok := s.runner.(zygoteStatser); ok {
		m.reg.MustRegister(newZygoteCollector(z))
	}
	for _, reason := range []string{"queue_full", "shutting_down", api.CodePolicyDenied, api.CodeQuotaExceeded, api.CodeValidationFailed} {
		m.rejected.WithLabelValues(reason)
	}
	return m
}

// RegisterMetrics adds collectors of other parts of the daemon (e.g. a jail pool)
// to /metrics.
func (s *Server) RegisterMetrics(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := s.metrics.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// observe records one finished run.
func (m *metrics) observe(r *api.RunResult) {
	m.runs.WithLabelValues(r.Language, r.Status).Inc()
	m.duration.WithLabelValues(r.Language).Observe(float64(r.WallMS) / 1000)
	m.queueWait.Observe(float64(r.QueueMS) / 1000)
	if r.Status == api.StatusOOM {
		m.oomKills.Inc()
	}
}

// reject records a run refused before it started. Malformed requests
// (400) are the client's bug, not admission: they are not counted.
func (m *metrics) reject(err error) {
	var ve *validationError
	switch {
	case errors.Is(err, ErrQueueFull):
		m.rejected.WithLabelValues("queue_full").Inc()
	case errors.Is(err, ErrShuttingDown):
		m.rejected.WithLabelValues("shutting_down").Inc()
	case errors.Is(err, policy.ErrDenied):
		m.rejected.WithLabelValues(api.CodePolicyDenied).Inc()
	case errors.Is(err, ErrQuotaExceeded):
		m.rejected.WithLabelValues(api.CodeQuotaExceeded).Inc()
	case errors.As(err, &ve):
		m.rejected.WithLabelValues(api.CodeValidationFailed).Inc()
	}
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
