package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/policy"
)

// TestE2ESIGHUPReload: a daemon started with --config re-reads it on
// SIGHUP: a changed limit shows in /v1/info, a broken file is refused with
// the reason logged and the old settings kept, and flags still override
// the file.
func TestE2ESIGHUPReload(t *testing.T) {
	requireJails(t)
	state := newState(t)
	conf, write := stateFile(t, state, "jaild.toml")
	write("max_concurrent = 3\nqueue_size = 5\n")
	d := startDaemon(t, state, "--config", conf, "--queue-size", "7")
	info := func() api.Info {
		var i api.Info
		d.get(t, api.PathInfo, &i)
		return i
	}
	if i := info(); i.MaxConcurrent != 3 || i.QueueSize != 7 {
		t.Fatalf("at start: max_concurrent %d queue_size %d, want 3 (file) and 7 (flag)", i.MaxConcurrent, i.QueueSize)
	}
	// 12000: the default policy's strict profiles cap wall at 10000, and a
	// config below a profile's maximum is refused.
	write("max_concurrent = 5\nqueue_size = 1\n[max_limits]\nwall_ms = 12000\n")
	hupUntil(t, d, "max_concurrent 5", func() bool { return info().MaxConcurrent == 5 })
	if i := info(); i.QueueSize != 7 || i.MaxLimits.WallMS != 12000 {
		t.Errorf("after reload: queue_size %d (flag 7 must still win), max wall %d (want 12000)", i.QueueSize, i.MaxLimits.WallMS)
	}
	write("max_concurrent = \"lots\"\n")
	hupUntil(t, d, "the refusal logged", func() bool { return strings.Contains(d.log.String(), "reload refused") })
	if i := info(); i.MaxConcurrent != 5 {
		t.Errorf("a broken config changed max_concurrent to %d, want 5 kept", i.MaxConcurrent)
	}
	var refusal string
	for _, line := range strings.Split(d.log.String(), "\n") {
		if strings.Contains(line, "reload refused") {
			refusal = line
		}
	}
	if !strings.Contains(refusal, "jaild.toml") || !strings.Contains(refusal, "max_concurrent") {
		t.Errorf("refusal %q does not name the file and the bad key", refusal)
	}
	t.Logf("refusal: %s", refusal)
	// The daemon still runs jails with the kept settings.
	if res := d.run(t, api.RunRequest{Language: "python", Code: "print(6*7)"}); res.Status != "ok" || res.Stdout != "42\n" {
		t.Errorf("run after refused reload: %s %q", res.Status, res.Stdout)
	}
	d.stop(t, syscall.SIGTERM)
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
}

// TestE2ESIGHUPPolicyReload: SIGHUP re-reads the policy file too. A new
// profile shows in /v1/info and runs; a broken file, and a file that is
// gone, are refused with the reason logged and the policy in force kept.
func TestE2ESIGHUPPolicyReload(t *testing.T) {
	requireJails(t)
	state := newState(t)
	pfile, write := stateFile(t, state, "policy.toml")
	base := string(policy.DefaultFile())
	write(base)
	d := startDaemon(t, state, "--policy", pfile)
	info := func() api.Info {
		var i api.Info
		d.get(t, api.PathInfo, &i)
		return i
	}
	hasProfile := func(name string) bool {
		for _, p := range info().Profiles {
			if p.Name == name {
				return true
			}
		}
		return false
	}
	refusals := func() []string {
		var out []string
		for _, line := range strings.Split(d.log.String(), "\n") {
			if strings.Contains(line, "reload refused") && strings.Contains(line, "what=policy") {
				out = append(out, line)
			}
		}
		return out
	}
	start := info().PolicyDigest
	if hasProfile("quick") {
		t.Fatal("profile quick granted before it was written")
	}

	write(base + "\n[profile.quick]\nlanguage = \"python\"\n[profile.quick.max_limits]\nwall_ms = 2000\n")
	hupUntil(t, d, "profile quick granted", func() bool { return hasProfile("quick") })
	reloaded := info().PolicyDigest
	if reloaded == start {
		t.Errorf("policy digest %s unchanged by a reload that added a profile", reloaded)
	}
	res := d.run(t, api.RunRequest{Profile: "quick", Code: "print(6*7)"})
	if res.Status != "ok" || res.Stdout != "42\n" || res.Profile != "quick" || res.PolicyDigest != reloaded || res.Limits.WallMS != 2000 {
		t.Errorf("run under the reloaded profile: %s %q profile %q digest %q wall %d", res.Status, res.Stdout,
			res.Profile, res.PolicyDigest, res.Limits.WallMS)
	}

	write(base + "\n[profile.broken]\nlanguage = \"cobol\"\n")
	hupUntil(t, d, "the broken policy refused", func() bool { return len(refusals()) == 1 })
	if r := refusals()[0]; !strings.Contains(r, "level=ERROR") || !strings.Contains(r, "policy.toml") || !strings.Contains(r, "cobol") {
		t.Errorf("refusal %q is not an error naming the file and the bad value", r)
	}
	if got := info().PolicyDigest; got != reloaded || !hasProfile("quick") {
		t.Errorf("a broken policy replaced the one in force: digest %s, want %s", got, reloaded)
	}

	if err := os.Remove(pfile); err != nil {
		t.Fatal(err)
	}
	hupUntil(t, d, "the missing policy refused", func() bool { return len(refusals()) == 2 })
	if r := refusals()[1]; !strings.Contains(r, "is gone") {
		t.Errorf("refusal %q does not say the file is gone", r)
	}
	if got := info().PolicyDigest; got != reloaded {
		t.Errorf("a removed policy file replaced the policy in force: digest %s, want %s kept", got, reloaded)
	}
	d.stop(t, syscall.SIGTERM)
}

// stateFile names a file in state and returns a function that (re)writes
// it.
func stateFile(t *testing.T, state, name string) (string, func(string)) {
	path := filepath.Join(state, name)
	return path, func(s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// hupUntil sends d SIGHUP and waits up to 10 s for cond.
func hupUntil(t *testing.T, d *daemonProc, what string, cond func() bool) {
	t.Helper()
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("after SIGHUP: %s not seen within 10s; log:\n%s", what, d.log.String())
}
