package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

func TestE2EVerdicts(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state)
	for _, tc := range []struct {
		name   string
		req    api.RunRequest
		status string
		check  func(api.RunResult) string
	}{
		{"python ok", api.RunRequest{Language: "python", Code: "import sys; print(sys.stdin.read()[::-1], sys.argv[1:])",
			Stdin: "olleh", Args: []string{"x"}}, api.StatusOK, func(r api.RunResult) string {
			return want(r.Stdout == "hello ['x']\n", "stdout %q", r.Stdout)
		}},
		{"node ok", api.RunRequest{Language: "node", Code: "console.log(process.env.GREETING)",
			Env: map[string]string{"GREETING": "hi"}}, api.StatusOK, func(r api.RunResult) string {
			return want(r.Stdout == "hi\n" && strings.HasPrefix(r.Rootfs, "node@sha256:"), "stdout %q rootfs %q", r.Stdout, r.Rootfs)
		}},
		{"files", api.RunRequest{Language: "python", Entrypoint: "app/main.py", Files: []api.File{
			{Name: "app/main.py", Content: "from lib import v; print(v)"},
			{Name: "app/lib.py", Content: "dj0gNDI=", Encoding: "base64"}}}, api.StatusOK, func(r api.RunResult) string {
			return want(r.Stdout == "42\n", "stdout %q stderr %q", r.Stdout, r.Stderr)
		}},
		{"exit 3", api.RunRequest{Language: "python", Code: "raise SystemExit(3)"}, api.StatusExitNonzero,
			func(r api.RunResult) string { return want(r.ExitCode == 3, "exit %d", r.ExitCode) }},
		{"timeout", api.RunRequest{Language: "python", Code: "while True: pass", Limits: &api.Limits{WallMS: 500, CPUMS: 5000}},
			api.StatusTimeout, func(r api.RunResult) string {
				return want(r.WallMS >= 500 && r.Signal == "SIGKILL", "wall %d signal %q", r.WallMS, r.Signal)
			}},
		{"cpu limit", api.RunRequest{Language: "node", Code: "for(;;){}", Limits: &api.Limits{WallMS: 30000, CPUMS: 300}},
			api.StatusCPULimit, func(r api.RunResult) string { return want(r.CPUMS >= 300, "cpu %d", r.CPUMS) }},
		{"oom", api.RunRequest{Language: "python", Code: "x = bytearray(1 << 30)", Limits: &api.Limits{MemoryBytes: 64 << 20}},
			api.StatusOOM, func(r api.RunResult) string {
				return want(r.MemoryPeak > 50<<20 && r.Limits.MemoryBytes == 64<<20, "peak %d limits %+v", r.MemoryPeak, r.Limits)
			}},
		// A real fault: the kernel forces SIGSEGV even on PID 1 of the jail.
		{"signaled", api.RunRequest{Language: "python", Code: "import ctypes; ctypes.string_at(0)"},
			api.StatusSignaled, func(r api.RunResult) string { return want(r.Signal == "SIGSEGV", "signal %q", r.Signal) }},
		{"binary output", api.RunRequest{Language: "python", Code: "import sys; sys.stdout.buffer.write(b'ok\\xff')"},
			api.StatusOK, func(r api.RunResult) string {
				return want(r.StdoutBase64 == "b2v/", "stdout %q base64 %q", r.Stdout, r.StdoutBase64)
			}},
		{"output cap", api.RunRequest{Language: "python", Code: "print('x' * 5000, end='')", Limits: &api.Limits{OutputBytes: 1000}},
			api.StatusOK, func(r api.RunResult) string {
				return want(len(r.Stdout) == 1000 && r.StdoutDropped == 4000, "kept %d dropped %d", len(r.Stdout), r.StdoutDropped)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := d.run(t, tc.req)
			if r.Status != tc.status {
				t.Fatalf("status %s (error %q, stderr %q), want %s", r.Status, r.Error, r.Stderr, tc.status)
			}
			if msg := tc.check(r); msg != "" {
				t.Error(msg)
			}
			var stored api.RunResult
			if code := d.get(t, api.PathRun+r.ID, &stored); code != 200 || stored.Status != r.Status || stored.CodeSHA256 != r.CodeSHA256 {
				t.Errorf("history of %s = %d %+v", r.ID, code, stored)
			}
		})
	}
	// Every verdict's jail is gone: cgroups in every hierarchy, mounts, state.
	t.Cleanup(func() {
		d.stop(t, syscall.SIGTERM)
		assertNothingLeft(t, state)
	})
}

func want(ok bool, format string, args ...any) string {
	if ok {
		return ""
	}
	return "unexpected result: " + fmt.Sprintf(format, args...)
}

