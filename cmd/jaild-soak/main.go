package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

type options struct {
	n, clients, window int
	jaild, rootfs      string
	serveFlags         string
	maxGrowth          float64
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 10000, "runs in total")
	flag.IntVar(&o.clients, "clients", 16, "concurrent clients")
	flag.StringVar(&o.jaild, "jaild", "bin/jaild", "jaild binary")
	flag.StringVar(&o.rootfs, "rootfs", "/var/lib/jaild-test/rootfs", "rootfs store to run on (linked, not modified)")
	flag.Float64Var(&o.maxGrowth, "max-rss-growth", 0.10, "allowed daemon RSS growth from the first to the last window")
	flag.StringVar(&o.serveFlags, "serve-flags", "", "more flags for jaild serve, space-separated (e.g. --zygote)")
	flag.Parse()
	o.window = min(1000, max(o.n/4, 1))
	problems, err := soak(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "jaild-soak:", err)
		os.Exit(2)
	}
	if len(problems) > 0 {
		fmt.Printf("FAIL: %d problems\n", len(problems))
		for _, p := range problems[:min(len(problems), 50)] {
			fmt.Println("  " + p)
		}
		os.Exit(1)
	}
	fmt.Println("PASS")
}

// daemon is the jaild under test.
type daemon struct {
	cmd    *exec.Cmd
	state  string
	socket string
	parent string
	http   *http.Client
	tr     *http.Transport
}

