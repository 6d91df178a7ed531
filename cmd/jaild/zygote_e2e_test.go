package main

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// TestE2EZygote: with --zygote, python runs are forked by the zygote and
// node runs served by the pool, which parks no python jail; /v1/info says
// so. A SIGKILL of the daemon while a zygote's child runs leaves its
// cgroup and marker, which the next daemon reaps before serving; SIGTERM
// leaves nothing.
func TestE2EZygote(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--zygote", "--pool-size", "1")
	waitPool(t, d, 1)
	for _, req := range []api.RunRequest{
		{Language: "python", Code: "import os; print(os.environ['X'], os.getpid())", Env: map[string]string{"X": "py"}},
		{Language: "node", Code: "console.log(process.env.X)", Env: map[string]string{"X": "js"}},
	} {
		r := d.run(t, req)
		want := map[string]string{"python": "py 1\n", "node": "js\n"}[req.Language]
		if r.Status != api.StatusOK || r.Stdout != want {
			t.Errorf("%s: status %s stdout %q stderr %q, want %q", req.Language, r.Status, r.Stdout, r.Stderr, want)
		}
	}
	var info api.Info
	d.get(t, api.PathInfo, &info)
	if info.Zygote == nil || info.Zygote.Zygotes != 1 || info.Zygote.Runs < 1 || info.Zygote.Fallbacks != 0 {
		t.Errorf("zygote info %+v, want one zygote (python and python-strict share it) and a run", info.Zygote)
	}
	if info.Pool == nil || info.Pool.Hits < 1 {
		t.Errorf("pool info %+v, want the node run served warm", info.Pool)
	}
	for _, k := range info.Pool.Keys {
		if k.Language == "python" {
			t.Errorf("pool key %+v: python runs go to the zygote, nothing should be parked for them", k)
		}
	}
	// A run in flight when the daemon is killed.
	marker := "zygote-e2e-" + time.Now().Format("150405.000000")
	go func() {
		_, _ = d.post(context.Background(), api.PathRuns, api.RunRequest{Language: "python",
			// A zygote child's /proc/PID/cmdline is the zygote's: exec puts
			// the marker where markedPIDs looks.
			Code: "import os, sys; os.execv('/usr/bin/python3', ['python3', '-c', 'import time; time.sleep(60)', sys.argv[1]])",
			Args: []string{marker}})
	}()
	for deadline := time.Now().Add(10 * time.Second); len(markedPIDs(marker)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the long run never started")
		}
	}
	d.stop(t, syscall.SIGKILL)
	if n := entries(filepath.Join(state, "work")); n < 2 {
		t.Fatalf("%d entries in the work dir after SIGKILL, want the zygote's and its child's", n)
	}
	d2 := startDaemon(t, state, "--pool-size", "0")
	d2.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)

	d3 := startDaemon(t, state, "--zygote")
	if r := d3.run(t, api.RunRequest{Language: "python", Code: "print(1)"}); r.Status != api.StatusOK {
		t.Errorf("python after restart: %s %q", r.Status, r.Stderr)
	}
	d3.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)
}
