package main

import (
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

var created = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

func TestHistory(t *testing.T) {
	d := &fakeDaemon{list: api.RunList{Next: "01A", Runs: []api.RunResult{
		{ID: "01D", CreatedAt: created, Language: "node", Status: api.StatusRunning},
		{ID: "01C", CreatedAt: created, Language: "python", Status: api.StatusSignaled, Signal: "SIGSEGV", WallMS: 40, CPUMS: 30, MemoryPeak: 2 << 20},
		{ID: "01B", CreatedAt: created, Language: "python", Status: api.StatusExitNonzero, ExitCode: 3, WallMS: 1500, CPUMS: 1200, MemoryPeak: 512},
		{ID: "01A", CreatedAt: created, Language: "node", Status: api.StatusTimeout, WallMS: 5000, CPUMS: 10, MemoryPeak: 30 << 20},
	}}}
	sock := d.start(t)
	code, stdout, stderr := jailctl(t, sock, "", "history", "--limit", "4", "--status", "timeout", "--language", "node", "--before", "01E")
	when := created.Local().Format("2006-01-02 15:04:05")
	want := strings.Join([]string{
		"ID   CREATED              LANGUAGE  STATUS        EXIT     WALL  CPU   PEAK",
		"01D  " + when + "  node      running       -        -     -     -",
		"01C  " + when + "  python    signaled      SIGSEGV  40ms  30ms  2.0MiB",
		"01B  " + when + "  python    exit_nonzero  3        1.5s  1.2s  512B",
		"01A  " + when + "  node      timeout       -        5s    10ms  30.0MiB",
		""}, "\n")
	if code != 0 || stdout != want {
		t.Errorf("history = %d,\n%s\nwant 0,\n%s", code, stdout, want)
	}
	if stderr != "more runs: add --before 01A\n" {
		t.Errorf("stderr = %q, want the next-page hint", stderr)
	}
	if got := d.requests()[0]; got.Method != "GET" || got.Path != api.PathRuns ||
		got.Query != "before=01E&language=node&limit=4&status=timeout" {
		t.Errorf("request = %s %s?%s, want the filters in the query", got.Method, got.Path, got.Query)
	}

	code, stdout, _ = jailctl(t, sock, "", "history", "--json")
	var list api.RunList
	if err := json.Unmarshal([]byte(stdout), &list); code != 0 || err != nil || !reflect.DeepEqual(list, d.list) {
		t.Errorf("history --json = %d, %s (%v); want the list", code, stdout, err)
	}
	if got := d.requests()[1]; got.Query != "" {
		t.Errorf("query = %q, want none without filters", got.Query)
	}
}

func TestShow(t *testing.T) {
	res := api.RunResult{ID: "01B", Status: api.StatusExitNonzero, ExitCode: 3, Language: "python", Rootfs: "python@sha256:ab",
		CreatedAt: created, QueueMS: 2, WallMS: 1500, CPUMS: 1200, MemoryPeak: 3 << 20,
		Limits: api.Limits{WallMS: 5000, CPUMS: 5000, MemoryBytes: 256 << 20, Pids: 64, OutputBytes: 1 << 20, TmpBytes: 64 << 20},
		Caller: &api.Caller{UID: 1000, GID: 100, PID: 42}, CodeSHA256: "c0ffee", StderrDropped: 7,
		StdoutBase64: base64.StdEncoding.EncodeToString([]byte("bin\xff")), Stderr: "err\n"}
	d := &fakeDaemon{result: res}
	sock := d.start(t)
	code, stdout, stderr := jailctl(t, sock, "", "show", "01B")
	want := strings.Join([]string{
		"id        01B",
		"status    exit_nonzero, exit code 3",
		"language  python (python@sha256:ab)",
		"created   " + created.Local().Format("2006-01-02 15:04:05") + " (queued 2ms)",
		"usage     wall 1.5s, cpu 1.2s, peak memory 3.0MiB",
		"limits    wall 5s, cpu 5s, memory 256.0MiB, pids 64, output 1.0MiB, tmp 64.0MiB",
		"caller    uid 1000, gid 100, pid 42",
		"code      sha256:c0ffee",
		"dropped   stdout 0 bytes, stderr 7 bytes over the output limit",
		"--- stdout ---",
		"bin\xff",
		"--- stderr ---",
		"err",
		""}, "\n")
	if code != 0 || stdout != want || stderr != "" {
		t.Errorf("show = %d, %q,\n%s\nwant 0, nothing,\n%s", code, stderr, stdout, want)
	}

	// Flags may follow the ID, and the ID is escaped into the path.
	code, stdout, _ = jailctl(t, sock, "", "show", "a/b", "--json")
	var got api.RunResult
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || !reflect.DeepEqual(got, res) {
		t.Errorf("show --json = %d, %s (%v); want the result", code, stdout, err)
	}
	if p := d.requests()[1].Path; p != "/v1/runs/a%2Fb" {
		t.Errorf("path = %q, want /v1/runs/a%%2Fb", p)
	}
}

func TestInfo(t *testing.T) {
	info := api.Info{Version: "1.2.3", CgroupVersion: "v2", Seccomp: true, MaxConcurrent: 4, QueueSize: 16, Running: 1, Queued: 2,
		Languages:     []api.LanguageInfo{{Name: "python", Rootfs: "python@sha256:ab"}, {Name: "node", Rootfs: "node@sha256:cd"}},
		DefaultLimits: api.Limits{WallMS: 5000, MemoryBytes: 256 << 20},
		MaxLimits:     api.Limits{WallMS: 60000, MemoryBytes: 1 << 30}}
	d := &fakeDaemon{info: info}
	sock := d.start(t)
	code, stdout, _ := jailctl(t, sock, "", "info")
	want := strings.Join([]string{
		"version         1.2.3",
		"languages       python (python@sha256:ab), node (node@sha256:cd)",
		"cgroup          v2",
		"seccomp         on",
		"load            1 running of 4, 2 queued of 16",
		"default limits  wall 5s, memory 256.0MiB",
		"max limits      wall 1m0s, memory 1.0GiB",
		""}, "\n")
	if code != 0 || stdout != want {
		t.Errorf("info = %d,\n%s\nwant 0,\n%s", code, stdout, want)
	}
	code, stdout, _ = jailctl(t, sock, "", "info", "--json")
	var got api.Info
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || !reflect.DeepEqual(got, info) {
		t.Errorf("info --json = %d, %s (%v); want the info", code, stdout, err)
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name   string
		health api.Health
		code   int
		want   string
	}{
		{"ok", api.Health{Status: "ok", History: "ok"}, 0, "status   ok\nhistory  ok\n"},
		{"unavailable", api.Health{Status: "unavailable", Reason: "no cgroup v2", History: "ok"}, 1,
			"status   unavailable: no cgroup v2\nhistory  ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDaemon{health: tt.health}
			code, stdout, stderr := jailctl(t, d.start(t), "", "health")
			if code != tt.code || stdout != tt.want || stderr != "" {
				t.Errorf("health = %d, %q, %q; want %d, %q, nothing", code, stdout, stderr, tt.code, tt.want)
			}
		})
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0B"}, {1023, "1023B"}, {1024, "1.0KiB"}, {1536, "1.5KiB"}, {3 << 20, "3.0MiB"}, {5 << 30, "5.0GiB"}, {2 << 40, "2.0TiB"}}
	for _, tt := range tests {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
