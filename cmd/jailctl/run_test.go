package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

func TestRunExitCodes(t *testing.T) {
	tests := []struct {
		status, signal string
		exitCode       int
		want           int
		wantStderr     string // substring of jailctl's own stderr; "" for none
	}{
		{api.StatusOK, "", 0, 0, ""},
		{api.StatusExitNonzero, "", 3, 3, ""},
		{api.StatusExitNonzero, "", 255, 255, ""},
		{api.StatusTimeout, "", 0, 124, ""},
		{api.StatusCPULimit, "", 0, 124, ""},
		{api.StatusOOM, "", 0, 137, ""},
		{api.StatusSignaled, "SIGSEGV", 0, 128 + 11, ""},
		{api.StatusSignaled, "SIGKILL", 0, 128 + 9, ""},
		{api.StatusSignaled, "SIGTERM", 0, 128 + 15, ""},
		{api.StatusSignaled, "SIGBOGUS", 0, 125, `killed by unknown signal "SIGBOGUS"`},
		{api.StatusInternalError, "", 0, 125, "run 01R internal_error: jail setup failed"},
		{api.StatusAborted, "", 0, 125, "run 01R aborted: jail setup failed"},
		{"exploded", "", 0, 125, `ended with unknown status "exploded"`},
	}
	dir := t.TempDir()
	script := writeFile(t, dir, "x.py", "print(1)\n")
	for _, mode := range []string{"stream", "json"} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s_%s", mode, tt.status, tt.signal), func(t *testing.T) {
				d := &fakeDaemon{result: api.RunResult{ID: "01R", Status: tt.status, Signal: tt.signal,
					ExitCode: tt.exitCode, Error: "jail setup failed"}}
				args := []string{"run", script}
				if mode == "json" {
					args = []string{"run", "--json", script}
				}
				code, _, stderr := jailctl(t, d.start(t), "", args...)
				if code != tt.want {
					t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.want, stderr)
				}
				if mode == "stream" {
					if tt.wantStderr == "" && stderr != "" || !strings.Contains(stderr, tt.wantStderr) {
						t.Errorf("stderr = %q, want %q", stderr, tt.wantStderr)
					}
				}
			})
		}
	}
}

// tape records writes to stdout and stderr in the order they happen.
type tape struct{ writes []string }

type tapeWriter struct {
	t    *tape
	name string
}

func (w tapeWriter) Write(p []byte) (int, error) {
	w.t.writes = append(w.t.writes, w.name+":"+string(p))
	return len(p), nil
}

func TestRunStreamsOutputInOrder(t *testing.T) {
	d := &fakeDaemon{
		chunks: []api.StreamEvent{
			{Stdout: "a\n"},
			{Stderr: "e1\n"},
			{StdoutBase64: base64.StdEncoding.EncodeToString([]byte{0xff, 0xfe, '\n'})},
			{StderrBase64: base64.StdEncoding.EncodeToString([]byte("e2\n"))},
			{Stdout: "b\n"},
		},
		// The result repeats the output; it must not be printed twice.
		result: api.RunResult{ID: "01R", Status: api.StatusExitNonzero, ExitCode: 4,
			StdoutBase64: base64.StdEncoding.EncodeToString([]byte("a\n\xff\xfe\nb\n")), Stderr: "e1\ne2\n"},
	}
	script := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	var tp tape
	code := run(t.Context(), []string{"--socket", d.start(t), "run", script}, strings.NewReader(""),
		tapeWriter{&tp, "out"}, tapeWriter{&tp, "err"})
	want := []string{"out:a\n", "err:e1\n", "out:\xff\xfe\n", "err:e2\n", "out:b\n"}
	if !reflect.DeepEqual(tp.writes, want) {
		t.Errorf("writes = %q, want %q", tp.writes, want)
	}
	if code != 4 {
		t.Errorf("exit code = %d, want 4", code)
	}
	if got := d.requests()[0]; got.Method != "POST" || got.Path != api.PathRuns || got.Query != "stream=1" {
		t.Errorf("request = %s %s?%s, want POST %s?stream=1", got.Method, got.Path, got.Query, api.PathRuns)
	}
}

