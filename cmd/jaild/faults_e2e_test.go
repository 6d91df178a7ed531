package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/daemon/api"
)

// postRaw sends a run and returns the status code and the body.
func (d *daemonProc) postRaw(t *testing.T, req api.RunRequest) (int, []byte) {
	t.Helper()
	resp, err := d.post(context.Background(), api.PathRuns, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func (d *daemonProc) health(t *testing.T) (int, api.Health) {
	t.Helper()
	var h api.Health
	code := d.get(t, api.PathHealth, &h)
	return code, h
}

// leftoversOf lists what a daemon's jails left on the host: processes
// carrying marker (if any), cgroups under its parent in any hierarchy, libcontainer
// state, work dirs and mounts.
func leftoversOf(state, marker string) []string {
	var out []string
	if marker != "" { // "" for runs that never started a process
		for _, p := range markedPIDs(marker) {
			out = append(out, fmt.Sprintf("process %d", p))
		}
	}
	parent := cgroupParent(state)
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent + "/*")
	v2, _ := filepath.Glob("/sys/fs/cgroup" + parent + "/*")
	for _, d := range append(dirs, v2...) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, "cgroup "+d)
		}
	}
	for _, sub := range []string{"jails", "work"} {
		entries, _ := os.ReadDir(filepath.Join(state, sub))
		for _, e := range entries {
			out = append(out, "state "+sub+"/"+e.Name())
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, filepath.Join(state, "work")+"/") {
			out = append(out, "mount "+l)
		}
	}
	return out
}

// TestE2EFaultSIGKILLFullLoad: SIGKILL with every slot busy with a jail
// that resists in its own way (sleeper, SIGTERM-ignoring children, a
// SIGSTOP'd child, a fork-heavy one, node); the next daemon reaps every
// leftover before it serves and marks each run aborted. The time from the
// restart until nothing is left is logged (the issue asks ≤ 1 s).
func TestE2EFaultSIGKILLFullLoad(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--max-concurrent", "4")
	marker := fmt.Sprintf("jaild-fault-sigkill-%d", os.Getpid())
	codes := []api.RunRequest{
		{Language: "python", Code: "import time; time.sleep(60)"},
		{Language: "python", Code: "import os, signal, time\nfor _ in range(8):\n    if os.fork() == 0:\n        signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)\ntime.sleep(60)"},
		{Language: "python", Code: "import os, signal, time\nif os.fork() == 0:\n    os.kill(os.getpid(), signal.SIGSTOP)\ntime.sleep(60)"},
		{Language: "node", Code: "setInterval(() => {}, 1000)"},
	}
	for _, req := range codes {
		req.Args, req.Limits = []string{marker}, &api.Limits{WallMS: 60000, CPUMS: 60000}
		go d.post(context.Background(), api.PathRuns, req)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var info api.Info
		d.get(t, api.PathInfo, &info)
		if info.Running == 4 && len(markedPIDs(marker)) >= 4+8+1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("runs did not all start: %+v, %d processes", info, len(markedPIDs(marker)))
		}
	}
	time.Sleep(200 * time.Millisecond) // let the children settle (the stopped one stops)
	d.stop(t, syscall.SIGKILL)
	before := leftoversOf(state, marker)
	if len(before) < 4 {
		t.Fatalf("leftovers after SIGKILL: %v; this test wants to see the reaper at work", before)
	}

	start := time.Now()
	gone := make(chan time.Duration, 1)
	go func() {
		for time.Since(start) < 20*time.Second {
			if len(leftoversOf(state, marker)) == 0 {
				gone <- time.Since(start)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		gone <- -1
	}()
	d2 := startDaemon(t, state, "--max-concurrent", "4")
	healthy := time.Since(start)
	if left := leftoversOf(state, marker); len(left) > 0 {
		t.Errorf("left after the restart: %v", left)
	}
	t.Logf("SIGKILL with %d leftovers (%d processes): all gone %v after restart, healthy after %v",
		len(before), len(markedPIDs(marker))+countPrefix(before, "process"), <-gone, healthy)
	var list api.RunList
	d2.get(t, api.PathRuns+"?status=aborted", &list)
	if len(list.Runs) != 4 {
		t.Errorf("aborted runs = %d, want the 4 in flight at SIGKILL", len(list.Runs))
	}
	if r := d2.run(t, api.RunRequest{Language: "python", Code: "print('after')"}); r.Status != api.StatusOK {
		t.Errorf("run after restart: %+v", r)
	}
	d2.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)
}

