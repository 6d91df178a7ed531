package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// TestE2EWarmPool: runs are served by parked jails and /v1/info says so;
// parked jails survive a SIGKILL of the daemon like any jail, the next
// daemon reaps them before serving, and SIGTERM destroys its own.
func TestE2EWarmPool(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--pool-size", "1")
	waitPool(t, d, 1)
	for _, req := range []api.RunRequest{
		{Language: "python", Code: "import os; print(os.environ['X'])", Env: map[string]string{"X": "py"}},
		{Language: "node", Code: "console.log(process.env.X)", Env: map[string]string{"X": "js"}},
	} {
		r := d.run(t, req)
		if r.Status != api.StatusOK || r.Stdout != req.Env["X"]+"\n" {
			t.Errorf("%s: status %s stdout %q stderr %q", req.Language, r.Status, r.Stdout, r.Stderr)
		}
	}
	var info api.Info
	d.get(t, api.PathInfo, &info)
	// One key per policy profile. A profile with static checks runs its
	// analyzer in a jail of the same key first, so a run may also miss.
	if info.Pool == nil || info.Pool.Hits < 2 || len(info.Pool.Keys) < 2 {
		t.Fatalf("pool info %+v, want ≥ 2 hits", info.Pool)
	}
	waitPool(t, d, 1)
	d.stop(t, syscall.SIGKILL)
	if n := entries(filepath.Join(state, "jails")); n < 2 {
		t.Fatalf("%d jails in the state dir after SIGKILL, want the 2 parked ones", n)
	}
	d2 := startDaemon(t, state, "--pool-size", "0")
	if n := entries(filepath.Join(state, "jails")); n != 0 {
		t.Errorf("%d jails left after the restart's reaper, want 0", n)
	}
	d2.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)

	d3 := startDaemon(t, state, "--pool-size", "2")
	waitPool(t, d3, 2)
	d3.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)
}

// waitPool waits until every key of the pool has n jails parked.
func waitPool(t *testing.T, d *daemonProc, n int) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var info api.Info
		d.get(t, api.PathInfo, &info)
		full := info.Pool != nil && len(info.Pool.Keys) > 0
		for _, k := range info.Pool.Keys {
			full = full && k.Parked >= n
		}
		if full {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool %+v not at %d parked per key after 60 s", info.Pool, n)
		}
	}
}

func entries(dir string) int {
	e, _ := os.ReadDir(dir)
	return len(e)
}

// TestE2EWarmPoolReload: with the pool on under the default policy,
// /metrics has one series per key, told apart by profile (python and
// python-strict share a language and rootfs); after a SIGHUP that changes
// the default limits the pool keeps jails for the new specs, so runs are
// still served warm, and the old keys' jails are destroyed; a reload that
// changes [pool] is refused.
func TestE2EWarmPoolReload(t *testing.T) {
	requireJails(t)
	state := newState(t)
	conf, write := stateFile(t, state, "jaild.toml")
	write("[default_limits]\nmemory_bytes = 134217728\n")
	d := startDaemon(t, state, "--config", conf, "--pool-size", "1")
	waitPool(t, d, 1)

	resp, err := d.http.Get("http://jaild" + api.PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics with the pool on = %d: %s", resp.StatusCode, body)
	}
	series := map[string]bool{}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "jaild_pool_key_parked_jails{"); ok {
			if _, prof, ok := strings.Cut(rest, `profile="`); ok {
				series[prof[:strings.IndexByte(prof, '"')]] = true
			}
		}
	}
	for _, p := range []string{"python", "python-strict", "node", "node-strict"} {
		if !series[p] {
			t.Errorf("/metrics has no jaild_pool_key_parked_jails series for profile %s: %v", p, series)
		}
	}

	info := func() *api.PoolInfo {
		var i api.Info
		d.get(t, api.PathInfo, &i)
		return i.Pool
	}
	logged := func(s string) func() bool { return func() bool { return strings.Contains(d.log.String(), s) } }
	write("[default_limits]\nmemory_bytes = 100000000\n")
	hupUntil(t, d, "the reload logged", logged("configuration reloaded"))
	waitPool(t, d, 1)
	before := info()
	if len(before.Keys) != 4 {
		t.Errorf("%d pool keys after the reload, want 4 (one per profile): %+v", len(before.Keys), before.Keys)
	}
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(1)"}); r.Status != api.StatusOK {
		t.Fatalf("run after reload: %s %q", r.Status, r.Stderr)
	}
	if after := info(); after.Hits != before.Hits+1 || after.Ineligible != before.Ineligible {
		t.Errorf("a python run after the reload: hits %d → %d, ineligible %d → %d; want one more hit",
			before.Hits, after.Hits, before.Ineligible, after.Ineligible)
	}

	write("[default_limits]\nmemory_bytes = 100000000\n[pool]\nmax_size = 9\n")
	hupUntil(t, d, "a [pool] change refused", logged("reload refused"))
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)
}
