package daemon

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

func TestReload(t *testing.T) {
	release := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		<-release
		return jail.Result{Status: jail.StatusOK}, nil
	}}
	ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1 })
	var releaseAll sync.Once
	unblock := func() { releaseAll.Do(func() { close(release) }) }
	defer unblock()
	cur := *ts.srv.config()

	bad := cur
	bad.Socket = "/elsewhere.sock"
	if err := ts.srv.Reload(bad); !errors.Is(err, ErrNotReloadable) || !strings.Contains(err.Error(), "socket") {
		t.Errorf("reload changing the socket = %v, want ErrNotReloadable naming it", err)
	}
	bad = cur
	bad.DefaultLimits.WallMS = cur.MaxLimits.WallMS + 1
	if err := ts.srv.Reload(bad); err == nil {
		t.Error("invalid config accepted on reload")
	}
	if ts.srv.config().DefaultLimits.WallMS != cur.DefaultLimits.WallMS {
		t.Error("a refused reload changed the config in force")
	}

	// One run holds the only slot, a second waits; raising concurrency
	// starts the second at once.
	first := ts.postAsync(`{"language":"python","code":"x"}`)
	waitFor(t, func() bool { r, _ := ts.srv.adm.counts(); return r == 1 })
	second := ts.postAsync(`{"language":"python","code":"x"}`)
	waitFor(t, func() bool { _, q := ts.srv.adm.counts(); return q == 1 })
	next := cur
	next.MaxConcurrent = 2
	next.MaxLimits.WallMS = 12000 // the default policy's strict profiles cap at 10000
	if err := ts.srv.Reload(next); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { r, q := ts.srv.adm.counts(); return r == 2 && q == 0 })
	// The lowered maximum applies at once: 13000 ms is refused before
	// admission, 11000 ms is admitted (queued behind the two running; posted
	// asynchronously because the fake runner holds both slots).
	if status, body, _ := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"x","limits":{"wall_ms":13000}}`); status != 400 {
		t.Errorf("wall 13000 after lowering the maximum to 12000: %d %s, want 400", status, body)
	}
	third := ts.postAsync(`{"language":"python","code":"x","limits":{"wall_ms":11000}}`)
	waitFor(t, func() bool { _, q := ts.srv.adm.counts(); return q == 1 })
	if got := ts.srv.Status(); got != "2 of 2 jails running, 1 queued, 0 runs served" {
		t.Errorf("Status() = %q, want %q", got, "2 of 2 jails running, 1 queued, 0 runs served")
	}
	unblock()
	for i, c := range []<-chan int{first, second, third} {
		if s := <-c; s != 200 {
			t.Errorf("run %d got %d, want 200", i+1, s)
		}
	}
}

// Shrinking concurrency retires slots as runs finish: with two running and
// the maximum lowered to one, the first release frees nothing for the
// waiter; the second does.
func TestAdmissionShrink(t *testing.T) {
	a := newAdmission(2, 4)
	r1, _ := a.acquire(context.Background())
	r2, _ := a.acquire(context.Background())
	got := make(chan func(), 1)
	go func() {
		rel, err := a.acquire(context.Background())
		if err != nil {
			close(got)
			return
		}
		got <- rel
	}()
	waitFor(t, func() bool { _, q := a.counts(); return q == 1 })
	a.resize(1, 4)
	r1()
	if running, queued := a.counts(); running != 1 || queued != 1 {
		t.Fatalf("after one release at max 1: running %d queued %d, want 1 1", running, queued)
	}
	r2()
	rel, ok := <-got
	if !ok {
		t.Fatal("waiter was refused")
	}
	if running, queued := a.counts(); running != 1 || queued != 0 {
		t.Errorf("after the second release: running %d queued %d, want 1 0", running, queued)
	}
	rel()
	if running, _ := a.counts(); running != 0 {
		t.Errorf("running %d after every release, want 0", running)
	}
}

// The warm pool is handed the templates of the config and policy in force:
// at start, and again after a reload that changes the specs requests get.
// A reload that changes the [pool] section is refused and hands nothing.
func TestReloadUpdatesPool(t *testing.T) {
	var got [][]PoolSpec
	cfg := Default()
	cfg.StateDir = t.TempDir()
	srv, err := New(Options{Config: cfg, Runner: &fakeRunner{}, Images: testImages, Host: HostInfo{Seccomp: true},
		PoolSpecs: func(s []PoolSpec) { got = append(got, s) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("New handed the pool %d template sets, want 1", len(got))
	}
	var names []string
	for _, ps := range got[0] {
		names = append(names, ps.Profile)
	}
	if strings.Join(names, ",") != "node,node-strict,python,python-strict" {
		t.Errorf("templates at start are for %v, want the default policy's four profiles", names)
	}
	wallOf := func(set []PoolSpec, profile string) time.Duration {
		for _, ps := range set {
			if ps.Profile == profile {
				return ps.Spec.Limits.Wall
			}
		}
		t.Fatalf("no template for %s", profile)
		return 0
	}

	bad := *srv.config()
	bad.Pool.Size++
	if err := srv.Reload(bad); !errors.Is(err, ErrNotReloadable) || !strings.Contains(err.Error(), "pool") {
		t.Errorf("reload changing the pool size = %v, want ErrNotReloadable naming pool", err)
	}
	if len(got) != 1 {
		t.Errorf("a refused reload handed the pool new templates")
	}

	next := *srv.config()
	next.DefaultLimits.WallMS = 1234
	if err := srv.Reload(next); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("reload handed the pool %d template sets in all, want 2", len(got))
	}
	if w := wallOf(got[1], "python"); w != 1234*time.Millisecond {
		t.Errorf("python's template after the reload has wall %v, want the new default 1.234s", w)
	}
	if err := srv.ReloadPolicy(srv.Policy()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Errorf("policy reload handed the pool %d template sets in all, want 3", len(got))
	}
}
