package daemon

import (
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// poolStatser is a runner with a warm pool (container.Pool).
type poolStatser interface {
	Stats() jail.PoolStats
}

// zygoteStatser is a runner with python zygotes (container.Zygotes) in
// front of a fallback runner, which may have a pool of its own.
type zygoteStatser interface {
	ZygoteStats() jail.ZygoteStats
	Fallback() jail.Runner
}

// poolOf finds the warm pool of r, or of the runner behind r's zygotes.
func poolOf(r jail.Runner) (poolStatser, bool) {
	if z, ok := r.(zygoteStatser); ok {
		r = z.Fallback()
	}
	p, ok := r.(poolStatser)
	return p, ok
}

func zygoteInfo(st jail.ZygoteStats) *api.ZygoteInfo {
	return &api.ZygoteInfo{Zygotes: st.Zygotes, Runs: st.Runs, Fallbacks: st.Fallbacks,
		Ineligible: st.Ineligible, Starts: st.Starts, StartErrors: st.StartErrors}
}

// zygoteCollector exports the zygotes' counters on /metrics, read at
// scrape time like the pool's.
type zygoteCollector struct {
	z                     zygoteStatser
	zygotes, runs, starts *prometheus.Desc
	startErrors           *prometheus.Desc
}

func newZygoteCollector(z zygoteStatser) *zygoteCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("jaild_zygote_"+name, help, labels, nil)
	}
	return &zygoteCollector{z: z,
		zygotes:     d("running", "Python zygotes running now."),
		runs:        d("runs_total", "Runs by how the zygotes served them: forked (a zygote's child), fallback (the zygote could not fork), ineligible (no zygote key matches).", "result"),
		starts:      d("starts_total", "Zygotes started."),
		startErrors: d("start_errors_total", "Zygotes that failed to start."),
	}
}

func (c *zygoteCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.zygotes, c.runs, c.starts, c.startErrors} {
		ch <- d
	}
}

func (c *zygoteCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.z.ZygoteStats()
	n := prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.zygotes, prometheus.GaugeValue, float64(st.Zygotes))
	ch <- prometheus.MustNewConstMetric(c.runs, n, float64(st.Runs), "forked")
	ch <- prometheus.MustNewConstMetric(c.runs, n, float64(st.Fallbacks), "fallback")
	ch <- prometheus.MustNewConstMetric(c.runs, n, float64(st.Ineligible), "ineligible")
	ch <- prometheus.MustNewConstMetric(c.starts, n, float64(st.Starts))
	ch <- prometheus.MustNewConstMetric(c.startErrors, n, float64(st.StartErrors))
}

// PoolSpec is what a warm pool keeps parked jails for: the spec of a
// request with no limits, env or args of its own under one profile.
type PoolSpec struct {
	Language jail.Language
	Profile  string
	Spec     jail.Spec
}

// PoolSpecs maps every profile of the current policy whose rootfs is
// present onto a pool template. They are built by the same validateRun
// and jobSpec as requests, so a request under a profile with its default
// limits lands on its profile's pool key.
func (s *Server) PoolSpecs() []PoolSpec {
	ap := s.pol.Load()
	cfg := s.config()
	var out []PoolSpec
	for _, name := range ap.p.ProfileNames() {
		prof := ap.p.Profiles[name]
		img, ok := ap.images[name]
		if !ok {
			continue
		}
		j, err := validateRun(&api.RunRequest{Language: string(prof.Language), Code: "pass"}, cfg, prof)
		if err != nil {
			s.log.Warn("no warm pool for profile", "profile", name, "err", err)
			continue
		}
		spec, err := jobSpec(j, img, prof)
		if err != nil {
			s.log.Warn("no warm pool for profile", "profile", name, "err", err)
			continue
		}
		spec.Files = nil
		out = append(out, PoolSpec{Language: prof.Language, Profile: name, Spec: spec})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Profile < out[b].Profile })
	return out
}

