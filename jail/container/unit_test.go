package container

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/opencontainers/runc/libcontainer/configs"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

func TestCaptureKeepsHeadAndCountsRest(t *testing.T) {
	for _, tc := range []struct {
		name        string
		max         int64
		writes      []int
		wantKept    int
		wantDropped int64
	}{
		{"under", 10, []int{3, 4}, 7, 0},
		{"exact", 10, []int{10}, 10, 0},
		{"over in one write", 10, []int{25}, 10, 15},
		{"over across writes", 10, []int{6, 6, 6}, 10, 8},
		{"zero cap", 0, []int{5, 5}, 0, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w := io.Pipe()
			var streamed []byte
			c := newCapture(r, tc.max, func(p []byte) { streamed = append(streamed, p...) })
			var want []byte
			for i, n := range tc.writes {
				chunk := bytes.Repeat([]byte{byte('a' + i)}, n)
				want = append(want, chunk...)
				if _, err := w.Write(chunk); err != nil {
					t.Fatal(err)
				}
			}
			w.Close()
			got, dropped, err := c.wait()
			if err != nil || len(got) != tc.wantKept || dropped != tc.wantDropped {
				t.Fatalf("kept %d dropped %d err %v, want %d, %d, nil", len(got), dropped, err, tc.wantKept, tc.wantDropped)
			}
			if !bytes.Equal(got, want[:tc.wantKept]) {
				t.Errorf("kept %q, want the head %q", got, want[:tc.wantKept])
			}
			if !bytes.Equal(streamed, got) {
				t.Errorf("streamed %q, want exactly the kept bytes %q", streamed, got)
			}
		})
	}
}

func TestIDAllocatorNeverSharesAnID(t *testing.T) {
	a, err := newIDAllocator(1000, 50)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	held := map[uint32]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				id, err := a.get()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if held[id] || id < 1000 || id >= 1050 {
					t.Errorf("id %d handed out twice or out of range", id)
				}
				held[id] = true
				mu.Unlock()
				mu.Lock()
				delete(held, id)
				mu.Unlock()
				a.put(id)
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 50; i++ {
		if _, err := a.get(); err != nil {
			t.Fatalf("get %d of 50: %v", i, err)
		}
	}
	if _, err := a.get(); err != ErrNoIDs {
		t.Errorf("51st get = %v, want ErrNoIDs", err)
	}
	if _, err := newIDAllocator(0, 10); err == nil {
		t.Error("base 0 (host root) accepted")
	}
}

// exitState produces a real *os.ProcessState for a shell exit or signal.
func exitState(t *testing.T, script string) *os.ProcessState {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	_ = cmd.Run()
	return cmd.ProcessState
}

func TestVerdict(t *testing.T) {
	ok, three := exitState(t, "exit 0"), exitState(t, "exit 3")
	killed, segv, xcpu := exitState(t, "kill -KILL $$"), exitState(t, "kill -SEGV $$"), exitState(t, "kill -XCPU $$")
	for _, tc := range []struct {
		name   string
		ps     *os.ProcessState
		reason killReason
		oom    uint64
		cpu    bool
		want   jail.Status
		code   int
		sig    string
	}{
		{"ok", ok, killNone, 0, false, jail.StatusOK, 0, ""},
		{"exit 3", three, killNone, 0, false, jail.StatusExitNonzero, 3, ""},
		{"segv", segv, killNone, 0, false, jail.StatusSignaled, -1, "SIGSEGV"},
		{"oom kill", killed, killNone, 1, false, jail.StatusOOM, -1, "SIGKILL"},
		{"child oom, main fine", ok, killNone, 1, false, jail.StatusOK, 0, ""},
		{"child oom, main failed", three, killNone, 2, false, jail.StatusOOM, -1, ""},
		{"wall kill wins over oom", killed, killWall, 1, false, jail.StatusTimeout, -1, "SIGKILL"},
		{"cpu kill", killed, killCPU, 0, true, jail.StatusCPULimit, -1, "SIGKILL"},
		{"rlimit cpu", xcpu, killNone, 0, false, jail.StatusCPULimit, -1, "SIGXCPU"},
		{"killed, cpu over", killed, killNone, 0, true, jail.StatusCPULimit, -1, "SIGKILL"},
		{"plain sigkill", killed, killNone, 0, false, jail.StatusSignaled, -1, "SIGKILL"},
		{"no state", nil, killNone, 0, false, jail.StatusInternalError, -1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, code, sig := verdict(waitStatus(tc.ps), tc.reason, tc.oom, tc.cpu)
			if st != tc.want || code != tc.code || sig != tc.sig {
				t.Errorf("verdict = %s %d %q, want %s %d %q", st, code, sig, tc.want, tc.code, tc.sig)
			}
		})
	}
}

