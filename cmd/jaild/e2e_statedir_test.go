package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// TestE2ESecondDaemonOnAStateDirRefused: a second daemon started on a
// state dir a live daemon serves (even on another socket) must refuse to
// start before it reaps that daemon's jails or marks its runs aborted.
func TestE2ESecondDaemonOnAStateDirRefused(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--config", writeConfig(t, `shutdown_grace = "1s"`))
	marker := fmt.Sprintf("jaild-e2e-second-%d", os.Getpid())
	go d.post(context.Background(), api.PathRuns, api.RunRequest{Language: "python", Code: "import time; time.sleep(60)",
		Args: []string{marker}, Limits: &api.Limits{WallMS: 60000}})
	for deadline := time.Now().Add(30 * time.Second); len(markedPIDs(marker)) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the first daemon's jail never started")
		}
	}
	var out bytes.Buffer
	cmd := exec.Command(os.Args[0], "serve", "--socket", filepath.Join(t.TempDir(), "other.sock"), "--state-dir", state,
		"--cgroup-parent", cgroupParent(state))
	cmd.Env = append(os.Environ(), "JAILD_E2E_MAIN=1")
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(out.String(), "in use by another jaild") {
			t.Errorf("second daemon: %v\n%s\nwant it refused naming the busy state dir", err, out.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("second daemon on a served state dir did not exit:\n%s", out.String())
	}
	if len(markedPIDs(marker)) == 0 {
		t.Error("the first daemon's jail was killed by the second daemon's start")
	}
	var list api.RunList
	d.get(t, api.PathRuns+"?limit=1", &list)
	if len(list.Runs) != 1 || list.Runs[0].Status != api.StatusRunning {
		t.Errorf("first daemon's run = %+v, want it still running (not aborted)", list.Runs)
	}
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)
}