func poolInfo(st jail.PoolStats) *api.PoolInfo {
	pi := &api.PoolInfo{Parked: st.Parked, MemoryBytes: st.MemoryBytes, BudgetBytes: st.BudgetBytes,
		Hits: st.Hits, Misses: st.Misses, Ineligible: st.Ineligible, Refills: st.Refills,
		RefillErrors: st.RefillErrors, Keys: []api.PoolKeyInfo{}}
	for _, k := range st.Keys {
		pi.Keys = append(pi.Keys, api.PoolKeyInfo{Language: string(k.Language), Rootfs: k.Rootfs, Profiles: k.Profiles,
			Parked: k.Parked, Target: k.Target, Hits: k.Hits, Misses: k.Misses,
			RefillLastMS: k.RefillLastMS, RefillMeanMS: k.RefillMeanMS, JailBytes: k.JailBytesMean})
	}
	return pi
}

// poolCollector exports the warm pool's counters on /metrics, read from
// Stats at scrape time so they can never drift from /v1/info.
type poolCollector struct {
	pool                                   poolStatser
	parked, memory, budget                 *prometheus.Desc
	runs, refills, refillErrors            *prometheus.Desc
	keyParked, keyTarget, keyRefillSeconds *prometheus.Desc
}

// keyLabels label the per-key series; profile is the key's profiles,
// comma-separated (one profile's specs map onto exactly one key).
var keyLabels = []string{"language", "rootfs", "profile"}

func newPoolCollector(p poolStatser) *poolCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("jaild_pool_"+name, help, labels, nil)
	}
	return &poolCollector{pool: p,
		parked:           d("parked_jails", "Jails built ahead and parked now, all keys."),
		memory:           d("memory_bytes", "cgroup memory charged to parked jails now."),
		budget:           d("memory_budget_bytes", "Memory parked jails may use together."),
		runs:             d("runs_total", "Runs by how the pool served them: hit (a parked jail), miss (none parked for its key), ineligible (no key matches its spec).", "result"),
		refills:          d("refills_total", "Parked jails built."),
		refillErrors:     d("refill_errors_total", "Parked jails that failed to build."),
		keyParked:        d("key_parked_jails", "Parked jails per pool key.", keyLabels...),
		keyTarget:        d("key_target_jails", "Parked jails wanted per pool key (adapts to demand).", keyLabels...),
		keyRefillSeconds: d("key_refill_seconds", "Build time of the latest parked jail per pool key.", keyLabels...),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.parked, c.memory, c.budget, c.runs, c.refills, c.refillErrors,
		c.keyParked, c.keyTarget, c.keyRefillSeconds} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stats()
	g, n := prometheus.GaugeValue, prometheus.CounterValue
	ch <- prometheus.MustNewConstMetric(c.parked, g, float64(st.Parked))
	ch <- prometheus.MustNewConstMetric(c.memory, g, float64(st.MemoryBytes))
	ch <- prometheus.MustNewConstMetric(c.budget, g, float64(st.BudgetBytes))
	ch <- prometheus.MustNewConstMetric(c.runs, n, float64(st.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(c.runs, n, float64(st.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(c.runs, n, float64(st.Ineligible), "ineligible")
	ch <- prometheus.MustNewConstMetric(c.refills, n, float64(st.Refills))
	ch <- prometheus.MustNewConstMetric(c.refillErrors, n, float64(st.RefillErrors))
	for _, k := range st.Keys {
		// Profiles tell keys of one language and rootfs apart (python and
		// python-strict differ in their pids limit): without them the
		// series collide and the registry fails the whole scrape.
		l := []string{string(k.Language), k.Rootfs, strings.Join(k.Profiles, ",")}
		ch <- prometheus.MustNewConstMetric(c.keyParked, g, float64(k.Parked), l...)
		ch <- prometheus.MustNewConstMetric(c.keyTarget, g, float64(k.Target), l...)
		ch <- prometheus.MustNewConstMetric(c.keyRefillSeconds, g, k.RefillLastMS/1000, l...)
	}
}