func TestE2EStreamingOrder(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state)
	resp, err := d.post(context.Background(), api.PathRuns+"?stream=1", api.RunRequest{Language: "python",
		Code: "import sys, time\nprint('one', flush=True)\ntime.sleep(0.3)\nprint('two', file=sys.stderr, flush=True)\ntime.sleep(0.3)\nprint('three')"})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []string
	var arrivals []time.Time
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.StreamEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if ev.ID != "" {
			got = append(got, "id")
			continue
		}
		arrivals = append(arrivals, time.Now())
		switch {
		case ev.Result != nil:
			got = append(got, "result:"+ev.Result.Status)
		case ev.Stdout != "":
			got = append(got, "out:"+ev.Stdout)
		case ev.Stderr != "":
			got = append(got, "err:"+ev.Stderr)
		}
	}
	if strings.Join(got, "|") != "id|out:one\n|err:two\n|out:three\n|result:ok" {
		t.Fatalf("stream = %q", got)
	}
	if gap := arrivals[1].Sub(arrivals[0]); gap < 200*time.Millisecond {
		t.Errorf("second chunk came %v after the first: output was not streamed as it happened", gap)
	}
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)
}

func TestE2EClientDisconnectKillsJail(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state)
	marker := fmt.Sprintf("jaild-e2e-disconnect-%d", os.Getpid())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(markedPIDs(marker)) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		cancel() // the jail is running: hang up
	}()
	_, err := d.post(ctx, api.PathRuns, api.RunRequest{Language: "python", Args: []string{marker},
		Code: "import time; time.sleep(30)", Limits: &api.Limits{WallMS: 30000}})
	if err == nil {
		t.Fatal("request completed; want it cut off")
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(markedPIDs(marker)) > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if pids := markedPIDs(marker); len(pids) > 0 {
		t.Fatalf("jail processes %v still run 2s after the client went away", pids)
	}
	// The handler records the verdict after the jail is torn down, so the
	// row may still say running for a moment after the processes are gone.
	var list api.RunList
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		list = api.RunList{}
		d.get(t, api.PathRuns+"?limit=1", &list)
		if len(list.Runs) != 1 || list.Runs[0].Status != api.StatusRunning || time.Now().After(deadline) {
			break
		}
	}
	if len(list.Runs) != 1 || list.Runs[0].Status != api.StatusInternalError || !strings.Contains(list.Runs[0].Error, "client went away") {
		t.Errorf("history = %+v, want the run recorded as cancelled", list.Runs)
	}
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)
}

func TestE2ESIGTERMWithRunsInFlight(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--config", writeConfig(t, `shutdown_grace = "1s"`))
	marker := fmt.Sprintf("jaild-e2e-sigterm-%d", os.Getpid())
	results := make(chan api.RunResult, 2)
	for _, code := range []string{"import time; time.sleep(0.3); print('finished')", "import time; time.sleep(30)"} {
		go func() {
			resp, err := d.post(context.Background(), api.PathRuns, api.RunRequest{Language: "python", Code: code,
				Args: []string{marker}, Limits: &api.Limits{WallMS: 30000}})
			var r api.RunResult
			if err == nil {
				_ = json.NewDecoder(resp.Body).Decode(&r)
				resp.Body.Close()
			}
			results <- r
		}()
	}
	for len(markedPIDs(marker)) < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	d.stop(t, syscall.SIGTERM)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("shutdown took %v with a 1s grace", took)
	}
	if d.cmd.ProcessState.ExitCode() != 0 {
		t.Errorf("daemon exit code %d after SIGTERM, want 0", d.cmd.ProcessState.ExitCode())
	}
	got := map[string]bool{}
	for i := 0; i < 2; i++ {
		r := <-results
		got[r.Status+":"+strings.TrimSpace(r.Stdout+r.Error)] = true
	}
	if !got["ok:finished"] || !got["internal_error:run killed: daemon shutting down"] {
		t.Errorf("results = %v, want one finished within the grace and one killed", got)
	}
	assertNothingLeft(t, state, marker)
	if _, err := os.Stat(d.socket); err == nil {
		t.Error("socket left behind after shutdown")
	}
}

func TestE2ESIGKILLRestartReapsAndAborts(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state)
	marker := fmt.Sprintf("jaild-e2e-sigkill-%d", os.Getpid())
	go d.post(context.Background(), api.PathRuns, api.RunRequest{Language: "python", Code: "import time; time.sleep(60)",
		Args: []string{marker}, Limits: &api.Limits{WallMS: 60000}})
	for len(markedPIDs(marker)) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	d.stop(t, syscall.SIGKILL)
	time.Sleep(100 * time.Millisecond)
	if len(markedPIDs(marker)) == 0 {
		t.Fatal("the jail died with the daemon; this test wants to see the reaper at work")
	}
	d2 := startDaemon(t, state) // a stale socket is in place: it must be replaced
	if pids := markedPIDs(marker); len(pids) > 0 {
		t.Errorf("jail processes %v survived the restart", pids)
	}
	var list api.RunList
	d2.get(t, api.PathRuns+"?status=aborted", &list)
	if len(list.Runs) != 1 {
		t.Errorf("aborted runs = %+v, want the one in flight at SIGKILL", list.Runs)
	}
	d2.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := t.TempDir() + "/jaild.toml"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
