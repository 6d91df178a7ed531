package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

// TestReloadAllRetries: a reloader refused only because a later one had
// not applied yet (a config that fits only the new policy) succeeds on the
// second try; one that is simply broken is refused once, logged at error.
func TestReloadAllRetries(t *testing.T) {
	for _, c := range []struct {
		name       string
		policyOK   bool
		wantFailed int
		wantCalls  int // of the config reloader
	}{
		{"config needs the new policy", true, 0, 2},
		{"policy broken too", false, 2, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			var log bytes.Buffer
			newPolicy, calls := false, 0
			rs := []reloader{
				{name: "config", reload: func() error {
					calls++
					if !newPolicy {
						return errors.New("policy in force does not fit the new config")
					}
					return nil
				}},
				{name: "policy", reload: func() error {
					if !c.policyOK {
						return errors.New("invalid policy")
					}
					newPolicy = true
					return nil
				}},
			}
			failed := reloadAll(slog.New(slog.NewTextHandler(&log, nil)), rs)
			if failed != c.wantFailed || calls != c.wantCalls {
				t.Errorf("failed %d, config tried %d times; want %d, %d", failed, calls, c.wantFailed, c.wantCalls)
			}
			if got := strings.Count(log.String(), "level=ERROR"); got != c.wantFailed {
				t.Errorf("%d error lines, want one per refused part (%d):\n%s", got, c.wantFailed, log.String())
			}
		})
	}
}