func TestRunPrintsResultOutputWhenNothingStreamed(t *testing.T) {
	d := &fakeDaemon{result: api.RunResult{ID: "01R", Status: api.StatusOK, Stdout: "all at once\n", Stderr: "late\n"}}
	script := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	code, stdout, stderr := jailctl(t, d.start(t), "", "run", script)
	if code != 0 || stdout != "all at once\n" || stderr != "late\n" {
		t.Errorf("run = %d, %q, %q; want 0, %q, %q", code, stdout, stderr, "all at once\n", "late\n")
	}
}

func TestRunReportsDroppedOutputAndVerboseSummary(t *testing.T) {
	d := &fakeDaemon{result: api.RunResult{ID: "01R", Status: api.StatusOK, StdoutDropped: 10,
		Limits: api.Limits{OutputBytes: 1 << 20}, WallMS: 1500, CPUMS: 20, MemoryPeak: 3 << 20, QueueMS: 2}}
	script := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	_, _, stderr := jailctl(t, d.start(t), "", "run", "-v", script)
	want := "jailctl run: stdout truncated: 10 bytes over the output limit of 1.0MiB were dropped\n" +
		"jailctl run: 01R ok exit=0 wall=1.5s cpu=20ms peak=3.0MiB queue=2ms\n"
	if stderr != want {
		t.Errorf("stderr = %q, want %q", stderr, want)
	}
}

func TestRunJSON(t *testing.T) {
	want := api.RunResult{ID: "01R", Status: api.StatusExitNonzero, ExitCode: 2, Stdout: "<out>\n", Language: "python",
		CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Limits: api.Limits{WallMS: 5000}}
	d := &fakeDaemon{result: want}
	script := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	code, stdout, stderr := jailctl(t, d.start(t), "", "run", "--json", script)
	if code != 2 {
		t.Errorf("exit code = %d, want 2", code)
	}
	var got api.RunResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("stdout = %s (%v), want the result %+v", stdout, err, want)
	}
	if !strings.Contains(stdout, "\n  \"id\": \"01R\"") || !strings.Contains(stdout, `"<out>\n"`) {
		t.Errorf("stdout = %s, want indented JSON without HTML escaping", stdout)
	}
	if stderr != "" {
		t.Errorf("stderr = %q, want nothing without -v", stderr)
	}
	if got := d.requests()[0]; got.Query != "" {
		t.Errorf("query = %q, want none: --json does not stream", got.Query)
	}
}

