package main

import (
	"os"
	"path/filepath"
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
