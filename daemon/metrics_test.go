package daemon

import (
	"bytes"
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// scrape GETs /metrics over the socket and parses the text exposition.
func scrape(t *testing.T, ts *testServer) map[string]*dto.MetricFamily {
	t.Helper()
	status, body, hdr := ts.do(t, "GET", api.PathMetrics, nil)
	if status != 200 {
		t.Fatalf("GET /metrics = %d %s", status, body)
	}
	if ct := hdr.Get("Content-Type"); !bytes.HasPrefix([]byte(ct), []byte("text/plain")) {
		t.Errorf("Content-Type %q, want the text exposition", ct)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parse exposition: %v\n%s", err, body)
	}
	return fams
}

// sample returns the value of family name for the series with labels.
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) *dto.Metric {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric family %s", name)
	}
next:
	for _, m := range f.Metric {
		for k, v := range labels {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m
	}
	t.Fatalf("%s has no series with %v", name, labels)
	return nil
}

func TestMetrics(t *testing.T) {
	var mu sync.Mutex
	hold := map[string]chan struct{}{}
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		mu.Lock()
		c := hold[string(spec.Stdin)]
		mu.Unlock()
		if c != nil {
			<-c
		}
		switch string(spec.Stdin) {
		case "oom":
			return jail.Result{Status: jail.StatusOOM, ExitCode: -1, Wall: 30 * time.Millisecond}, nil
		case "fail":
			return jail.Result{Status: jail.StatusExitNonzero, ExitCode: 3, Wall: 20 * time.Millisecond}, nil
		}
		return jail.Result{Status: jail.StatusOK, Wall: 40 * time.Millisecond}, nil
	}}
	ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1; c.QueueSize = 1 })

	ts.run(t, api.RunRequest{Language: "python", Code: "x"})
	ts.run(t, api.RunRequest{Language: "python", Code: "x"})
	ts.run(t, api.RunRequest{Language: "node", Code: "x", Stdin: "fail"})
	ts.run(t, api.RunRequest{Language: "python", Code: "x", Stdin: "oom"})

	// One run holds the slot, one waits: the gauges show it and a third
	// request is refused with 429.
	release := make(chan struct{})
	mu.Lock()
	hold["hold"] = release
	mu.Unlock()
	first := ts.postAsync(`{"language":"python","code":"x","stdin":"hold"}`)
	waitFor(t, func() bool { r, _ := ts.srv.adm.counts(); return r == 1 })
	second := ts.postAsync(`{"language":"python","code":"x","stdin":"hold"}`)
	waitFor(t, func() bool { _, q := ts.srv.adm.counts(); return q == 1 })
	if status, body, _ := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"x"}`); status != 429 {
		t.Fatalf("third run = %d %s, want 429", status, body)
	}
	fams := scrape(t, ts)
	for _, c := range []struct {
		name string
		want float64
	}{{"jaild_jails_running", 1}, {"jaild_queue_length", 1}, {"jaild_max_concurrent", 1}} {
		if got := sample(t, fams, c.name, nil).GetGauge().GetValue(); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	close(release)
	<-first
	<-second

	fams = scrape(t, ts)
	for _, c := range []struct {
		labels map[string]string
		want   float64
	}{
		{map[string]string{"language": "python", "status": "ok"}, 4},
		{map[string]string{"language": "node", "status": "exit_nonzero"}, 1},
		{map[string]string{"language": "python", "status": "oom"}, 1},
	} {
		if got := sample(t, fams, "jaild_runs_total", c.labels).GetCounter().GetValue(); got != c.want {
			t.Errorf("jaild_runs_total%v = %v, want %v", c.labels, got, c.want)
		}
	}
	checks := []struct {
		name   string
		labels map[string]string
		got    float64
		want   float64
	}{
		{"jaild_oom_kills_total", nil, sample(t, fams, "jaild_oom_kills_total", nil).GetCounter().GetValue(), 1},
		{"jaild_admission_rejections_total", map[string]string{"reason": "queue_full"},
			sample(t, fams, "jaild_admission_rejections_total", map[string]string{"reason": "queue_full"}).GetCounter().GetValue(), 1},
		{"jaild_run_duration_seconds count", map[string]string{"language": "python"},
			float64(sample(t, fams, "jaild_run_duration_seconds", map[string]string{"language": "python"}).GetHistogram().GetSampleCount()), 5},
		{"jaild_run_duration_seconds sum", map[string]string{"language": "node"},
			sample(t, fams, "jaild_run_duration_seconds", map[string]string{"language": "node"}).GetHistogram().GetSampleSum(), 0.02},
		{"jaild_queue_wait_seconds count", nil,
			float64(sample(t, fams, "jaild_queue_wait_seconds", nil).GetHistogram().GetSampleCount()), 6},
		{"jaild_build_info", map[string]string{"version": "test"},
			sample(t, fams, "jaild_build_info", map[string]string{"version": "test"}).GetGauge().GetValue(), 1},
		{"jaild_jails_running", nil, sample(t, fams, "jaild_jails_running", nil).GetGauge().GetValue(), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, c.got, c.want)
		}
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Error("no Go runtime metrics")
	}
}

// statsRunner is a runner with a warm pool whose counters the test sets.
type statsRunner struct {
	fakeRunner
	st jail.PoolStats
}

func (r *statsRunner) Stats() jail.PoolStats { return r.st }

// scrapeHandler builds a Server on runner and parses its /metrics.
func scrapeHandler(t *testing.T, runner jail.Runner) map[string]*dto.MetricFamily {
	t.Helper()
	cfg := Default()
	cfg.StateDir = t.TempDir()
	srv, err := New(Options{Config: cfg, Runner: runner, Images: testImages, Version: "test",
		Host: HostInfo{CgroupVersion: "v1", Seccomp: true}, Authorize: func(*api.Caller) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", api.PathMetrics, nil)
	req.Host = "localhost"
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET /metrics = %d %s", rec.Code, rec.Body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse exposition: %v", err)
	}
	return fams
}

func TestPoolMetrics(t *testing.T) {
	r := &statsRunner{st: jail.PoolStats{Parked: 3, MemoryBytes: 30 << 20, BudgetBytes: 512 << 20,
		Hits: 7, Misses: 2, Ineligible: 1, Refills: 10, RefillErrors: 1,
		// Two keys of one language and rootfs, as python and python-strict
		// of the default policy are: only the profile tells them apart.
		Keys: []jail.PoolKeyStats{
			{Language: jail.Python, Rootfs: "python@sha256:ab", Profiles: []string{"python"}, Parked: 2, Target: 4, RefillLastMS: 42},
			{Language: jail.Python, Rootfs: "python@sha256:ab", Profiles: []string{"a", "python-strict"}, Parked: 1, Target: 1, RefillLastMS: 7},
		}}}
	fams := scrapeHandler(t, r)
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"jaild_pool_parked_jails", nil, 3},
		{"jaild_pool_memory_bytes", nil, 30 << 20},
		{"jaild_pool_memory_budget_bytes", nil, 512 << 20},
		{"jaild_pool_runs_total", map[string]string{"result": "hit"}, 7},
		{"jaild_pool_runs_total", map[string]string{"result": "miss"}, 2},
		{"jaild_pool_runs_total", map[string]string{"result": "ineligible"}, 1},
		{"jaild_pool_refills_total", nil, 10},
		{"jaild_pool_refill_errors_total", nil, 1},
		{"jaild_pool_key_parked_jails", map[string]string{"language": "python", "rootfs": "python@sha256:ab", "profile": "python"}, 2},
		{"jaild_pool_key_target_jails", map[string]string{"language": "python", "rootfs": "python@sha256:ab", "profile": "python"}, 4},
		{"jaild_pool_key_refill_seconds", map[string]string{"language": "python", "rootfs": "python@sha256:ab", "profile": "python"}, 0.042},
		{"jaild_pool_key_parked_jails", map[string]string{"language": "python", "rootfs": "python@sha256:ab", "profile": "a,python-strict"}, 1},
		{"jaild_pool_key_refill_seconds", map[string]string{"language": "python", "rootfs": "python@sha256:ab", "profile": "a,python-strict"}, 0.007},
	} {
		m := sample(t, fams, c.name, c.labels)
		got := m.GetGauge().GetValue() + m.GetCounter().GetValue()
		if got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// A runner without a pool exports no pool series.
	plain := scrapeHandler(t, &fakeRunner{})
	if _, ok := plain["jaild_pool_parked_jails"]; ok {
		t.Error("pool series exported by a daemon without a pool")
	}
}
