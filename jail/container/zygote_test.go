package container

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

// failRunner stands behind Zygotes in tests: a run that reaches it was not
// served by a zygote, which fails the test.
type failRunner struct{ t *testing.T }

func (f failRunner) Run(_ context.Context, spec jail.Spec) (jail.Result, error) {
	f.t.Errorf("run of %q fell back from the zygote", spec.Argv)
	return jail.Result{Status: jail.StatusInternalError, Error: "fell back"}, nil
}

// testZygotes starts Zygotes for tmpls with fallback behind it and closes
// it at the end of the test.
func testZygotes(t *testing.T, fallback jail.Runner, tmpls ...jail.Spec) *Zygotes {
	t.Helper()
	var ts []PoolTemplate
	for _, s := range tmpls {
		ts = append(ts, PoolTemplate{Language: jail.Python, Spec: s})
	}
	zs, err := NewZygotes(testRunner(t), fallback, ts)
	if err != nil {
		t.Fatalf("start zygotes: %v", err)
	}
	t.Cleanup(func() {
		if err := zs.Close(); err != nil {
			t.Errorf("close zygotes: %v", err)
		}
	})
	return zs
}

// runZygote runs spec through zs and checks a zygote's child served it.
func runZygote(t *testing.T, zs *Zygotes, spec jail.Spec) jail.Result {
	t.Helper()
	before := zs.ZygoteStats().Runs
	res, err := zs.Run(context.Background(), spec)
	if err != nil && res.Status != jail.StatusInternalError {
		t.Fatalf("Run returned error %v with status %s", err, res.Status)
	}
	if got := zs.ZygoteStats().Runs; got != before+1 {
		t.Fatalf("zygote runs %d → %d: the run was not a zygote's child (%+v)", before, got, zs.ZygoteStats())
	}
	return res
}

// warmKind is one way of serving a run warm; the pool tests compare each
// with a cold run of the same spec.
type warmKind struct {
	name   string
	serves func(jail.Language) bool
	run    func(t *testing.T, spec jail.Spec) jail.Result
}

// warmKinds starts a pool for langs and, when python is among them, a
// zygote for the pooled python spec.
func warmKinds(t *testing.T, langs ...jail.Language) []warmKind {
	t.Helper()
	p := testPool(t, langs...)
	kinds := []warmKind{{"pool", func(jail.Language) bool { return true },
		func(t *testing.T, s jail.Spec) jail.Result { return runWarm(t, p, s) }}}
	if slices.Contains(langs, jail.Python) {
		zs := testZygotes(t, failRunner{t}, poolSpec(t, jail.Python, "pass"))
		kinds = append(kinds, warmKind{"zygote", func(l jail.Language) bool { return l == jail.Python },
			func(t *testing.T, s jail.Spec) jail.Result { return runZygote(t, zs, s) }})
	}
	return kinds
}

// TestHostileScriptsZygote runs every python attack of the hostile suite
// in children of one zygote, concurrently, with the same verdicts and host
// checks as TestHostileScripts (the target stays a cold jail).
func TestHostileScriptsZygote(t *testing.T) {
	var cases []hostileCase
	for _, c := range loadHostile(t) {
		if c.lang == jail.Python {
			cases = append(cases, c)
		}
	}
	r := testRunner(t)
	py := testImage(t, jail.Python)
	env := newHostileEnv(t, py.Path)
	entry := policy.DefaultEntrypoint(jail.Python)
	argv, err := policy.Command(jail.Python, py.Interpreter, entry, nil)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := jail.Spec{Rootfs: jail.Rootfs{Name: py.Name, Digest: py.Digest, Path: py.Path}, Argv: argv,
		Env: policy.BaseEnv(jail.Python), Limits: jail.DefaultLimits(), Seccomp: policy.DefaultSeccomp()}
	zs := testZygotes(t, r, tmpl)
	attackAll(t, r, zs, env, cases)
	st := zs.ZygoteStats()
	t.Logf("zygote stats: %+v (%d python cases)", st, len(cases))
	if st.Fallbacks != 0 || st.Runs+st.Ineligible != uint64(len(cases)) || st.Runs < uint64(len(cases))*3/4 {
		t.Errorf("zygote served %d of %d cases (%d ineligible, %d fell back)", st.Runs, len(cases), st.Ineligible, st.Fallbacks)
	}
}

