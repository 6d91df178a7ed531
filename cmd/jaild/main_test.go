package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail/container"
)

// The test binary doubles as the daemon: the e2e tests start it again with
// JAILD_E2E_MAIN=1 to run main() as a separate process that they can
// SIGTERM and SIGKILL. It is also libcontainer's init inside each jail.
func TestMain(m *testing.M) {
	container.Init()
	if os.Getenv("JAILD_E2E_MAIN") == "1" {
		main()
	}
	if sock := os.Getenv("JAILD_E2E_PEER"); sock != "" {
		peerMain(sock)
	}
	os.Exit(m.Run())
}

var testStateDir = envOr("JAILD_TEST_STATE_DIR", "/var/lib/jaild-test")

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// daemonProc is a jaild started by a test.
type daemonProc struct {
	cmd    *exec.Cmd
	state  string
	socket string
	log    *bytes.Buffer
	http   *http.Client
}

// requireJails skips, loudly, unless jails can run here: root and the test
// rootfs images (CI builds them; there a missing image is a failure).
func requireJails(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to run jails (run `sudo make test`; CI runs as root)")
	}
	for _, l := range []string{"python", "node"} {
		if _, err := os.Stat(filepath.Join(testStateDir, "rootfs", l)); err != nil {
			msg := fmt.Sprintf("no %s rootfs under %s (run `make rootfs-test`): %v", l, testStateDir, err)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip("SKIP: " + msg)
		}
	}
}

// newState makes a daemon state dir that shares the test rootfs store.
func newState(t *testing.T) string {
	t.Helper()
	state := t.TempDir()
	t.Cleanup(func() { removeCgroupParent(cgroupParent(state)) })
	if err := os.Symlink(filepath.Join(testStateDir, "rootfs"), filepath.Join(state, "rootfs")); err != nil {
		t.Fatal(err)
	}
	return state
}

func startDaemon(t *testing.T, state string, extra ...string) *daemonProc {
	t.Helper()
	return startDaemonWant(t, state, 200, extra...)
}

// startDaemonWant starts a daemon and waits until /healthz answers with
// status health (503 for a daemon started with a language missing).
func startDaemonWant(t *testing.T, state string, health int, extra ...string) *daemonProc {
	t.Helper()
	d := &daemonProc{state: state, socket: filepath.Join(state, "jaild.sock"), log: &bytes.Buffer{}}
	for i, a := range extra { // a later --socket overrides the default one
		if a == "--socket" && i+1 < len(extra) {
			d.socket = extra[i+1]
		}
	}
	args := append([]string{"serve", "--socket", d.socket, "--state-dir", state, "--log-level", "debug",
		"--cgroup-parent", cgroupParent(state),
		// Cold unless a test asks for the pool (a later flag wins): tests
		// find jails by markers in argv, which a parked jail's
		// /proc/PID/cmdline (the loader's) does not carry.
		"--pool-size", "0"}, extra...)
	d.cmd = exec.Command(os.Args[0], args...)
	d.cmd.Env = append(os.Environ(), "JAILD_E2E_MAIN=1")
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.http = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.socket)
	}}}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			// SIGTERM, so the daemon destroys its parked jails (a
			// SIGKILL would leave them, with their mounts, for a reaper).
			_ = d.cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _, _ = d.cmd.Process.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = d.cmd.Process.Kill()
				<-done
			}
		}
		if t.Failed() {
			t.Logf("daemon log:\n%s", d.log.String())
		}
	})
	// A hang guard, not a timing claim: start-up checks every rootfs's
	// digest and runs a smoke jail per language, about 0.3 s here but
	// 15 s and more under QEMU's software emulation (make test-vm).
	const startWait = 90 * time.Second
	for deadline := time.Now().Add(startWait); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := d.http.Get("http://jaild" + api.PathHealth); err == nil {
			resp.Body.Close()
			if resp.StatusCode == health {
				return d
			}
		}
		if exited(d.cmd.Process.Pid) {
			t.Fatalf("daemon exited before it was healthy (its log follows)")
		}
	}
	t.Fatalf("daemon not healthy within %v (its log follows)", startWait)
	return nil
}

func (d *daemonProc) post(ctx context.Context, path string, body any) (*http.Response, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://jaild"+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	return d.http.Do(req)
}

func (d *daemonProc) run(t *testing.T, req api.RunRequest) api.RunResult {
	t.Helper()
	resp, err := d.post(context.Background(), api.PathRuns, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var res api.RunResult
	if resp.StatusCode != 200 || json.Unmarshal(body, &res) != nil {
		t.Fatalf("POST /v1/runs = %d %s", resp.StatusCode, body)
	}
	return res
}

func (d *daemonProc) get(t *testing.T, path string, v any) int {
	t.Helper()
	resp, err := d.http.Get("http://jaild" + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			t.Fatalf("GET %s: decode %s: %v", path, body, err)
		}
	}
	return resp.StatusCode
}

// stop sends sig and waits for the daemon to exit.
func (d *daemonProc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	_ = d.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("daemon did not exit 20s after %v", sig)
	}
}

// markedPIDs lists host processes whose argv contains marker.
func markedPIDs(marker string) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && strings.Contains(string(b), marker) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// cgroupParent gives each state dir (each daemon life) its own cgroup
// parent, so the leftover check sees only its own jails.
func cgroupParent(state string) string {
	return "/jaild-e2e-" + filepath.Base(filepath.Dir(state)) + "-" + filepath.Base(state)
}

// removeCgroupParent removes a test daemon's (by then empty) cgroup
// parent from every hierarchy.
func removeCgroupParent(parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
	for _, d := range append(dirs, "/sys/fs/cgroup"+parent) {
		_ = syscall.Rmdir(d)
	}
}

// assertNothingLeft checks a stopped daemon left no jail behind: no
// cgroup in any hierarchy, no mount, no state, no process.
func assertNothingLeft(t *testing.T, state string, markers ...string) {
	t.Helper()
	for _, sub := range []string{"jails", "work"} {
		if entries, _ := os.ReadDir(filepath.Join(state, sub)); len(entries) > 0 {
			t.Errorf("%s/%s still holds %d entries", state, sub, len(entries))
		}
	}
	parent := cgroupParent(state)
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent + "/*")
	v2, _ := filepath.Glob("/sys/fs/cgroup" + parent + "/*")
	for _, d := range append(dirs, v2...) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			t.Errorf("cgroup %s remains", d)
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Contains(string(mounts), state) {
		t.Errorf("mounts under %s remain", state)
	}
	for _, m := range markers {
		if pids := markedPIDs(m); len(pids) > 0 {
			t.Errorf("jail processes %v carrying %s still run", pids, m)
		}
	}
}

// exited reports whether pid is a zombie (or gone): a child that died
// before anyone waited for it.
func exited(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z'
}
