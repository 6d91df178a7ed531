package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// testStateDir holds the rootfs images the privileged tests run on; `make
// test` builds them there first (make rootfs-test).
var testStateDir = envOr("JAILD_TEST_STATE_DIR", "/var/lib/jaild-test")

var (
	runnerOnce sync.Once
	runner     *Runner
	runnerErr  error
	// suiteState and suiteCgroup are this test binary's own, so the
	// leftover audit below sees only what these tests made.
	suiteState  string
	suiteCgroup = fmt.Sprintf("/jaild-test-%d", os.Getpid())
)

func TestMain(m *testing.M) {
	// libcontainer re-executes this test binary as "init" inside each jail.
	Init()
	code := m.Run()
	if runner != nil {
		if leaks := leftovers(); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: jails left behind after the suite:\n  %s\n", strings.Join(leaks, "\n  "))
			code = 1
		}
		_ = removeCgroup(suiteCgroup)
		_ = os.RemoveAll(suiteState)
	}
	os.Exit(code)
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// requireRoot skips, loudly, tests that need root; CI runs them as root.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to create jails (run `sudo make test`; CI runs as root)")
	}
}

func testRunner(t *testing.T) *Runner {
	t.Helper()
	requireRoot(t)
	runnerOnce.Do(func() {
		suiteState, runnerErr = os.MkdirTemp("", "jaild-test-state-")
		if runnerErr == nil {
			// A uid range of this test process's own: other jaild test
			// suites and daemons on the host use the default range, and the
			// process audit must see only this suite's jails.
			base := uint32(3000000000) + uint32(os.Getpid()%1000)*65536
			runner, runnerErr = New(Config{StateDir: suiteState, CgroupParent: suiteCgroup, UIDBase: base, UIDCount: 65536})
		}
	})
	if runnerErr != nil {
		t.Fatalf("New: %v", runnerErr)
	}
	return runner
}

// testImage finds the rootfs built for tests. Missing images skip loudly
// on a developer machine and fail under CI, where .ci/run builds them.
func testImage(t *testing.T, lang jail.Language) rootfs.Image {
	t.Helper()
	requireRoot(t)
	st, err := rootfs.Open(filepath.Join(testStateDir, "rootfs"))
	if err == nil {
		var img rootfs.Image
		if img, err = st.Lookup(string(lang)); err == nil {
			return img
		}
	}
	msg := fmt.Sprintf("no %s rootfs under %s (run `make rootfs-test`): %v", lang, testStateDir, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("SKIP: " + msg)
	return rootfs.Image{}
}

// script builds the Spec for code in lang with default limits.
func script(t *testing.T, lang jail.Language, code string) jail.Spec {
	t.Helper()
	img := testImage(t, lang)
	entry := policy.DefaultEntrypoint(lang)
	argv, err := policy.Command(lang, img.Interpreter, entry, nil)
	if err != nil {
		t.Fatal(err)
	}
	return jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     policy.BaseEnv(lang),
		Files:   []jail.File{{Name: entry, Content: []byte(code)}},
		Limits:  jail.DefaultLimits(),
		Seccomp: policy.DefaultSeccomp(),
	}
}

func runJail(t *testing.T, spec jail.Spec) jail.Result {
	t.Helper()
	res, err := testRunner(t).Run(context.Background(), spec)
	if err != nil && res.Status != jail.StatusInternalError {
		t.Fatalf("Run returned error %v with status %s", err, res.Status)
	}
	return res
}

// wantStatus fails with the whole result when the verdict is wrong.
func wantStatus(t *testing.T, res jail.Result, want jail.Status) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("status = %s, want %s\nexit=%d signal=%s error=%q wall=%v cpu=%v peak=%d\nstdout=%q\nstderr=%q",
			res.Status, want, res.ExitCode, res.Signal, res.Error, res.Wall, res.CPU, res.MemoryPeak,
			clip(res.Stdout), clip(res.Stderr))
	}
}

func clip(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// leftovers lists everything of this suite's jails still on the host:
// cgroups in any hierarchy, mounts, libcontainer state, tmpfs dirs and
// processes running as a jail uid.
func leftovers() []string {
	var out []string
	cgDirs, _ := filepath.Glob("/sys/fs/cgroup/*" + suiteCgroup + "/*")
	if v2, _ := filepath.Glob("/sys/fs/cgroup" + suiteCgroup + "/*"); len(v2) > 0 {
		cgDirs = append(cgDirs, v2...)
	}
	for _, d := range cgDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, "cgroup "+d)
		}
	}
	for _, sub := range []string{"jails", "work"} {
		entries, _ := os.ReadDir(filepath.Join(suiteState, sub))
		for _, e := range entries {
			out = append(out, "state "+filepath.Join(suiteState, sub, e.Name()))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if suiteState != "" && strings.Contains(line, suiteState) {
				out = append(out, "mount "+line)
			}
		}
	}
	for _, p := range jailProcesses(runner.cfg.UIDBase, runner.cfg.UIDCount) {
		out = append(out, "process "+p)
	}
	return out
}

// jailProcesses lists host processes whose real uid is in the jail range.
func jailProcesses(base, count uint32) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		uid, ok := procUID(e.Name())
		if ok && uid >= base && uid < base+count {
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			out = append(out, fmt.Sprintf("pid %s uid %d %s", e.Name(), uid, strings.TrimSpace(string(comm))))
		}
	}
	return out
}

func procUID(pid string) (uint32, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				n, err := strconv.ParseUint(f[0], 10, 32)
				return uint32(n), err == nil
			}
		}
	}
	return 0, false
}

func fmtSscan(s string, args ...any) (int, error) { return fmt.Sscan(s, args...) }

var markerSeq struct {
	sync.Mutex
	n int
}

// uniqueMarker returns an argv word no other process on the host carries.
func uniqueMarker() string {
	markerSeq.Lock()
	defer markerSeq.Unlock()
	markerSeq.n++
	return fmt.Sprintf("jaild-test-marker-%d-%d", os.Getpid(), markerSeq.n)
}

type procInfo struct {
	pid string
	uid uint32
}

// markedProcesses finds host processes whose argv contains marker.
func markedProcesses(marker string) []procInfo {
	var out []procInfo
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || !strings.Contains(string(cmd), marker) {
			continue
		}
		// The test binary itself never carries the marker in its argv.
		if uid, ok := procUID(e.Name()); ok {
			out = append(out, procInfo{e.Name(), uid})
		}
	}
	return out
}