func start(o options) (*daemon, error) {
	state, err := os.MkdirTemp("", "jaild-soak-")
	if err != nil {
		return nil, err
	}
	if err := os.Symlink(o.rootfs, filepath.Join(state, "rootfs")); err != nil {
		return nil, err
	}
	d := &daemon{state: state, socket: filepath.Join(state, "jaild.sock"), parent: fmt.Sprintf("/jaild-soak-%d", os.Getpid())}
	logf, err := os.Create(state + ".log")
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--socket", d.socket, "--state-dir", state, "--cgroup-parent", d.parent,
		"--queue-size", "256", "--log-level", "warn"}, strings.Fields(o.serveFlags)...)
	d.cmd = exec.Command(o.jaild, args...)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	d.tr = &http.Transport{MaxIdleConnsPerHost: o.clients, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}}
	d.http = &http.Client{Transport: d.tr}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := d.http.Get("http://jaild" + api.PathHealth); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d, nil
			}
		}
	}
	return nil, fmt.Errorf("daemon not healthy within 15s; log in %s.log", state)
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) post(ctx context.Context, path string, req api.RunRequest) (*http.Response, error) {
	b, _ := json.Marshal(req)
	r, _ := http.NewRequestWithContext(ctx, "POST", "http://jaild"+path, bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return d.http.Do(r)
}

func (d *daemon) get(path string, v any) error {
	resp, err := d.http.Get("http://jaild" + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// answer is what one request got.
type answer struct {
	seq  int
	kind int
	id   string
	err  error
}

// one sends run seq of kind k and checks its answer.
func (d *daemon) one(seq int, k kind, marker string) answer {
	a := answer{seq: seq}
	req := k.req
	req.Args = []string{marker}
	if !k.disconnect {
		resp, err := d.post(context.Background(), api.PathRuns, req)
		if err != nil {
			a.err = err
			return a
		}
		defer resp.Body.Close()
		var r api.RunResult
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
			a.err = fmt.Errorf("HTTP %d, decode: %v", resp.StatusCode, err)
			return a
		}
		a.id, a.err = r.ID, k.check(r)
		return a
	}
	// Hang up once the jail has printed, then read the verdict from history.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, err := d.post(ctx, api.PathRuns+"?stream=1", req)
	if err != nil {
		a.err = err
		return a
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.StreamEvent
		_ = json.Unmarshal(sc.Bytes(), &ev)
		if ev.ID != "" {
			a.id = ev.ID
		}
		if ev.Stdout != "" || ev.Result != nil {
			break
		}
	}
	cancel()
	resp.Body.Close()
	if a.id == "" {
		a.err = errors.New("stream gave no id")
		return a
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var r api.RunResult
		if err := d.get(api.PathRun+a.id, &r); err != nil {
			a.err = err
			return a
		}
		if r.Status != api.StatusRunning {
			a.err = k.check(r)
			return a
		}
		if time.Now().After(deadline) {
			a.err = errors.New("still running 15s after the client went away")
			return a
		}
	}
}

type sample struct {
	done int
	rss  int64
}

func soak(o options) ([]string, error) {
	d, err := start(o)
	if err != nil {
		return nil, err
	}
	defer removeCgroupParent(d.parent)
	defer os.RemoveAll(d.state)
	defer func() {
		if d.cmd.ProcessState == nil {
			_ = d.cmd.Process.Kill()
			_, _ = d.cmd.Process.Wait()
		}
	}()
	marker := fmt.Sprintf("jaild-soak-marker-%d", os.Getpid())
	ks := kinds()
	// Warm up (history database, pools, runtime) before the fd baseline.
	for i := 0; i < 10; i++ {
		if a := d.one(-1, ks[0], marker); a.err != nil {
			return nil, fmt.Errorf("warm-up run: %v", a.err)
		}
	}
	d.tr.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	fdsBefore := fdCount(d.pid())
	// What stands before the runs (a zygote's jail, with --zygote) may
	// stand until shutdown; the audit after SIGTERM counts everything.
	standing := map[string]bool{}
	for _, l := range leftovers(d.state, d.parent, marker) {
		standing[l] = true
	}

	plan := schedule(ks, o.n)
	every := int64(max(1, min(50, o.window/5)))
	answers := make([]answer, o.n)
	var next, done atomic.Int64
	var mu sync.Mutex
	var samples []sample
	began := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < o.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= o.n {
					return
				}
				a := d.one(i, ks[plan[i]], marker)
				a.kind = plan[i]
				answers[i] = a
				if n := done.Add(1); n%every == 0 || int(n) == o.n {
					mu.Lock()
					samples = append(samples, sample{int(n), rssKiB(d.pid())})
					mu.Unlock()
					if n%1000 == 0 {
						fmt.Printf("%d/%d runs, %.0fs, daemon RSS %d KiB\n", n, o.n, time.Since(began).Seconds(), rssKiB(d.pid()))
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)

	var problems []string
	ids := map[string]int{}
	perKind := map[string]int{}
	for _, a := range answers {
		name := ks[a.kind].name
		perKind[name]++
		if a.err != nil {
			problems = append(problems, fmt.Sprintf("run %d (%s, id %s): %v", a.seq, name, a.id, a.err))
		}
		if prev, dup := ids[a.id]; dup && a.id != "" {
			problems = append(problems, fmt.Sprintf("runs %d and %d got the same id %s", prev, a.seq, a.id))
		}
		ids[a.id] = a.seq
	}
	problems = append(problems, checkHistory(d, ids, o.n+10)...)

	// Idle the daemon, then look for anything left behind.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var info api.Info
		if d.get(api.PathInfo, &info) == nil && info.Running == 0 && info.Queued == 0 {
			break
		}
	}
	d.tr.CloseIdleConnections()
	time.Sleep(300 * time.Millisecond)
	fdsAfter := fdCount(d.pid())
	if fdsAfter != fdsBefore {
		problems = append(problems, fmt.Sprintf("daemon fds %d before, %d after", fdsBefore, fdsAfter))
	}
	for _, l := range leftovers(d.state, d.parent, marker) {
		if !standing[l] {
			problems = append(problems, "leaked: "+l)
		}
	}
	first, last := windowRSS(samples, o.window, o.n)
	growth := float64(last-first) / float64(first)
	if growth > o.maxGrowth {
		problems = append(problems, fmt.Sprintf("daemon RSS grew %.1f%% (%d → %d KiB), allowed %.0f%%", growth*100, first, last, o.maxGrowth*100))
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	if err := d.cmd.Wait(); err != nil {
		problems = append(problems, fmt.Sprintf("daemon exit after SIGTERM: %v", err))
	}
	for _, l := range leftovers(d.state, d.parent, marker) {
		problems = append(problems, "leaked after shutdown: "+l)
	}
	names := make([]string, 0, len(perKind))
	for k := range perKind {
		names = append(names, k)
	}
	sort.Strings(names)
	fmt.Printf("soak: %d runs, %d clients, %.1fs (%.1f runs/s)\n", o.n, o.clients, elapsed.Seconds(), float64(o.n)/elapsed.Seconds())
	for _, k := range names {
		fmt.Printf("  %-13s %d\n", k, perKind[k])
	}
	fmt.Printf("daemon RSS max over the first %d runs %d KiB, over the last %d %d KiB (%+.1f%%); fds %d before, %d after\n",
		o.window, first, o.window, last, growth*100, fdsBefore, fdsAfter)
	return problems, nil
}

// windowRSS is the largest RSS sampled in the first and in the last window.
func windowRSS(ss []sample, window, n int) (first, last int64) {
	for _, s := range ss {
		if s.done <= window {
			first = max(first, s.rss)
		}
		if s.done > n-window {
			last = max(last, s.rss)
		}
	}
	return first, last
}

// checkHistory: the history holds exactly one row per run (plus the warm-up
// runs), and every answered id is among them.
func checkHistory(d *daemon, ids map[string]int, want int) []string {
	seen := map[string]bool{}
	before := ""
	for {
		var page api.RunList
		if err := d.get(api.PathRuns+"?limit=1000"+before, &page); err != nil {
			return []string{"read history: " + err.Error()}
		}
		for _, r := range page.Runs {
			if seen[r.ID] {
				return []string{"history lists " + r.ID + " twice"}
			}
			seen[r.ID] = true
		}
		if page.Next == "" || len(page.Runs) == 0 {
			break
		}
		before = "&before=" + page.Next
	}
	var out []string
	if len(seen) != want {
		out = append(out, fmt.Sprintf("history holds %d runs, want %d", len(seen), want))
	}
	for id, seq := range ids {
		if id != "" && !seen[id] {
			out = append(out, fmt.Sprintf("run %d's id %s is not in the history", seq, id))
		}
	}
	return out
}
