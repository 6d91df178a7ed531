package container

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

func TestStatusIDsIn(t *testing.T) {
	status := func(uid, gid string) string {
		return "Name:\tpython3\nUid:\t" + uid + "\nGid:\t" + gid + "\nGroups:\t\n"
	}
	for _, tc := range []struct {
		name     string
		status   string
		lo, hi   uint32
		wantBusy bool
	}{
		{"root", status("0\t0\t0\t0", "0\t0\t0\t0"), 5000, 6000, false},
		{"real uid in", status("5000\t5000\t5000\t5000", "0\t0\t0\t0"), 5000, 6000, true},
		{"last id in", status("5999\t5999\t5999\t5999", "0\t0\t0\t0"), 5000, 6000, true},
		{"just past", status("6000\t6000\t6000\t6000", "6000\t6000\t6000\t6000"), 5000, 6000, false},
		{"saved uid only", status("0\t0\t5123\t0", "0\t0\t0\t0"), 5000, 6000, true},
		{"fs uid only", status("0\t0\t0\t5123", "0\t0\t0\t0"), 5000, 6000, true},
		{"gid only", status("0\t0\t0\t0", "0\t5500\t0\t0"), 5000, 6000, true},
		{"garbage", "Uid:\tx y\nGid:\n", 0, 10, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusIDsIn(tc.status, tc.lo, tc.hi); got != tc.wantBusy {
				t.Errorf("statusIDsIn = %v, want %v", got, tc.wantBusy)
			}
		})
	}
}

