package daemon

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/jail"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name    string
		stdout  string
		status  jail.Status
		seccomp bool
		want    string // "" for ready, else a substring of the error
	}{
		{"jails print", "jaild-ready\n", jail.StatusOK, true, ""},
		{"wrong output", "nope\n", jail.StatusOK, true, "status ok"},
		{"jail fails", "", jail.StatusInternalError, true, "internal_error"},
		{"no seccomp", "jaild-ready\n", jail.StatusOK, false, "seccomp"},
	} {
		t.Run(c.name, func(t *testing.T) {
			runner := &fakeRunner{run: func(_ context.Context, spec jail.Spec) (jail.Result, error) {
				return jail.Result{Status: c.status, Stdout: []byte(c.stdout)}, nil
			}}
			ts := startServer(t, runner, nil)
			ts.srv.host.Seccomp = c.seccomp
			err := ts.srv.Check(context.Background())
			switch {
			case c.want == "" && err != nil:
				t.Errorf("Check = %v, want ready", err)
			case c.want != "" && (!errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), c.want)):
				t.Errorf("Check = %v, want ErrNotReady mentioning %q", err, c.want)
			}
			if c.want == "" && runner.count() != len(jail.Languages) {
				t.Errorf("%d smoke jails, want one per language (%d)", runner.count(), len(jail.Languages))
			}
		})
	}
}

// With a warm pool the smoke jails go to Options.CheckRunner (the cold
// runner), not through the pool, whose counters and targets are callers'.
func TestCheckRunner(t *testing.T) {
	ready := func(context.Context, jail.Spec) (jail.Result, error) {
		return jail.Result{Status: jail.StatusOK, Stdout: []byte("jaild-ready\n")}, nil
	}
	main, check := &fakeRunner{run: ready}, &fakeRunner{run: ready}
	cfg := Default()
	cfg.StateDir = t.TempDir()
	cfg.Socket = filepath.Join(cfg.StateDir, "jaild.sock")
	srv, err := New(Options{Config: cfg, Runner: main, CheckRunner: check, Images: testImages,
		Host: HostInfo{CgroupVersion: "v1", Seccomp: true}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := srv.Check(context.Background()); err != nil {
		t.Fatalf("Check = %v, want ready", err)
	}
	if check.count() != len(jail.Languages) || main.count() != 0 {
		t.Errorf("smoke jails: %d on CheckRunner, %d on Runner; want %d and 0", check.count(), main.count(), len(jail.Languages))
	}
}
