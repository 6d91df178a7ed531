// Command jaild-bench measures jaild against the bare interpreter in one
// process run: it starts three daemons of its own (cold: no pool; warm: a
// pool of -pool-size, 2 by default, per pool key, one key per policy
// profile; zygote: python runs in children of a zygote, no pool) on
// temporary sockets and state dirs, then interleaves bare python3/node
// starts, cold, warm and zygote jailed runs end-to-end through the Unix
// socket, so that machine noise hits every mode alike.
//
//	sudo bin/jaild-bench [-n 200] [-json] [-jaild bin/jaild] [-rootfs DIR]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

type options struct {
	n, tputRuns, mixedRuns int
	jaild, rootfs          string
	json                   bool
	poolSize               int
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 150, "latency samples per mode (one client, interleaved)")
	flag.IntVar(&o.tputRuns, "tput-runs", 120, "runs per mode and concurrency in the throughput phase")
	flag.IntVar(&o.mixedRuns, "mixed-runs", 200, "runs in each mixed-workload phase")
	flag.StringVar(&o.jaild, "jaild", "bin/jaild", "jaild binary")
	flag.StringVar(&o.rootfs, "rootfs", defaultRootfs(), "rootfs store the daemons use (read only)")
	flag.BoolVar(&o.json, "json", false, "print JSON instead of tables")
	flag.IntVar(&o.poolSize, "pool-size", 2, "warm daemon's pool size per pool key (one key per policy profile)")
	flag.Parse()
	rep, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jaild-bench:", err)
		os.Exit(1)
	}
	if o.json {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
		return
	}
	rep.print(os.Stdout)
}

func defaultRootfs() string {
	for _, env := range []string{"STATE_DIR", "JAILD_TEST_STATE_DIR"} {
		if v := os.Getenv(env); v != "" {
			return filepath.Join(v, "rootfs")
		}
	}
	return "/var/lib/jaild-test/rootfs"
}

// report is everything measured; JSON field names are stable.
type report struct {
	Started    time.Time          `json:"started"`
	Load       [2]string          `json:"load_avg_before_after"`
	CPUs       int                `json:"cpus"`
	Modes      []*modeStats       `json:"modes"`
	Daemons    []daemonStats      `json:"daemons"`
	ParkedRSS  map[string]int64   `json:"parked_jail_rss_bytes"`     // language → mean RSS of one parked jail
	ParkedPriv map[string]int64   `json:"parked_jail_private_bytes"` // … of which not shared
	Mixed      []mixedStats       `json:"mixed"`
	PoolInfo   *api.PoolInfo      `json:"pool_after"`
	Ratios     map[string]float64 `json:"ratios"`
	WarmHitPct float64            `json:"warm_hit_pct_latency_phase"`
}