func countPrefix(list []string, p string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, p) {
			n++
		}
	}
	return n
}

// TestE2EFaultStateDirFull: the state dir is a small tmpfs filled to the
// last byte. Every run is answered, each either ran or failed with a
// reason naming the full disk, nothing is left behind, and once space is
// back runs work and the history database is intact.
func TestE2EFaultStateDirFull(t *testing.T) {
	requireJails(t)
	state := t.TempDir()
	if err := unix.Mount("tmpfs", state, "tmpfs", 0, "size=4m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(state, unix.MNT_DETACH) })
	t.Cleanup(func() { removeCgroupParent(cgroupParent(state)) })
	if err := os.Symlink(filepath.Join(testStateDir, "rootfs"), filepath.Join(state, "rootfs")); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, state)
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(1)"}); r.Status != api.StatusOK {
		t.Fatalf("run before filling: %+v", r)
	}
	filler := filepath.Join(state, "filler")
	out, _ := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=64k").CombinedOutput()
	if !strings.Contains(string(out), "No space left") {
		t.Fatalf("dd did not fill the state dir: %s", out)
	}
	for i := 0; i < 5; i++ {
		code, body := d.postRaw(t, api.RunRequest{Language: "python", Code: "print(2)"})
		var r api.RunResult
		_ = json.Unmarshal(body, &r)
		switch {
		case code == 200 && r.Status == api.StatusOK && r.Stdout == "2\n":
		case code == 200 && r.Status == api.StatusInternalError && strings.Contains(r.Error, "no space left on device"):
		case code == 503 && strings.Contains(string(body), "no space left on device"):
		default:
			t.Errorf("run %d on a full state dir: %d %s, want it run or refused naming the full disk", i, code, body)
		}
		t.Logf("full state dir, run %d: %d %s %s", i, code, r.Status, r.Error)
	}
	_, h := d.health(t)
	t.Logf("full state dir: /healthz history = %q", h.History)
	if left := leftoversOf(state, ""); len(left) > 0 {
		t.Errorf("left behind by runs on a full disk: %v", left)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(3)"}); r.Status != api.StatusOK || r.Stdout != "3\n" {
		t.Errorf("run after space came back: %+v", r)
	}
	d.stop(t, syscall.SIGTERM)
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(state, "history.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	var rows int
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("history integrity_check = %q, %v", check, err)
	}
	if err := db.QueryRow("SELECT count(*) FROM runs").Scan(&rows); err != nil || rows < 2 {
		t.Errorf("history rows = %d, %v; want at least the runs before and after", rows, err)
	}
}