// TestRunRequest checks the request built from flags, files and stdin.
func TestRunRequest(t *testing.T) {
	dir := t.TempDir()
	py := writeFile(t, dir, "hello.py", "print('hi')\n")
	mjs := writeFile(t, dir, "mod.mjs", "export {}\n")
	upper := writeFile(t, dir, "LOUD.PY", "print(1)\n")
	noext := writeFile(t, dir, "script", "console.log(1)\n")
	lib := writeFile(t, dir, "lib.py", "X = 1\n")
	bin := writeFile(t, dir, "blob.bin", "\xff\x00\x01")
	tests := []struct {
		name  string
		args  []string
		stdin string
		want  api.RunRequest
	}{
		{"python file with args", []string{py, "a", "-b"}, "",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Args: []string{"a", "-b"},
				Files: []api.File{{Name: "hello.py", Content: "print('hi')\n"}}}},
		{"flags after FILE go to the script", []string{py, "--json", "-v"}, "",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Args: []string{"--json", "-v"},
				Files: []api.File{{Name: "hello.py", Content: "print('hi')\n"}}}},
		{"mjs is node", []string{mjs}, "",
			api.RunRequest{Language: "node", Entrypoint: "mod.mjs", Files: []api.File{{Name: "mod.mjs", Content: "export {}\n"}}}},
		{"extension case is ignored", []string{upper}, "",
			api.RunRequest{Language: "python", Entrypoint: "LOUD.PY", Files: []api.File{{Name: "LOUD.PY", Content: "print(1)\n"}}}},
		{"-l names the language", []string{"-l", "node", noext}, "",
			api.RunRequest{Language: "node", Entrypoint: "script", Files: []api.File{{Name: "script", Content: "console.log(1)\n"}}}},
		{"code from stdin is inline", []string{"-l", "python", "-", "x"}, "print(2)\n",
			api.RunRequest{Language: "python", Code: "print(2)\n", Args: []string{"x"}}},
		{"code from stdin with --file", []string{"-l", "python", "--file", "lib.py=" + lib, "-"}, "import lib\n",
			api.RunRequest{Language: "python", Entrypoint: "main.py", Files: []api.File{
				{Name: "main.py", Content: "import lib\n"}, {Name: "lib.py", Content: "X = 1\n"}}}},
		{"binary --file is base64", []string{"--file", "data/blob.bin=" + bin, py}, "",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Files: []api.File{
				{Name: "hello.py", Content: "print('hi')\n"},
				{Name: "data/blob.bin", Content: base64.StdEncoding.EncodeToString([]byte("\xff\x00\x01")), Encoding: api.EncodingBase64}}}},
		{"--stdin", []string{"--stdin", py}, "input line\n",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Stdin: "input line\n",
				Files: []api.File{{Name: "hello.py", Content: "print('hi')\n"}}}},
		{"env", []string{"--env", "A=1", "--env", "B=x=y", "--env", "A=2", "--env", "EMPTY=", py}, "",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Env: map[string]string{"A": "2", "B": "x=y", "EMPTY": ""},
				Files: []api.File{{Name: "hello.py", Content: "print('hi')\n"}}}},
		{"limits", []string{"--wall", "1500ms", "--cpu", "1s", "--memory", "256M", "--pids", "32",
			"--output", "1KiB", "--tmp", "2g", py}, "",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Files: []api.File{{Name: "hello.py", Content: "print('hi')\n"}},
				Limits: &api.Limits{WallMS: 1500, CPUMS: 1000, MemoryBytes: 256 << 20, Pids: 32, OutputBytes: 1024, TmpBytes: 2 << 30}}},
		{"a sub-millisecond limit rounds up, not to the default", []string{"--wall", "100us", py}, "",
			api.RunRequest{Language: "python", Entrypoint: "hello.py", Files: []api.File{{Name: "hello.py", Content: "print('hi')\n"}},
				Limits: &api.Limits{WallMS: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &fakeDaemon{result: api.RunResult{Status: api.StatusOK}}
			code, _, stderr := jailctl(t, d.start(t), tt.stdin, append([]string{"run"}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit code = %d, want 0 (stderr %q)", code, stderr)
			}
			got := d.requests()
			if len(got) != 1 || got[0].Run == nil {
				t.Fatalf("requests = %+v, want one run", got)
			}
			if !reflect.DeepEqual(*got[0].Run, tt.want) {
				t.Errorf("request =\n%+v\nwant\n%+v", *got[0].Run, tt.want)
			}
		})
	}
}

func TestRunSendsBinaryStdinAsBase64(t *testing.T) {
	d := &fakeDaemon{}
	py := writeFile(t, t.TempDir(), "x.py", "print(1)\n")
	code, _, stderr := jailctl(t, d.start(t), "\xff\xfe", "run", "--stdin", py)
	reqs := d.requests()
	if len(reqs) != 1 {
		t.Fatalf("daemon saw %d requests (exit %d, %q), want 1", len(reqs), code, stderr)
	}
	got := reqs[0].Run
	if got == nil {
		t.Fatal("no run request decoded")
	}
	if got.Stdin != "" || got.StdinBase64 != "//4=" {
		t.Errorf("stdin %q stdin_base64 %q, want the bytes base64-encoded", got.Stdin, got.StdinBase64)
	}
}