type modeStats struct {
	Name string  `json:"name"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Mean float64 `json:"mean_ms"`
	RPS1 float64 `json:"runs_per_s_1"`
	RPS8 float64 `json:"runs_per_s_8"`
	// CPU8 is the whole machine's busy CPU time per run while 8 clients
	// ran this mode alone (/proc/stat): client, daemon, jails, kernel.
	CPU8    float64   `json:"cpu_ms_per_run_8"`
	Errors  int       `json:"errors"`
	Error   string    `json:"first_error,omitempty"`
	samples []float64 // ms
	run     func(ctx context.Context) error
}

type daemonStats struct {
	Name       string `json:"name"`
	IdleRSS    int64  `json:"idle_rss_bytes"`
	LoadRSSMax int64  `json:"load_rss_max_bytes"`
}

type mixedStats struct {
	Name        string         `json:"name"`
	GoodRuns    int            `json:"good_runs"`
	GoodP50     float64        `json:"good_p50_ms"`
	GoodP99     float64        `json:"good_p99_ms"`
	BadStatuses map[string]int `json:"bad_statuses,omitempty"`
	GoodErrors  int            `json:"good_errors"`
}

// importsScript is a script of the kind jaild serves (an eval function,
// a student's solution): it imports a few standard modules before doing
// anything, so it measures module loading as well as interpreter start.
const importsScript = "import json, re, collections, typing, dataclasses\nprint(1)"

func run(o options) (*report, error) {
	rep := &report{Started: time.Now().UTC(), CPUs: runtime.NumCPU(), Ratios: map[string]float64{},
		ParkedRSS: map[string]int64{}}
	rep.Load[0] = loadAvg()
	cold, err := startDaemon(o, "cold", 0)
	if err != nil {
		return nil, err
	}
	defer cold.stop()
	warm, err := startDaemon(o, "warm", o.poolSize)
	if err != nil {
		return nil, err
	}
	defer warm.stop()
	if err := warm.waitParked(60*time.Second, 50*time.Millisecond); err != nil {
		return nil, err
	}
	zyg, err := startDaemon(o, "zygote", 0, "--zygote")
	if err != nil {
		return nil, err
	}
	defer zyg.stop()
	modes := []*modeStats{
		{Name: "bare python3", run: bare("/usr/bin/python3", "-c", "print(1)")},
		{Name: "bare node", run: bare("/usr/bin/node", "-e", "console.log(1)")},
		// The jails' own node (Debian's 18, no start-up snapshot) started
		// the same way, chrooted into its rootfs: what a jail adds to it.
		{Name: "bare node (rootfs)", run: bareIn(filepath.Join(o.rootfs, "node"), "/usr/bin/node", "-e", "console.log(1)")},
		{Name: "bare python3 imports", run: bare("/usr/bin/python3", "-c", importsScript)},
		{Name: "jaild cold python", run: cold.runner("python", "print(1)", "1\n")},
		{Name: "jaild warm python", run: warm.runner("python", "print(1)", "1\n")},
		{Name: "jaild zygote python", run: zyg.runner("python", "print(1)", "1\n")},
		{Name: "jaild cold node", run: cold.runner("node", "console.log(1)", "1\n")},
		{Name: "jaild warm node", run: warm.runner("node", "console.log(1)", "1\n")},
		{Name: "jaild cold python imports", run: cold.runner("python", importsScript, "1\n")},
		{Name: "jaild warm python imports", run: warm.runner("python", importsScript, "1\n")},
		{Name: "jaild zygote python imports", run: zyg.runner("python", importsScript, "1\n")},
	}
	rep.Modes = modes
	ctx := context.Background()
	for _, m := range modes { // warm-up: page cache, first connections
		_ = m.run(ctx)
	}
	time.Sleep(500 * time.Millisecond)
	rep.Daemons = []daemonStats{{Name: "cold", IdleRSS: rss(cold.pid())}, {Name: "warm", IdleRSS: rss(warm.pid())},
		{Name: "zygote", IdleRSS: rss(zyg.pid())}}
	rep.ParkedRSS, rep.ParkedPriv = warm.parkedRSS()

	// Latency, one client, interleaved. Every sample starts with the warm
	// pool full, as a user's request finds it after a pause: a refill
	// left running from the previous warm sample would otherwise share
	// the CPUs with the next samples, bare ones included, and skew every
	// mode's latency (the pool defers refills while its own runs are in
	// flight, so without this they land on the samples that follow).
	before, _ := warm.client.Info(ctx)
	for i := 0; i < o.n; i++ {
		for _, m := range modes {
			if err := warm.waitParked(30*time.Second, 5*time.Millisecond); err != nil {
				return nil, err
			}
			t0 := time.Now()
			if err := m.run(ctx); err != nil {
				m.Errors++
				if m.Error == "" {
					m.Error = err.Error()
				}
				continue
			}
			m.samples = append(m.samples, ms(time.Since(t0)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	after, _ := warm.client.Info(ctx)
	if before != nil && after != nil && before.Pool != nil && after.Pool != nil {
		hits := after.Pool.Hits - before.Pool.Hits
		total := hits + after.Pool.Misses - before.Pool.Misses
		if total > 0 {
			rep.WarmHitPct = 100 * float64(hits) / float64(total)
		}
	}
	for _, m := range modes {
		m.P50, m.P90, m.P99, m.Mean = pct(m.samples, 50), pct(m.samples, 90), pct(m.samples, 99), mean(m.samples)
	}

	// Throughput with 1 and 8 clients, modes interleaved in rounds. As
	// for latency, every burst starts with the warm pool full: the
	// refills of a warm burst's jails (a cold build each) would otherwise
	// run during the next mode's burst, and be counted in its CPU.
	sampler := newRSSSampler(map[string]int{"cold": cold.pid(), "warm": warm.pid(), "zygote": zyg.pid()})
	const rounds = 4
	for _, conc := range []int{1, 8} {
		dur := map[*modeStats]time.Duration{}
		busy := map[*modeStats]time.Duration{}
		for r := 0; r < rounds; r++ {
			for _, m := range modes {
				if err := warm.waitParked(60*time.Second, 5*time.Millisecond); err != nil {
					return nil, err
				}
				b0 := busyCPU()
				d, errs, first := burst(ctx, m.run, o.tputRuns/rounds, conc)
				dur[m] += d
				busy[m] += busyCPU() - b0
				m.Errors += errs
				if m.Error == "" {
					m.Error = first
				}
			}
		}
		for _, m := range modes {
			rps := float64(o.tputRuns/rounds*rounds) / dur[m].Seconds()
			if conc == 1 {
				m.RPS1 = rps
			} else {
				m.RPS8 = rps
				m.CPU8 = ms(busy[m]) / float64(o.tputRuns/rounds*rounds)
			}
		}
	}
	maxRSS := sampler.stop()
	for i := range rep.Daemons {
		rep.Daemons[i].LoadRSSMax = maxRSS[rep.Daemons[i].Name]
	}

	rep.Mixed = mixed(ctx, warm, o.mixedRuns)
	if info, err := warm.client.Info(ctx); err == nil {
		rep.PoolInfo = info.Pool
	}
	byName := map[string]*modeStats{}
	for _, m := range modes {
		byName[m.Name] = m
	}
	ratio := func(a, b string, f func(*modeStats) float64) float64 {
		if f(byName[b]) == 0 {
			return 0
		}
		return f(byName[a]) / f(byName[b])
	}
	p50 := func(m *modeStats) float64 { return m.P50 }
	rps8 := func(m *modeStats) float64 { return m.RPS8 }
	for _, lang := range []struct{ jail, bare, key string }{
		{"python", "python3", "python"}, {"node", "node", "node"},
		{"python imports", "python3 imports", "python_imports"},
	} {
		for _, kind := range []string{"cold", "warm", "zygote"} {
			a, b := "jaild "+kind+" "+lang.jail, "bare "+lang.bare
			if byName[a] == nil {
				continue // no node zygote
			}
			rep.Ratios[kind+"_"+lang.key+"_p50_to_bare"] = ratio(a, b, p50)
			rep.Ratios[kind+"_"+lang.key+"_rps8_to_bare"] = ratio(a, b, rps8)
			rep.Ratios[kind+"_"+lang.key+"_p50_minus_bare_ms"] = byName[a].P50 - byName[b].P50
		}
	}
	// Like for like: the rootfs's node outside a jail.
	for _, kind := range []string{"cold", "warm"} {
		a, b := "jaild "+kind+" node", "bare node (rootfs)"
		rep.Ratios[kind+"_node_p50_to_rootfs_node"] = ratio(a, b, p50)
		rep.Ratios[kind+"_node_p50_minus_rootfs_node_ms"] = byName[a].P50 - byName[b].P50
	}
	rep.Load[1] = loadAvg()
	return rep, nil
}

// burst runs n runs with conc clients and returns the elapsed time.
func burst(ctx context.Context, f func(context.Context) error, n, conc int) (time.Duration, int, string) {
	var mu sync.Mutex
	next, errs, first := 0, 0, ""
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := 0; c < conc; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= n {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				if err := f(ctx); err != nil {
					mu.Lock()
					errs++
					if first == "" {
						first = err.Error()
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0), errs, first
}

func bare(argv ...string) func(context.Context) error { return bareIn("", argv...) }

// bareIn starts argv chrooted into root ("": not chrooted), with nothing
// else of a jail.
func bareIn(root string, argv ...string) func(context.Context) error {
	return func(ctx context.Context) error {
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
		if root != "" {
			cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
			cmd.Dir = "/"
		}
		out, err := cmd.Output()
		if err == nil && string(out) != "1\n" {
			err = fmt.Errorf("%s printed %q", argv[0], out)
		}
		return err
	}
}

func pct(s []float64, p float64) float64 {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	i := int(float64(len(c)-1) * p / 100)
	return c[i]
}

func mean(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	var t float64
	for _, v := range s {
		t += v
	}
	return t / float64(len(s))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// busyCPU is the machine's non-idle CPU time so far (/proc/stat: every
// field of the cpu line but idle and iowait), in USER_HZ ticks of 10 ms.
func busyCPU() time.Duration {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	var ticks int64
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		if i != 3 && i != 4 { // idle, iowait
			ticks += v
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond
}

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "jaild-bench %s, %d CPUs, load %s → %s\n\n", r.Started.Format(time.RFC3339), r.CPUs, r.Load[0], r.Load[1])
	fmt.Fprintf(w, "%-28s %8s %8s %8s %10s %10s %12s %6s\n", "mode", "p50 ms", "p90 ms", "p99 ms", "runs/s ×1", "runs/s ×8", "CPU ms/run×8", "errors")
	for _, m := range r.Modes {
		fmt.Fprintf(w, "%-28s %8.2f %8.2f %8.2f %10.1f %10.1f %12.1f %6d\n", m.Name, m.P50, m.P90, m.P99, m.RPS1, m.RPS8, m.CPU8, m.Errors)
	}
	for _, m := range r.Modes {
		if m.Error != "" {
			fmt.Fprintf(w, "first error of %s: %s\n", m.Name, m.Error)
		}
	}
	fmt.Fprintf(w, "\nwarm pool hit rate in the latency phase: %.0f%%\n\nratios to the bare interpreter:\n", r.WarmHitPct)
	keys := make([]string, 0, len(r.Ratios))
	for k := range r.Ratios {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "  %-36s %7.2f\n", k, r.Ratios[k])
	}
	fmt.Fprintln(w, "\ndaemon RSS:")
	for _, d := range r.Daemons {
		fmt.Fprintf(w, "  %-5s idle %6.1f MiB   under load (max) %6.1f MiB\n", d.Name, mib(d.IdleRSS), mib(d.LoadRSSMax))
	}
	fmt.Fprintln(w, "parked jail RSS (all processes of one jail):")
	for l, v := range r.ParkedRSS {
		fmt.Fprintf(w, "  %-6s RSS %6.1f MiB, private %6.1f MiB\n", l, mib(v), mib(r.ParkedPriv[l]))
	}
	fmt.Fprintln(w, "\nmixed workload (8 clients, warm daemon; good = python print(1)):")
	for _, m := range r.Mixed {
		fmt.Fprintf(w, "  %-34s good p50 %7.2f ms  p99 %8.2f ms  (%d good runs, %d errors) %v\n",
			m.Name, m.GoodP50, m.GoodP99, m.GoodRuns, m.GoodErrors, m.BadStatuses)
	}
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