// TestZygoteSiblingsAreIsolated runs a child that keeps secrets in /tmp,
// /dev/shm, /work and an abstract socket, and then, while it lives, a
// sibling of the same zygote (same host uid) that looks for them, for
// the first child's processes, and signals everything it can: every
// process it may (kill -1), and its process group (kill 0), which would
// be the zygote's and every run's had the child not made a session of its
// own. The holder and the zygote must come through untouched.
func TestZygoteSiblingsAreIsolated(t *testing.T) {
	zs := testZygotes(t, failRunner{t}, poolSpec(t, jail.Python, "pass"))
	holder := poolSpec(t, jail.Python, `import os, socket, time, sys
for p in ("/tmp/secret", "/dev/shm/secret", "/work/secret"):
    open(p, "w").write("s3cret")
s = socket.socket(socket.AF_UNIX); s.bind("\0jaild-sibling"); s.listen(1)
print("READY", flush=True)
s.settimeout(5)
try:
    s.accept(); print("CONNECTED")
except OSError:
    pass
print(open("/tmp/secret").read())
`)
	ready := make(chan struct{})
	holder.Output = func(s jail.Stream, p []byte) {
		if strings.Contains(string(p), "READY") {
			close(ready)
		}
	}
	done := make(chan jail.Result, 1)
	go func() {
		res, _ := zs.Run(context.Background(), holder)
		done <- res
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("holder never got ready")
	}
	prober := poolSpec(t, jail.Python, `import os, signal, socket
signal.signal(signal.SIGUSR1, signal.SIG_IGN); signal.signal(signal.SIGINT, signal.SIG_IGN)
seen = {"tmp": os.listdir("/tmp"), "shm": os.listdir("/dev/shm"), "work": sorted(os.listdir("/work")),
        "procs": sorted(p for p in os.listdir("/proc") if p.isdigit()), "pgrp": [os.getpgrp(), os.getsid(0)]}
os.kill(0, signal.SIGUSR1); os.kill(0, signal.SIGINT); os.setpriority(os.PRIO_PGRP, 0, 19)
try:
    c = socket.socket(socket.AF_UNIX); c.connect("\0jaild-sibling"); seen["connect"] = "connected"
except OSError as e:
    seen["connect"] = e.errno
try:
    os.kill(-1, signal.SIGKILL); seen["kill"] = "sent"
except OSError as e:
    seen["kill"] = e.errno
print(seen)
`)
	res, err := zs.Run(context.Background(), prober)
	if err != nil {
		t.Fatal(err)
	}
	// kill(-1) in a PID namespace whose only process is the caller finds
	// nothing to signal: ESRCH (3). Connecting to a name nobody bound in
	// this network namespace: ECONNREFUSED (111).
	want := "{'tmp': [], 'shm': [], 'work': ['main.py'], 'procs': ['1'], 'pgrp': [1, 1], 'connect': 111, 'kill': 3}\n"
	if res.Status != jail.StatusOK || string(res.Stdout) != want {
		t.Errorf("prober: %s %q (stderr %q), want ok %q", res.Status, res.Stdout, res.Stderr, want)
	}
	h := <-done
	if h.Status != jail.StatusOK || string(h.Stdout) != "READY\ns3cret\n" {
		t.Errorf("holder: %s %q (stderr %q), want it untouched", h.Status, h.Stdout, h.Stderr)
	}
	if st := zs.ZygoteStats(); st.Starts != 1 || st.Zygotes != 1 {
		t.Errorf("zygote stats %+v: the zygote was hit and restarted", st)
	}
	if res := runZygote(t, zs, poolSpec(t, jail.Python, "import os; print(os.getpriority(os.PRIO_PROCESS, 0))")); string(res.Stdout) != "0\n" {
		t.Errorf("a run after the prober: %s %q %q, want nice 0", res.Status, res.Stdout, res.Stderr)
	}
}

