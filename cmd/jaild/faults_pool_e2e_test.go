package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// cgroupPIDs lists the processes in the cgroups under a daemon's parent,
// in any hierarchy: a parked pool jail's processes carry no marker.
func cgroupPIDs(state string) []int {
	parent := cgroupParent(state)
	files, _ := filepath.Glob("/sys/fs/cgroup/*" + parent + "/*/cgroup.procs")
	v2, _ := filepath.Glob("/sys/fs/cgroup" + parent + "/*/cgroup.procs")
	seen := map[int]bool{}
	var pids []int
	for _, f := range append(files, v2...) {
		b, _ := os.ReadFile(f)
		for _, l := range strings.Fields(string(b)) {
			if p, err := strconv.Atoi(l); err == nil && !seen[p] {
				seen[p] = true
				pids = append(pids, p)
			}
		}
	}
	return pids
}

// alive keeps the pids that still exist and are not zombies.
func alive(pids []int) []int {
	var out []int
	for _, p := range pids {
		if !exited(p) {
			out = append(out, p)
		}
	}
	return out
}

// TestE2EFaultSIGKILLFullPool: SIGKILL with runs in flight and the warm
// pool full (every key at its target of parked jails); the next daemon
// reaps the parked jails (processes, cgroups, libcontainer state, work
// dirs and mounts) with the runs' jails before it serves, and marks the
// runs aborted. The time from the restart until nothing is left is logged
// (the issue asks ≤ 1 s); it is not asserted.
func TestE2EFaultSIGKILLFullPool(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--max-concurrent", "2", "--pool-size", "2")
	waitPool(t, d, 2)
	marker := fmt.Sprintf("jaild-fault-pool-%d", os.Getpid())
	for _, req := range []api.RunRequest{
		{Language: "python", Code: "import time; time.sleep(60)"},
		{Language: "node", Code: "setInterval(() => {}, 1000)"},
	} {
		// Limits above the pooled profiles' defaults: cold jails, so the
		// pool stays full while they run.
		req.Args, req.Limits = []string{marker}, &api.Limits{WallMS: 60000, CPUMS: 60000}
		go d.post(context.Background(), api.PathRuns, req)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var info api.Info
		d.get(t, api.PathInfo, &info)
		if info.Running == 2 && len(markedPIDs(marker)) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs did not both start: %+v, %d processes", info, len(markedPIDs(marker)))
		}
	}
	waitPool(t, d, 2)
	var info api.Info
	d.get(t, api.PathInfo, &info)
	d.stop(t, syscall.SIGKILL)

	before := leftoversOf(state, marker)
	pids := alive(cgroupPIDs(state))
	jails := entries(filepath.Join(state, "jails"))
	// A parked jail's init may exit by itself when the daemon's end of its
	// pipe closes; its state, cgroups and mounts stay for the reaper.
	if jails < info.Pool.Parked+2 || len(pids) < 2 {
		t.Fatalf("after SIGKILL: %d jails in the state dir, %d processes in its cgroups; want at least the %d parked and 2 running",
			jails, len(pids), info.Pool.Parked)
	}

	start := time.Now()
	gone := make(chan time.Duration, 1)
	go func() {
		for time.Since(start) < 20*time.Second {
			if len(leftoversOf(state, marker)) == 0 && len(alive(pids)) == 0 {
				gone <- time.Since(start)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		gone <- -1
	}()
	// The restart has the pool off, so whatever is under its parent is a leftover.
	d2 := startDaemon(t, state, "--max-concurrent", "2", "--pool-size", "0")
	healthy := time.Since(start)
	if left := leftoversOf(state, marker); len(left) > 0 {
		t.Errorf("left after the restart: %v", left)
	}
	if left := alive(pids); len(left) > 0 {
		t.Errorf("processes of the killed daemon's jails still alive after the restart: %v", left)
	}
	t.Logf("SIGKILL with %d parked jails and 2 runs in flight (%d jails, %d processes, %d leftovers): all gone %v after restart, healthy after %v",
		info.Pool.Parked, jails, len(pids), len(before), <-gone, healthy)
	var list api.RunList
	d2.get(t, api.PathRuns+"?status=aborted", &list)
	if len(list.Runs) != 2 {
		t.Errorf("aborted runs = %d, want the 2 in flight at SIGKILL", len(list.Runs))
	}
	d2.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)
}