func TestBuildConfigIsolation(t *testing.T) {
	spec := &jail.Spec{Rootfs: jail.Rootfs{Path: "/r"}, Argv: []string{"/usr/bin/python3"},
		Limits: jail.DefaultLimits(), Seccomp: policy.DefaultSeccomp()}
	cfg, err := buildConfig(jailParams{id: "j1", spec: spec, hostID: 2000000007, workDir: "/s/work/j1",
		cgroup: "/jaild/j1", mode: cgroupMode{swap: true}})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []configs.NamespaceType{configs.NEWUSER, configs.NEWPID, configs.NEWNS,
		configs.NEWNET, configs.NEWIPC, configs.NEWUTS, configs.NEWCGROUP} {
		if !cfg.Namespaces.Contains(ns) {
			t.Errorf("namespace %s missing", ns)
		}
	}
	checks := []struct {
		name string
		ok   bool
	}{
		{"read-only rootfs", cfg.Readonlyfs},
		{"capabilities empty, not nil", cfg.Capabilities != nil && len(cfg.Capabilities.Bounding)+len(cfg.Capabilities.Effective)+
			len(cfg.Capabilities.Permitted)+len(cfg.Capabilities.Inheritable)+len(cfg.Capabilities.Ambient) == 0},
		{"no_new_privs", cfg.NoNewPrivileges},
		{"one-id uid map to the host id", len(cfg.UIDMappings) == 1 && cfg.UIDMappings[0] == configs.IDMap{ContainerID: 0, HostID: 2000000007, Size: 1}},
		{"gid map equals uid map", len(cfg.GIDMappings) == 1 && cfg.GIDMappings[0] == cfg.UIDMappings[0]},
		{"memory limit", cfg.Cgroups.Resources.Memory == 128<<20},
		{"swap counted in the same limit", cfg.Cgroups.Resources.MemorySwap == 128<<20},
		{"one core", cfg.Cgroups.Resources.CpuQuota == 100000 && cfg.Cgroups.Resources.CpuPeriod == 100000},
		{"pids", *cfg.Cgroups.Resources.PidsLimit == 64},
		{"cgroup path", cfg.Cgroups.Path == "/jaild/j1"},
		{"seccomp loaded", cfg.Seccomp != nil && len(cfg.Seccomp.Syscalls) > 100},
		{"only loopback network", len(cfg.Networks) == 1 && cfg.Networks[0].Type == "loopback"},
		{"six devices", len(cfg.Devices) == 6},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not set", c.name)
		}
	}
	noSwapAccounting, err := buildConfig(jailParams{id: "j1", spec: spec, hostID: 2000000007, workDir: "/s/work/j1",
		cgroup: "/jaild/j1", mode: cgroupMode{}})
	if err != nil {
		t.Fatal(err)
	}
	if r := noSwapAccounting.Cgroups.Resources; r.MemorySwap != 0 || r.MemorySwappiness == nil || *r.MemorySwappiness != 0 {
		t.Errorf("v1 without swap accounting: memsw %d swappiness %v, want no memsw and swappiness 0", r.MemorySwap, r.MemorySwappiness)
	}
	for _, m := range cfg.Mounts {
		if m.Destination == "/sys" {
			t.Error("/sys is mounted")
		}
		if (m.Destination == "/tmp" || m.Destination == jail.WorkDir) && m.Flags&(1<<1|1<<2|1<<3) != 1<<1|1<<2|1<<3 {
			t.Errorf("%s lacks nosuid,nodev,noexec (flags %#x)", m.Destination, m.Flags)
		}
	}
	var core, nofile bool
	for _, r := range cfg.Rlimits {
		core = core || (r.Type == 4 && r.Hard == 0) // RLIMIT_CORE
		nofile = nofile || (r.Type == 7 && r.Hard == 256)
	}
	if !core || !nofile {
		t.Errorf("rlimits %v: want core 0 and nofile 256", cfg.Rlimits)
	}
}

func TestCPUPoll(t *testing.T) {
	for budget, want := range map[time.Duration]time.Duration{
		10 * time.Millisecond: 5 * time.Millisecond, 200 * time.Millisecond: 20 * time.Millisecond, time.Minute: 50 * time.Millisecond,
	} {
		if got := cpuPoll(budget); got != want {
			t.Errorf("cpuPoll(%v) = %v, want %v", budget, got, want)
		}
	}
}

func TestNewNeedsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		_, err := New(Config{StateDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "root") {
			t.Errorf("New as non-root = %v, want an error naming root", err)
		}
		return
	}
	// As root (CI): ask a copy of this binary that drops to uid 65534.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), newAsNobodyEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "needs root") || !strings.Contains(string(out), "unavailable") {
		t.Errorf("New as uid 65534 = %q (%v), want jail.ErrUnavailable naming root", out, err)
	}
}

const newAsNobodyEnv = "JAILD_TEST_NEW_AS_NOBODY"

// newAsNobody is TestNewNeedsRoot's other process: it drops to uid 65534
// (itself: the test binary's directory may be closed to that uid) and
// prints what New says.
func newAsNobody() int {
	if err := errors.Join(syscall.Setgroups(nil), syscall.Setgid(65534), syscall.Setuid(65534)); err != nil {
		fmt.Println("drop privileges:", err)
		return 1
	}
	_, err := New(Config{StateDir: os.TempDir() + "/jaild-test-never-created"})
	if !errors.Is(err, jail.ErrUnavailable) {
		fmt.Println("not ErrUnavailable:", err)
	}
	fmt.Println(err)
	return 0
}

func TestInitGOMAXPROCS(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	t.Setenv("GOMAXPROCS", "3")
	initGOMAXPROCS()
	if got := os.Getenv("GOMAXPROCS"); got != "3" {
		t.Errorf("an operator's GOMAXPROCS=3 became %q", got)
	}
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	initGOMAXPROCS()
	if got := os.Getenv("GOMAXPROCS"); got != "1" {
		t.Errorf("with GOMAXPROCS unset, the inits get GOMAXPROCS=%q, want 1", got)
	}
	if got := runtime.GOMAXPROCS(0); got != procs {
		t.Errorf("this process's GOMAXPROCS went from %d to %d; only its children's should change", procs, got)
	}
}