// TestZygoteSetTemplates: a key that stays keeps its zygote, a key that
// goes has its zygote closed and its specs run elsewhere, a new key gets
// a zygote; a template that cannot have one is named in the error.
func TestZygoteSetTemplates(t *testing.T) {
	cold := testRunner(t)
	a := poolSpec(t, jail.Python, "print('a')")
	zs := testZygotes(t, cold, a)
	runZygote(t, zs, a)
	var old *zygote
	for _, s := range zs.keys { // the only one
		old = s.z
	}

	// The same template again, with other per-run limits: same key.
	a2 := a
	a2.Limits.Memory *= 2
	if err := zs.SetTemplates([]PoolTemplate{{Language: jail.Python, Spec: a2}}); err != nil {
		t.Fatal(err)
	}
	if st := zs.ZygoteStats(); st.Starts != 1 {
		t.Errorf("starts %d after a reload that keeps the key, want 1", st.Starts)
	}
	runZygote(t, zs, a)

	b := poolSpec(t, jail.Python, "print('b')")
	b.Hostname = "other"
	withKeys := b
	withKeys.Seccomp = policy.DefaultSeccomp()
	withKeys.Seccomp.Syscalls = append(withKeys.Seccomp.Syscalls, specs.LinuxSyscall{Names: []string{"keyctl"}, Action: specs.ActAllow})
	withKeys.Hostname = "keys"
	err := zs.SetTemplates([]PoolTemplate{{Language: jail.Python, Spec: b}, {Language: jail.Python, Profile: "keys", Spec: withKeys}})
	if err == nil || !strings.Contains(err.Error(), "keyctl") {
		t.Errorf("SetTemplates with a keyctl profile: %v, want an error naming keyctl", err)
	}
	if old.alive() {
		t.Error("the retired key's zygote is still alive")
	}
	before := zs.ZygoteStats()
	if res, err := zs.Run(context.Background(), a); err != nil || string(res.Stdout) != "a\n" {
		t.Errorf("run of the retired key: %v %s %q", err, res.Status, res.Stdout)
	}
	if res := runZygote(t, zs, b); string(res.Stdout) != "b\n" {
		t.Errorf("run of the new key: %s %q %q", res.Status, res.Stdout, res.Stderr)
	}
	if st := zs.ZygoteStats(); st.Ineligible != before.Ineligible+1 || st.Zygotes != 1 {
		t.Errorf("stats %+v → %+v: want the retired key's run ineligible and one zygote", before, st)
	}
}

// TestZygoteRestart: a zygote that dies (here SIGKILLed from the host) is
// replaced on the next run, which it serves; its jail is torn down.
func TestZygoteRestart(t *testing.T) {
	zs := testZygotes(t, failRunner{t}, poolSpec(t, jail.Python, "pass"))
	runZygote(t, zs, poolSpec(t, jail.Python, "pass"))
	var z *zygote
	for _, s := range zs.keys { // the only one
		z = s.z
	}
	if err := z.j.ct.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-z.dead:
	case <-time.After(slack(10 * time.Second)):
		t.Fatal("the killed zygote was not seen to die")
	}
	if res := runZygote(t, zs, poolSpec(t, jail.Python, "print('again')")); string(res.Stdout) != "again\n" {
		t.Errorf("run after the zygote died: %s %q %q", res.Status, res.Stdout, res.Stderr)
	}
	if st := zs.ZygoteStats(); st.Starts != 2 || st.Zygotes != 1 {
		t.Errorf("stats %+v, want a second start and one zygote running", st)
	}
	if _, live := z.r.live.Load(z.j.id); live {
		t.Errorf("the dead zygote's jail %s is still the runner's", z.j.id)
	}
}

