package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	if os.Getenv(newAsNobodyEnv) != "" {
		os.Exit(newAsNobody())
	}
	if os.Getenv(uidChildEnv) != "" {
		os.Exit(uidChild()) // TestUIDBlocksAcrossProcesses's other process
	}
	code := m.Run()
	if runner != nil {
		if leaks := leftovers(); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: jails left behind after the suite:\n  %s\n", strings.Join(leaks, "\n  "))
			code = 1
		}
		_ = runner.Close()
		_ = removeCgroup(suiteCgroup)
		_ = os.RemoveAll(suiteState)
		// Every cgroup parent this binary made (the suite's and those of
		// tests with a Runner of their own) must be gone from every hierarchy.
		v1, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/*/jaild-test-%d*", os.Getpid()))
		v2, _ := filepath.Glob(fmt.Sprintf("/sys/fs/cgroup/jaild-test-%d*", os.Getpid()))
		if left := append(v1, v2...); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: cgroups left behind after the suite:\n  %s\n", strings.Join(left, "\n  "))
			code = 1
		}
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
			runner, runnerErr = New(Config{StateDir: suiteState, CgroupParent: suiteCgroup})
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
	limits := jail.DefaultLimits()
	// Generous budgets, so a loaded shared host cannot turn a functional
	// test into a timeout; the limit tests set their own.
	limits.Wall, limits.CPUTime = 30*time.Second, 30*time.Second
	return jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     policy.BaseEnv(lang),
		Files:   []jail.File{{Name: entry, Content: []byte(code)}},
		Limits:  limits,
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

// leftovers lists everything of this suite's jails still on the host.
func leftovers() []string { return leftoversOf(runner, suiteState, suiteCgroup) }

// leftoversOf lists everything of r's jails still on the host: cgroups
// under cgroup in any hierarchy, mounts under state, libcontainer state and
// tmpfs dirs, processes running as a uid of r's blocks, and host uids r
// still counts as in use.
func leftoversOf(r *Runner, state, cgroup string) []string {
	var out []string
	cgDirs, _ := filepath.Glob("/sys/fs/cgroup/*" + cgroup + "/*")
	if v2, _ := filepath.Glob("/sys/fs/cgroup" + cgroup + "/*"); len(v2) > 0 {
		cgDirs = append(cgDirs, v2...)
	}
	for _, d := range cgDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, "cgroup "+d)
		}
	}
	for _, sub := range []string{"jails", "work"} {
		entries, _ := os.ReadDir(filepath.Join(state, sub))
		for _, e := range entries {
			out = append(out, "state "+filepath.Join(state, sub, e.Name()))
		}
	}
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if state != "" && strings.Contains(line, state) {
				out = append(out, "mount "+line)
			}
		}
	}
	for _, p := range jailProcesses(r.uids.ranges()) {
		out = append(out, "process "+p)
	}
	r.ids.mu.Lock()
	for id := range r.ids.used {
		out = append(out, fmt.Sprintf("host uid %d still allocated", id))
	}
	r.ids.mu.Unlock()
	live := 0
	r.live.Range(func(any, any) bool { live++; return true })
	if live > 0 {
		out = append(out, fmt.Sprintf("%d jails still registered live", live))
	}
	return out
}

// jailProcesses lists host processes whose real uid is in one of ranges
// ([lo, hi) pairs: the uid blocks this suite's runner holds; other
// processes' jails run in other blocks).
func jailProcesses(ranges [][2]uint32) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		uid, ok := procUID(e.Name())
		if ok && slices.ContainsFunc(ranges, func(r [2]uint32) bool { return uid >= r[0] && uid < r[1] }) {
			if neighbourJail(e.Name()) {
				continue
			}
			comm, _ := os.ReadFile("/proc/" + e.Name() + "/comm")
			out = append(out, fmt.Sprintf("pid %s uid %d %s", e.Name(), uid, strings.TrimSpace(string(comm))))
		}
	}
	return out
}

// neighbourJail reports a process that sits in another live jaild's
// cgroups (another test binary or daemon on this host). Jaild builds that
// predate host-wide uid blocks use uids from the start of the range without
// a lock, so on a shared machine their jails can show up in ours; a leak of
// this suite's either stays in its cgroups or escaped them altogether.
func neighbourJail(pid string) bool {
	b, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		return false
	}
	own := fmt.Sprintf("/jaild-test-%d", os.Getpid())
	return !strings.Contains(string(b), own) && strings.Contains(string(b), "/jaild")
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