// TestE2EFaultRootfsAlteredOrMissing: a store whose python tree was altered
// after import (one byte appended to a stdlib file) and which has no node
// image: both languages are refused with the reason, on /healthz and per
// run; nothing runs on the altered tree.
func TestE2EFaultRootfsAlteredOrMissing(t *testing.T) {
	requireJails(t)
	state := t.TempDir()
	t.Cleanup(func() { removeCgroupParent(cgroupParent(state)) })
	src := filepath.Join(testStateDir, "rootfs")
	target, err := os.Readlink(filepath.Join(src, "python"))
	if err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(state, "rootfs")
	if err := os.Mkdir(store, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{target, target + ".json", "python"} {
		if out, err := exec.Command("cp", "-a", filepath.Join(src, name), store+"/").CombinedOutput(); err != nil {
			t.Fatalf("copy %s: %v %s", name, err, out)
		}
	}
	f, err := os.OpenFile(filepath.Join(store, target, "usr/lib/python3.11/os.py"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("\n")
	f.Close()

	d := startDaemonWant(t, state, 503)
	_, h := d.health(t)
	if !strings.Contains(h.Reason, "no rootfs for python") || !strings.Contains(h.Reason, "digest mismatch") ||
		!strings.Contains(h.Reason, "no rootfs for node") {
		t.Errorf("/healthz reason %q, want python's digest mismatch and node missing", h.Reason)
	}
	for _, tc := range []struct{ lang, want string }{{"python", "digest mismatch"}, {"node", "not found"}} {
		code, body := d.postRaw(t, api.RunRequest{Language: tc.lang, Code: "print(1)"})
		if code != 503 || !strings.Contains(string(body), tc.want) || !strings.Contains(string(body), `"unavailable"`) {
			t.Errorf("%s run: %d %s, want 503 unavailable naming %q", tc.lang, code, body, tc.want)
		}
	}
	d.stop(t, syscall.SIGTERM)
}

// TestE2EFaultCgroupCreationFails: the parent cgroup's pids limit is
// reached, so no jail can start. The run is answered internal_error with
// the kernel's reason, nothing leaks, and once the limit is lifted runs
// work again.
func TestE2EFaultCgroupCreationFails(t *testing.T) {
	requireJails(t)
	state := newState(t)
	pidsMax := "/sys/fs/cgroup/pids" + cgroupParent(state) + "/pids.max"
	if _, err := os.Stat("/sys/fs/cgroup/pids"); err != nil {
		pidsMax = "/sys/fs/cgroup" + cgroupParent(state) + "/pids.max" // cgroup v2
	}
	if err := os.MkdirAll(filepath.Dir(pidsMax), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidsMax, []byte("1"), 0o644); err != nil {
		t.Skipf("SKIP: cannot set %s (pids controller not delegated here): %v", pidsMax, err)
	}
	d := startDaemon(t, state)
	r := d.run(t, api.RunRequest{Language: "python", Code: "print(1)"})
	if r.Status != api.StatusInternalError || !strings.Contains(r.Error, "Resource temporarily unavailable") {
		t.Errorf("run under a full parent pids limit: %s %q, want internal_error with the reason", r.Status, r.Error)
	}
	t.Logf("parent pids.max reached: %s %q", r.Status, r.Error)
	if left := leftoversOf(state, ""); len(left) > 0 {
		t.Errorf("left behind by the failed start: %v", left)
	}
	if err := os.WriteFile(pidsMax, []byte("max"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(1)"}); r.Status != api.StatusOK {
		t.Errorf("run after the limit was lifted: %s %q", r.Status, r.Error)
	}
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)
}

// TestE2EFaultHistoryCorrupt: garbage in history.db: the daemon serves runs,
// says why history is degraded on /healthz (still 200: jails can run) and
// refuses history reads with 503.
func TestE2EFaultHistoryCorrupt(t *testing.T) {
	requireJails(t)
	state := newState(t)
	if err := os.WriteFile(filepath.Join(state, "history.db"), bytes.Repeat([]byte("garbage!"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, state)
	if _, h := d.health(t); h.History == "ok" || h.History == "" {
		t.Errorf("/healthz history = %q on a corrupt database, want the reason", h.History)
	}
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(1)"}); r.Status != api.StatusOK || r.Stdout != "1\n" {
		t.Errorf("run with a corrupt history: %+v", r)
	}
	if code := d.get(t, api.PathRuns, nil); code != 503 {
		t.Errorf("GET /v1/runs on a corrupt history = %d, want 503", code)
	}
	d.stop(t, syscall.SIGTERM)
}

// TestE2EFaultHistoryLocked: another process holds an exclusive lock on
// history.db: runs go on (after the busy timeout), /healthz reports the lock,
// and history recovers once the lock is gone.
func TestE2EFaultHistoryLocked(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state)
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(1)"}); r.Status != api.StatusOK {
		t.Fatalf("first run: %+v", r)
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(state, "history.db")+"?_busy_timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(2)"}); r.Status != api.StatusOK || r.Stdout != "2\n" {
		t.Errorf("run with history locked: %+v", r)
	}
	if _, h := d.health(t); !strings.Contains(h.History, "locked") && !strings.Contains(h.History, "busy") {
		t.Errorf("/healthz history = %q with the database locked, want the lock named", h.History)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if r := d.run(t, api.RunRequest{Language: "python", Code: "print(3)"}); r.Status != api.StatusOK {
		t.Errorf("run after the lock: %+v", r)
	}
	if _, h := d.health(t); h.History != "ok" {
		t.Errorf("/healthz history = %q after the lock was released, want ok", h.History)
	}
	d.stop(t, syscall.SIGTERM)
}
