package main

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

func TestBadUsage(t *testing.T) {
	dir := t.TempDir()
	py := writeFile(t, dir, "x.py", "print(1)\n")
	tests := []struct {
		name string
		args []string
		want string // the sentence on stderr
	}{
		{"no command", nil, "jailctl: no command given"},
		{"unknown command", []string{"frobnicate"}, `jailctl: unknown command "frobnicate": want one of [health history info run show validate]`},
		{"unknown global flag", []string{"--bogus"}, "jailctl: flag provided but not defined: -bogus"},
		{"run without FILE", []string{"run"}, "jailctl run: want FILE, or - to read the code from standard input"},
		{"unknown run flag", []string{"run", "--bogus", py}, "jailctl run: flag provided but not defined: -bogus"},
		{"unknown extension", []string{"run", filepath.Join(dir, "x.rb")}, "cannot tell the language of " + filepath.Join(dir, "x.rb")},
		{"stdin code without -l", []string{"run", "-"}, "cannot tell the language of code on standard input: pass -l python or -l node"},
		{"unknown language", []string{"run", "-l", "ruby", py}, `unknown language "ruby": want python or node`},
		{"--stdin with -", []string{"run", "-l", "python", "--stdin", "-"}, "--stdin cannot be used with -"},
		{"env without =", []string{"run", "--env", "NOEQ", py}, `invalid value "NOEQ" for flag -env: want K=V`},
		{"file without =", []string{"run", "--file", "lib.py", py}, `invalid value "lib.py" for flag -file: want NAME=PATH`},
		{"file shadows the script", []string{"run", "--file", "x.py=" + py, py}, "--file x.py: the name is already taken"},
		{"bad bytes", []string{"run", "--memory", "lots", py}, "want a number of bytes such as 1048576 or 256M"},
		{"negative duration", []string{"run", "--wall", "-1s", py}, "--wall -1s: want a positive duration"},
		{"bad duration", []string{"run", "--cpu", "5", py}, `invalid value "5" for flag -cpu`},
		{"negative pids", []string{"run", "--pids", "-3", py}, "--pids -3: want a positive number"},
		{"show without ID", []string{"show"}, "want a run ID"},
		{"show with two IDs", []string{"show", "a", "b"}, "want one run ID, got 2"},
		{"history with an argument", []string{"history", "extra"}, `unexpected argument "extra": history takes only flags`},
		{"negative limit", []string{"history", "--limit", "-1"}, "--limit -1: want a positive number"},
		{"info with an argument", []string{"info", "x"}, `unexpected argument "x"`},
		{"health with an argument", []string{"health", "x"}, `unexpected argument "x"`},
		{"socket and tcp", []string{"info", "--tcp", "127.0.0.1:7070"}, "give --socket or --tcp, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDaemon{}
			code, stdout, stderr := jailctl(t, d.start(t), "", tt.args...)
			if code != 2 {
				t.Errorf("exit code = %d, want 2", code)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tt.want)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			if n := len(d.requests()); n != 0 {
				t.Errorf("daemon saw %d requests, want none", n)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	tests := []struct {
		args       []string
		wantStdout string // substring
		wantStderr string // substring
	}{
		{[]string{"--help"}, "Commands:", ""},
		{[]string{"-h"}, "Commands:", ""},
		{[]string{"help"}, "Commands:", ""},
		{[]string{"help", "run"}, "Usage: jailctl run [flags] FILE|- [ARGS...]", ""},
		{[]string{"run", "-h"}, "", "-wall limit"},
		{[]string{"show", "--help"}, "", "Usage: jailctl show ID"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
		if code != 0 {
			t.Errorf("%v: exit code = %d, want 0", tt.args, code)
		}
		if !strings.Contains(stdout.String(), tt.wantStdout) || !strings.Contains(stderr.String(), tt.wantStderr) {
			t.Errorf("%v: stdout %q, stderr %q; want %q and %q", tt.args, stdout.String(), stderr.String(), tt.wantStdout, tt.wantStderr)
		}
		if tt.wantStdout != "" && stderr.Len() > 0 {
			t.Errorf("%v: stderr = %q, want nothing", tt.args, stderr.String())
		}
	}
	var stdout bytes.Buffer
	run(t.Context(), []string{"help"}, strings.NewReader(""), &stdout, &stdout)
	for name := range commands {
		if !strings.Contains(stdout.String(), "\n  "+name+" ") {
			t.Errorf("help does not list %q", name)
		}
	}
}

func TestAPIErrors(t *testing.T) {
	py := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	tests := []struct {
		name     string
		args     []string
		status   int
		body     string
		wantCode int
		want     string
	}{
		{"run, queue full", []string{"run", py}, 429, `{"error":"too many runs waiting","code":"queue_full"}`,
			125, "jailctl run: queue_full: too many runs waiting (retry after 1s)\n"},
		{"run --json, invalid", []string{"run", "--json", py}, 400, `{"error":"limits.wall_ms = 9 exceeds the maximum 5","code":"limit_out_of_range"}`,
			125, "jailctl run: limit_out_of_range: limits.wall_ms = 9 exceeds the maximum 5\n"},
		{"run, not JSON", []string{"run", py}, 502, "<h1>Bad Gateway</h1>",
			125, "jailctl run: HTTP 502: <h1>Bad Gateway</h1>\n"},
		{"show, not found", []string{"show", "nope"}, 404, `{"error":"no such run","code":"not_found"}`,
			1, "jailctl show: not_found: no such run\n"},
		{"history, forbidden", []string{"history"}, 403, `{"error":"caller not allowed","code":"forbidden"}`,
			1, "jailctl history: forbidden: caller not allowed\n"},
		{"info, unavailable", []string{"info"}, 503, `{"error":"daemon is shutting down","code":"unavailable"}`,
			1, "jailctl info: unavailable: daemon is shutting down\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDaemon{fail: tt.status, failBody: tt.body}
			code, stdout, stderr := jailctl(t, d.start(t), "", tt.args...)
			if code != tt.wantCode || stderr != tt.want || stdout != "" {
				t.Errorf("= %d, stdout %q, stderr %q; want %d, nothing, %q", code, stdout, stderr, tt.wantCode, tt.want)
			}
		})
	}
}

func TestRunStreamWithoutResult(t *testing.T) {
	d := &fakeDaemon{chunks: []api.StreamEvent{{Stdout: "partial\n"}}, noResult: true}
	py := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	code, stdout, stderr := jailctl(t, d.start(t), "", "run", py)
	if code != 125 || stdout != "partial\n" || !strings.Contains(stderr, "stream ended without a result") {
		t.Errorf("= %d, %q, %q; want 125, the partial output and a missing-result error", code, stdout, stderr)
	}
}

func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	py := writeFile(t, dir, "x.py", "print(1)\n")
	code, _, stderr := jailctl(t, filepath.Join(dir, "none.sock"), "", "run", py)
	if code != 125 || !strings.Contains(stderr, "connect: no such file or directory") || !strings.Contains(stderr, "is jaild running?") {
		t.Errorf("= %d, %q; want 125 and a hint that jaild is not running", code, stderr)
	}
	// A missing script is not a missing daemon.
	code, _, stderr = jailctl(t, filepath.Join(dir, "none.sock"), "", "run", filepath.Join(dir, "missing.py"))
	if code != 125 || !strings.Contains(stderr, "missing.py: no such file or directory") || strings.Contains(stderr, "jaild running") {
		t.Errorf("= %d, %q; want 125 and only the file error", code, stderr)
	}
}

// TestConnection checks every way of naming the daemon.
func TestConnection(t *testing.T) {
	d := &fakeDaemon{info: api.Info{Version: "sock"}}
	sock := d.start(t)
	ts := httptest.NewServer(&fakeDaemon{info: api.Info{Version: "tcp"}})
	defer ts.Close()
	tcp := strings.TrimPrefix(ts.URL, "http://")
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"$JAILD_SOCKET", sock, []string{"info"}, "sock"},
		{"global --socket", "/nonexistent.sock", []string{"--socket", sock, "info"}, "sock"},
		{"command --socket", "/nonexistent.sock", []string{"info", "--socket", sock}, "sock"},
		{"--tcp beats $JAILD_SOCKET", sock, []string{"--tcp", tcp, "info"}, "tcp"},
		{"command --tcp", "", []string{"info", "--tcp", tcp}, "tcp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("JAILD_SOCKET", tt.env)
			var stdout, stderr bytes.Buffer
			code := run(t.Context(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != 0 || !strings.Contains(stdout.String(), "version         "+tt.want+"\n") {
				t.Errorf("= %d, %q, %q; want 0 and version %s", code, stdout.String(), stderr.String(), tt.want)
			}
		})
	}
}