func TestLanguage(t *testing.T) {
	tests := []struct {
		flag, file string
		want       string
		wantErr    string
	}{
		{"", "a.py", "python", ""},
		{"", "dir.v2/a.js", "node", ""},
		{"", "a.mjs", "node", ""},
		{"", "a.cjs", "node", ""},
		{"", "A.Js", "node", ""},
		{"python", "a.js", "python", ""},
		{"node", "-", "node", ""},
		{"", "a.rb", "", "cannot tell the language of a.rb"},
		{"", "Makefile", "", "cannot tell the language of Makefile"},
		{"", "-", "", "cannot tell the language of code on standard input"},
		{"ruby", "a.py", "", `unknown language "ruby"`},
	}
	for _, tt := range tests {
		got, err := language(tt.flag, tt.file)
		if got != tt.want || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("language(%q, %q) = %q, %v; want %q, %q", tt.flag, tt.file, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestByteSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"512B", 512, true}, {"4k", 4 << 10, true},
		{"4KiB", 4 << 10, true}, {"256M", 256 << 20, true}, {"256MB", 256 << 20, true}, {"2G", 2 << 30, true},
		{"", 0, false}, {"M", 0, false}, {"-1", 0, false}, {"1.5G", 0, false}, {"12T", 0, false},
		{"lots", 0, false}, {"9223372036854775807G", 0, false},
	}
	for _, tt := range tests {
		var b byteSize
		err := b.Set(tt.in)
		if (err == nil) != tt.ok || int64(b) != tt.want {
			t.Errorf("Set(%q) = %d, %v; want %d, ok=%v", tt.in, b, err, tt.want, tt.ok)
		}
	}
}

func TestSignalNumber(t *testing.T) {
	tests := []struct {
		name string
		want int
	}{{"SIGKILL", 9}, {"SIGSEGV", 11}, {"segv", 11}, {"TERM", 15}, {"6", 6}, {"SIGNOPE", 0}, {"", 0}, {"300", 0}}
	for _, tt := range tests {
		if got := signalNumber(tt.name); got != tt.want {
			t.Errorf("signalNumber(%q) = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestRunInterrupted checks that cancelling jailctl (SIGINT in main) drops
// the request, which makes the daemon kill the jail, and exits 130.
func TestRunInterrupted(t *testing.T) {
	d := &fakeDaemon{hold: true, gone: make(chan struct{})}
	sock := d.start(t)
	py := writeFile(t, t.TempDir(), "x.py", "while True: pass\n")
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	var stdout, stderr strings.Builder
	start := time.Now()
	code := run(ctx, []string{"--socket", sock, "run", py}, strings.NewReader(""), &stdout, &stderr)
	if code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("run = %d, %q; want 130 and interrupted", code, stderr.String())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("run returned after %v, want soon after the cancel", d)
	}
	select {
	case <-d.gone:
	case <-time.After(2 * time.Second):
		t.Error("daemon never saw the client go away")
	}
}

// TestRunInterruptedWhileReadingStdin checks that a Ctrl-C while jailctl
// waits for code on a terminal stops it, rather than being swallowed.
func TestRunInterruptedWhileReadingStdin(t *testing.T) {
	d := &fakeDaemon{}
	sock := d.start(t)
	pr, pw := io.Pipe() // a terminal nobody types into
	defer pw.Close()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(50*time.Millisecond, cancel)
	var stdout, stderr strings.Builder
	code := run(ctx, []string{"--socket", sock, "run", "-l", "python", "-"}, pr, &stdout, &stderr)
	if code != 130 || !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("run = %d, %q; want 130 and interrupted", code, stderr.String())
	}
	if n := len(d.requests()); n != 0 {
		t.Errorf("daemon saw %d requests, want none", n)
	}
}