// TestRemoveCgroupZygoteChild: the reaper's removeCgroup, given a live
// zygote child's cgroup (on v1 it has none in devices or freezer, which
// the cgroup manager's Exists, GetAllPids and Freeze read), kills the
// child and removes the cgroup. A runner of its own, so that every jail
// it has is this test's, and its log in the test's output.
func TestRemoveCgroupZygoteChild(t *testing.T) {
	requireRoot(t)
	cg := fmt.Sprintf("/jaild-test-%d-removecgroup", os.Getpid())
	r, err := New(Config{StateDir: t.TempDir(), CgroupParent: cg,
		Logger: slog.New(slog.NewTextHandler(testLogWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); _ = removeCgroup(cg) })
	zs, err := NewZygotes(r, failRunner{t}, []PoolTemplate{{Language: jail.Python, Spec: poolSpec(t, jail.Python, "pass")}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = zs.Close() })
	wantStatus(t, runZygote(t, zs, poolSpec(t, jail.Python, "pass")), jail.StatusOK) // the zygote is up
	before := map[string]bool{}
	r.live.Range(func(k, _ any) bool { before[k.(string)] = true; return true })
	memDir := func(id string) string {
		if r.mode.v2 {
			return filepath.Join("/sys/fs/cgroup", r.cgroupPath(id))
		}
		return filepath.Join("/sys/fs/cgroup/memory", r.cgroupPath(id))
	}
	type outcome struct {
		res jail.Result
		err error
	}
	done := make(chan outcome, 1)
	// The child is looked for once its script has printed: earlier, it
	// would be killed in its setup, and its run fall back.
	up := make(chan struct{})
	var once sync.Once
	spec := poolSpec(t, jail.Python, "import time\nprint('up', flush=True)\ntime.sleep(5)\nprint('slept')")
	spec.Output = func(_ jail.Stream, _ []byte) { once.Do(func() { close(up) }) }
	go func() {
		res, err := zs.Run(context.Background(), spec)
		done <- outcome{res, err}
	}()
	select {
	case <-up:
	case o := <-done:
		t.Fatalf("the run ended before its script printed: %s %v %q", o.res.Status, o.err, o.res.Error)
	}
	var child string
	for i := 0; i < 1000 && child == ""; i++ {
		time.Sleep(10 * time.Millisecond)
		r.live.Range(func(k, _ any) bool {
			id := k.(string)
			if procs, err := os.ReadFile(filepath.Join(memDir(id), "cgroup.procs")); !before[id] && err == nil && len(procs) > 0 {
				child = id
			}
			return child == ""
		})
	}
	if child == "" {
		o := <-done
		t.Fatalf("no zygote child with tasks in a cgroup of its own found; the run: %s %v %q", o.res.Status, o.err, o.res.Error)
	}
	start := time.Now()
	if err := removeCgroup(r.cgroupPath(child)); err != nil {
		t.Errorf("removeCgroup: %v", err)
	}
	if exists(memDir(child)) {
		t.Errorf("child cgroup %s still there after removeCgroup", memDir(child))
	}
	select {
	case o := <-done:
		if strings.Contains(string(o.res.Stdout), "slept") {
			t.Errorf("the child was not killed: %s %q", o.res.Status, o.res.Stdout)
		}
		t.Logf("removed in %v; run: %s %q", time.Since(start), o.res.Status, o.res.Stdout)
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end after its cgroup was removed")
	}
}

// testLogWriter sends a logger's lines to the test's log.
type testLogWriter struct{ t *testing.T }

func (w testLogWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestZygoteFrameHoldsNoOtherRun: a script runs below the zygote's own
// frame, whose locals it can read; none of them may come from another
// run (the wait status of the run the zygote reaped last was one).
func TestZygoteFrameHoldsNoOtherRun(t *testing.T) {
	zs := testZygotes(t, failRunner{t}, poolSpec(t, jail.Python, "pass"))
	first := runZygote(t, zs, poolSpec(t, jail.Python, "raise SystemExit(42)"))
	wantStatus(t, first, jail.StatusExitNonzero)
	res := runZygote(t, zs, poolSpec(t, jail.Python, `import sys
f, seen = sys._getframe(), []
while f is not None:
    seen += [(f.f_code.co_name, k, v) for k, v in f.f_locals.items() if type(v) is int and v == 42 << 8]
    f = f.f_back
print(seen)`))
	wantStatus(t, res, jail.StatusOK)
	if string(res.Stdout) != "[]\n" {
		t.Errorf("the previous run's wait status is visible: %s", res.Stdout)
	}
}