// fakeProc builds a /proc-like tree: pid → status text.
func fakeProc(t *testing.T, procs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for pid, st := range procs {
		if err := os.MkdirAll(filepath.Join(dir, pid), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, pid, "status"), []byte(st), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Entries that are not processes must be ignored.
	if err := os.MkdirAll(filepath.Join(dir, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestIDsInUse(t *testing.T) {
	proc := fakeProc(t, map[string]string{
		"1":   "Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
		"42":  "Uid:\t3072\t3072\t3072\t3072\nGid:\t3072\t3072\t3072\t3072\n",
		"999": "Uid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\n",
	})
	for _, tc := range []struct {
		lo, hi  uint32
		wantPID string
	}{{2048, 3072, ""}, {3072, 4096, "42"}, {1000, 1001, "999"}, {4096, 5120, ""}} {
		pid, err := idsInUse(proc, tc.lo, tc.hi)
		if err != nil || pid != tc.wantPID {
			t.Errorf("idsInUse(%d, %d) = %q, %v; want %q", tc.lo, tc.hi, pid, err, tc.wantPID)
		}
	}
	if _, err := idsInUse(filepath.Join(proc, "missing"), 0, 1); err == nil {
		t.Error("an unreadable /proc was taken as no process in use")
	}
}

func TestUIDPoolClaimsDisjointBlocks(t *testing.T) {
	locks := t.TempDir()
	// Block 3 (uids 3072..4095) is still used by an orphaned jail process.
	proc := fakeProc(t, map[string]string{"42": "Uid:\t3500\t3500\t3500\t3500\nGid:\t3500\t3500\t3500\t3500\n"})
	const base, count = 2048, 4 * uidBlockSize // blocks 2, 3, 4, 5
	// Two pools on one lock dir stand for two processes: flock locks
	// belong to open files, so they conflict within one process too.
	a, err := newUIDPool(locks, base, count, proc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := newUIDPool(locks, base, count, proc)
	if err != nil {
		t.Fatal(err)
	}
	claim := func(p *uidPool) uint32 {
		t.Helper()
		lo, err := p.claim()
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		return lo
	}
	if got := claim(a); got != 2048 {
		t.Errorf("first claim = %d, want 2048", got)
	}
	if got := claim(b); got != 4096 {
		t.Errorf("second pool's claim = %d, want 4096 (2048 is locked, 3072 in use by pid 42)", got)
	}
	if got := claim(a); got != 5120 {
		t.Errorf("third claim = %d, want 5120", got)
	}
	_, err = b.claim()
	if !errors.Is(err, ErrNoIDs) || !strings.Contains(err.Error(), "pid 42") {
		t.Errorf("claim with every block taken = %v, want ErrNoIDs naming pid 42", err)
	}
	if !a.owns(2048+5) || a.owns(4096) || !b.owns(4096+uidBlockSize-1) {
		t.Errorf("owns: a %v b %v", a.ranges(), b.ranges())
	}
	if !b.heldElsewhere(2048) || b.heldElsewhere(4096) || b.heldElsewhere(3072) {
		t.Error("heldElsewhere: want true for a's block, false for b's own and for the unlocked one")
	}
	a.close()
	if b.heldElsewhere(2048) {
		t.Error("a closed its pool but its block still reads as held")
	}
	if got := claim(b); got != 2048 {
		t.Errorf("claim after a closed = %d, want 2048 back", got)
	}
	if _, err := os.Lstat(filepath.Join(locks, "2048")); err != nil {
		t.Errorf("lock file of block 2048: %v", err)
	}
}

func TestUIDPoolRefusesBadRange(t *testing.T) {
	for _, r := range [][2]uint32{{0, 1024}, {1024, 0}, {1000, 1024}, {2048, 1000}, {1<<32 - 1024, 1024}} {
		if _, err := newUIDPool(t.TempDir(), r[0], r[1], "/proc"); err == nil {
			t.Errorf("range %d+%d accepted", r[0], r[1])
		}
	}
}

func TestUIDPoolLockIsNotASymlink(t *testing.T) {
	locks := t.TempDir()
	target := filepath.Join(t.TempDir(), "victim")
	if err := os.Symlink(target, filepath.Join(locks, "2048")); err != nil {
		t.Fatal(err)
	}
	p, err := newUIDPool(locks, 2048, uidBlockSize, fakeProc(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.claim(); err == nil {
		t.Error("claim followed a symlinked lock file")
	}
	if _, err := os.Lstat(target); err == nil {
		t.Error("the symlink's target was created")
	}
}

func TestGrowingAllocatorClaimsMoreBlocks(t *testing.T) {
	next := uint32(4096)
	var claims int
	a, err := newGrowingAllocator(func() (uint32, error) {
		claims++
		lo := next
		next += 2 * uidBlockSize // not contiguous: blocks of other processes lie between
		return lo, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for i := 0; i < 3*uidBlockSize; i++ {
		id, err := a.get()
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		inBlock := id >= 4096 && (id-4096)%(2*uidBlockSize) < uidBlockSize
		if seen[id] || !inBlock {
			t.Fatalf("id %d handed out twice or outside the claimed blocks", id)
		}
		seen[id] = true
	}
	if claims != 3 {
		t.Errorf("claims = %d for %d concurrent ids, want 3", claims, 3*uidBlockSize)
	}
	a.put(4096 + 7)
	if id, err := a.get(); err != nil || id != 4096+7 {
		t.Errorf("get after put = %d, %v; want the freed 4103 rather than a new block", id, err)
	}
	failing, err := newGrowingAllocator(func() (uint32, error) { return 0, ErrNoIDs })
	if !errors.Is(err, ErrNoIDs) || failing != nil {
		t.Errorf("allocator without a first block = %v, %v", failing, err)
	}
}

func TestJailIDCarriesHostUID(t *testing.T) {
	id := newID(2000001234)
	if uid, ok := idHostUID(id); !ok || uid != 2000001234 {
		t.Errorf("idHostUID(%q) = %d, %v", id, uid, ok)
	}
	for _, old := range []string{"j0123456789abcdef", "x12-ab", "j-ab", "jzz-ab"} {
		if _, ok := idHostUID(old); ok {
			t.Errorf("idHostUID(%q) read a uid out of an id without one", old)
		}
	}
}

const (
	uidChildEnv       = "JAILD_TEST_UID_CHILD"
	uidChildStateEnv  = "JAILD_TEST_UID_CHILD_STATE"  // share a state dir …
	uidChildCgroupEnv = "JAILD_TEST_UID_CHILD_CGROUP" // … and cgroup parent
)

// uidChild is the other process of TestUIDBlocksAcrossProcesses: it makes
// its own Runner (own state dir and cgroup parent, the host-wide uid lock
// dir), prints the blocks it holds, runs one jail carrying the marker given
// in the environment until SIGTERM, and prints what the jail printed.
func uidChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	state, cg := os.Getenv(uidChildStateEnv), os.Getenv(uidChildCgroupEnv)
	if state == "" {
		var err error
		if state, err = os.MkdirTemp("", "jaild-test-uidchild-"); err != nil {
			fmt.Println("error", err)
			return 1
		}
		defer os.RemoveAll(state)
		cg = fmt.Sprintf("/jaild-test-%d", os.Getpid())
		defer removeCgroup(cg)
	}
	r, err := New(Config{StateDir: state, CgroupParent: cg})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer r.Close()
	fmt.Println("blocks", r.uids.ranges())
	st, err := rootfs.Open(filepath.Join(testStateDir, "rootfs"))
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	img, err := st.Lookup("python")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	argv, _ := policy.Command(jail.Python, img.Interpreter, "main.py", []string{os.Getenv(uidChildEnv)})
	spec := jail.Spec{
		Rootfs: jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:   argv, Env: policy.BaseEnv(jail.Python),
		Files:   []jail.File{{Name: "main.py", Content: []byte("import os, time; print(os.getuid(), flush=True); time.sleep(60)")}},
		Limits:  jail.DefaultLimits(),
		Seccomp: policy.DefaultSeccomp(),
	}
	spec.Limits.Wall, spec.Limits.CPUTime = 60*time.Second, 60*time.Second
	res, _ := r.Run(ctx, spec)
	fmt.Printf("jail %s %q\n", res.Status, res.Stdout)
	return 0
}

// uidOwner is one process of the test: the uid ranges it holds and the
// host uid its jail was seen running as.
type uidOwner struct {
	name   string
	blocks string // fmt of [][2]uint32
	marker string
	uid    uint32
}

func TestUIDBlocksAcrossProcesses(t *testing.T) {
	requireRoot(t)
	testImage(t, jail.Python)
	// Two more processes besides this one, as a daemon, `jaild run` and
	// another test binary would be: each must get its own blocks, and their
	// concurrent jails must run as different host uids.
	type child struct {
		cmd *exec.Cmd
		out *bufio.Scanner
		uidOwner
	}
	var children []*child
	for i := 0; i < 2; i++ {
		c := &child{uidOwner: uidOwner{name: fmt.Sprintf("child %d", i), marker: uniqueMarker()}}
		c.cmd = exec.Command(os.Args[0], "-test.run=^$")
		c.cmd.Env = append(os.Environ(), uidChildEnv+"="+c.marker)
		c.cmd.Stderr = os.Stderr
		stdout, err := c.cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if c.cmd.ProcessState == nil {
				_ = c.cmd.Process.Kill()
				_ = c.cmd.Wait()
			}
		})
		c.out = bufio.NewScanner(stdout)
		if !c.out.Scan() || !strings.HasPrefix(c.out.Text(), "blocks ") {
			t.Fatalf("%s: first line %q, want its blocks", c.name, c.out.Text())
		}
		c.blocks = strings.TrimPrefix(c.out.Text(), "blocks ")
		children = append(children, c)
	}
	// This process's own jail, alongside.
	r := testRunner(t)
	self := uidOwner{name: "this process", blocks: fmt.Sprint(r.uids.ranges()), marker: uniqueMarker()}
	spec := script(t, jail.Python, "import time; time.sleep(60)")
	spec.Argv = append(spec.Argv, self.marker)
	spec.Limits.Wall, spec.Limits.CPUTime = 60*time.Second, 60*time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = r.Run(ctx, spec) }()

	owners := []*uidOwner{&self, &children[0].uidOwner, &children[1].uidOwner}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		missing := 0
		for _, o := range owners {
			if ps := markedProcesses(o.marker); len(ps) > 0 && o.uid == 0 {
				o.uid = ps[0].uid
			}
			if o.uid == 0 {
				missing++
			}
		}
		if missing == 0 {
			break
		}
	}
	cancel()
	wg.Wait()
	for _, c := range children {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		var last string
		for c.out.Scan() {
			last = c.out.Text()
		}
		if err := c.cmd.Wait(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		// Cancelled once seen: it may not have printed its uid (0) yet.
		if last != `jail internal_error "0\n"` && last != `jail internal_error ""` {
			t.Errorf("%s: jail reported %q, want it cancelled", c.name, last)
		}
	}
	for i, a := range owners {
		if a.uid == 0 {
			t.Errorf("%s: its jail was never seen running", a.name)
			continue
		}
		if !strings.Contains(a.blocks, fmt.Sprintf("[%d %d]", a.uid/uidBlockSize*uidBlockSize, (a.uid/uidBlockSize+1)*uidBlockSize)) {
			t.Errorf("%s: jail ran as host uid %d, outside its blocks %s", a.name, a.uid, a.blocks)
		}
		for _, b := range owners[i+1:] {
			if a.uid/uidBlockSize == b.uid/uidBlockSize {
				t.Errorf("%s (blocks %s) and %s (blocks %s) share the uid block of %d and %d",
					a.name, a.blocks, b.name, b.blocks, a.uid, b.uid)
			}
		}
	}
	for _, o := range owners {
		if ps := markedProcesses(o.marker); len(ps) > 0 {
			t.Errorf("%s: jail processes %v still run", o.name, ps)
		}
	}
}

func TestReapSparesJailsOfALiveProcess(t *testing.T) {
	requireRoot(t)
	testImage(t, jail.Python)
	// `jaild run` and a daemon may share a state dir: the daemon's start-up
	// Reap must leave the other live process's jail alone, and reap it once
	// that process is gone (SIGKILL, so its jail is orphaned).
	state := t.TempDir()
	cg := fmt.Sprintf("/jaild-test-%d-reap", os.Getpid())
	t.Cleanup(func() { _ = removeCgroup(cg) })
	marker := uniqueMarker()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), uidChildEnv+"="+marker, uidChildStateEnv+"="+state, uidChildCgroupEnv+"="+cg)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	out := bufio.NewScanner(stdout)
	if !out.Scan() || !strings.HasPrefix(out.Text(), "blocks ") {
		t.Fatalf("child: first line %q, want its blocks", out.Text())
	}
	for deadline := time.Now().Add(30 * time.Second); len(markedProcesses(marker)) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the other process's jail never started")
		}
	}
	r, err := New(Config{StateDir: state, CgroupParent: cg})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	reaped, err := r.Reap()
	if err != nil || len(reaped) != 0 {
		t.Errorf("Reap with the owner alive = %v, %v; want nothing reaped", reaped, err)
	}
	if len(markedProcesses(marker)) == 0 {
		t.Fatal("Reap killed a jail whose owner is alive")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if len(markedProcesses(marker)) == 0 {
		t.Fatal("the jail died with its owner; this test wants to see the reaper at work")
	}
	reaped, err = r.Reap()
	if err != nil || len(reaped) != 1 {
		t.Errorf("Reap after the owner died = %v, %v; want its one jail", reaped, err)
	}
	if ps := markedProcesses(marker); len(ps) > 0 {
		t.Errorf("orphaned jail processes %v survived Reap", ps)
	}
	for _, sub := range []string{"jails", "work"} {
		if entries, _ := os.ReadDir(filepath.Join(state, sub)); len(entries) > 0 {
			t.Errorf("%s/%s still holds %d entries after Reap", state, sub, len(entries))
		}
	}
}
