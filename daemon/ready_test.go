package daemon

import (
	"context"
	"errors"
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
