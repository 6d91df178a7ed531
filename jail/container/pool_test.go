package container

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

// poolLimits are shared by every pooled test spec so that they all map to
// one key per language.
func poolLimits() jail.Limits {
	l := jail.DefaultLimits()
	// CPU time stretches with JAILD_TEST_TIME_SCALE: a cold run's budget
	// covers the interpreter's start, seconds under QEMU's emulation (a
	// cold node there takes 2-4 s of CPU for a small script).
	l.Wall, l.CPUTime, l.Memory, l.Pids = 20*time.Second, 1500*time.Millisecond*timeScale, 96<<20, 32
	return l
}

func poolSpec(t *testing.T, lang jail.Language, code string) jail.Spec {
	t.Helper()
	s := script(t, lang, code)
	s.Limits = poolLimits()
	return s
}

// testPool starts a pool of size 1 per language and closes it at the end.
func testPool(t *testing.T, langs ...jail.Language) *Pool {
	t.Helper()
	var tmpls []PoolTemplate
	for _, l := range langs {
		tmpls = append(tmpls, PoolTemplate{Language: l, Spec: poolSpec(t, l, "pass")})
	}
	p, err := NewPool(testRunner(t), PoolConfig{Templates: tmpls, Size: 1, MaxSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// runWarm waits until a jail is parked for spec's key, runs spec and
// checks the run was a hit.
func runWarm(t *testing.T, p *Pool, spec jail.Spec) jail.Result {
	t.Helper()
	waitParkedFor(t, p, jail.Language(spec.Rootfs.Name))
	before := p.Stats().Hits
	res, err := p.Run(context.Background(), spec)
	if err != nil && res.Status != jail.StatusInternalError {
		t.Fatalf("Run returned error %v with status %s", err, res.Status)
	}
	if got := p.Stats().Hits; got != before+1 {
		t.Fatalf("hits %d → %d: the run was not served warm (%+v)", before, got, p.Stats())
	}
	return res
}

func TestPoolVerdictsMatchCold(t *testing.T) {
	for _, k := range warmKinds(t, jail.Python) {
		t.Run(k.name, func(t *testing.T) { testVerdictsMatchCold(t, k) })
	}
}

func testVerdictsMatchCold(t *testing.T, k warmKind) {
	for _, tc := range []struct {
		name, code string
		want       jail.Status
	}{
		{"ok", "print('hi')", jail.StatusOK},
		{"exit_nonzero", "import sys; sys.exit(3)", jail.StatusExitNonzero},
		{"exit 83", "import sys; sys.exit(83)", jail.StatusExitNonzero}, // 83 is 'S
		{"exception", "raise ValueError('boom')", jail.StatusExitNonzero},
		{"syntax error", "def (:", jail.StatusExitNonzero},
		{"timeout", "import time; time.sleep(30)", jail.StatusTimeout}, // wall 1 s below
		{"oom", "x = bytearray(1 << 30)", jail.StatusOOM},
		{"cpu_limit", "while True: pass", jail.StatusCPULimit},
		{"signaled", "import ctypes; ctypes.string_at(0)", jail.StatusSignaled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := poolSpec(t, jail.Python, tc.code)
			if tc.want == jail.StatusTimeout {
				spec.Limits.Wall = time.Second // not part of the key
			}
			cold := runJail(t, spec)
			warm := k.run(t, spec)
			wantStatus(t, cold, tc.want)
			wantStatus(t, warm, tc.want)
			if cold.ExitCode != warm.ExitCode || cold.Signal != warm.Signal {
				t.Errorf("cold exit %d signal %q, warm exit %d signal %q", cold.ExitCode, cold.Signal, warm.ExitCode, warm.Signal)
			}
			if string(cold.Stderr) != string(warm.Stderr) {
				t.Errorf("traceback differs:\ncold %q\nwarm %q", cold.Stderr, warm.Stderr)
			}
		})
	}
}

// TestPoolLooksCold compares what a script can see of its own process in
// a cold and a warm run: argv, environment, main module, sys.path, the
// modules loaded and the working directory must be equal.
func TestPoolLooksCold(t *testing.T) {
	for _, k := range warmKinds(t, jail.Python, jail.Node) {
		t.Run(k.name, func(t *testing.T) { testLooksCold(t, k) })
	}
}

func testLooksCold(t *testing.T, k warmKind) {
	for _, tc := range []struct {
		lang jail.Language
		code string
	}{
		{jail.Python, `import sys, os, json
print(json.dumps({"argv": sys.argv, "orig": sys.orig_argv, "env": dict(os.environ), "path0": sys.path[0],
  "main": sorted(k for k in globals() if k not in ("sys", "os", "json")), "file": __file__, "name": __name__,
  "mods": sorted(m for m in sys.modules if m != "json" and not m.startswith("json.")),
  "cwd": os.getcwd(), "stdin": sys.stdin.read(), "fds": sorted(os.listdir("/proc/self/fd"))}))`},
		{jail.Node, `const fs = require('fs');
console.log(JSON.stringify({argv: process.argv, execArgv: process.execArgv, env: process.env,
  globals: Object.keys(globalThis), main: require.main === module, file: __filename, eval: process._eval,
  cwd: process.cwd(), stdin: fs.readFileSync(0, 'utf8'), fds: fs.readdirSync('/proc/self/fd').length}))`},
	} {
		if !k.serves(tc.lang) {
			continue
		}
		t.Run(string(tc.lang), func(t *testing.T) {
			spec := poolSpec(t, tc.lang, tc.code)
			spec.Argv = append(spec.Argv, "a b", "")
			spec.Env = append(spec.Env, "MODE=test", "HOME=/work")
			spec.Stdin = []byte("input")
			cold, warm := runJail(t, spec), k.run(t, spec)
			wantStatus(t, cold, jail.StatusOK)
			wantStatus(t, warm, jail.StatusOK)
			var c, w map[string]any
			if err := json.Unmarshal(cold.Stdout, &c); err != nil {
				t.Fatalf("cold output %q: %v", cold.Stdout, err)
			}
			if err := json.Unmarshal(warm.Stdout, &w); err != nil {
				t.Fatalf("warm output %q (stderr %q): %v", warm.Stdout, warm.Stderr, err)
			}
			for k, cv := range c {
				if fmt.Sprint(cv) != fmt.Sprint(w[k]) {
					t.Errorf("%s: cold %v\nwarm %v", k, cv, w[k])
				}
			}
		})
	}
}

// TestPoolRunsAreIsolated runs successive scripts through one pool key:
// each must find a fresh /tmp and /work, only its own environment, fresh
// interpreter state and no process of the run before.
func TestPoolRunsAreIsolated(t *testing.T) {
	for _, k := range warmKinds(t, jail.Python, jail.Node) {
		t.Run(k.name, func(t *testing.T) { testRunsAreIsolated(t, k) })
	}
}

func testRunsAreIsolated(t *testing.T, k warmKind) {
	py := `import os, sys, subprocess, builtins
seen = {"tmp": sorted(os.listdir("/tmp")), "work": sorted(os.listdir("/work")),
        "env": os.environ.get("SECRET"), "mod": "jaild_mark" in sys.modules,
        "builtin": hasattr(builtins, "jaild_mark"), "procs": sorted(p for p in os.listdir("/proc") if p.isdigit())}
print(seen)
open("/tmp/mark", "w").write("x"); open("/work/mark", "w").write("x")
sys.modules["jaild_mark"] = sys; builtins.jaild_mark = 1
sys.stdout.flush()
if os.fork() == 0:
    import time; time.sleep(60)
`
	js := `const fs = require('fs');
console.log(JSON.stringify({tmp: fs.readdirSync('/tmp'), env: process.env.SECRET || null, mark: globalThis.jaildMark || null}));
fs.writeFileSync('/tmp/mark', 'x'); globalThis.jaildMark = 1;`
	for _, tc := range []struct {
		lang      jail.Language
		code      string
		wantFirst string
	}{
		{jail.Python, py, "{'tmp': [], 'work': ['main.py'], 'env': 'run1', 'mod': False, 'builtin': False, 'procs': ['1']}\n"},
		{jail.Node, js, `{"tmp":[],"env":"run1","mark":null}` + "\n"},
	} {
		if !k.serves(tc.lang) {
			continue
		}
		t.Run(string(tc.lang), func(t *testing.T) {
			for i := 1; i <= 3; i++ {
				spec := poolSpec(t, tc.lang, tc.code)
				spec.Env = append(spec.Env, fmt.Sprintf("SECRET=run%d", i))
				res := k.run(t, spec)
				wantStatus(t, res, jail.StatusOK)
				want := strings.ReplaceAll(tc.wantFirst, "run1", fmt.Sprintf("run%d", i))
				if got := string(res.Stdout); got != want {
					t.Errorf("run %d saw %q, want %q", i, got, want)
				}
			}
		})
	}
}

// TestPoolUsageIsTheRunsOwn: the interpreter's warm-up is not charged to
// the run. A warm `pass` must report less CPU than a cold one, and a run
// that allocates 64 MiB must report a peak above it.
func TestPoolUsageIsTheRunsOwn(t *testing.T) {
	p := testPool(t, jail.Node)
	spec := poolSpec(t, jail.Node, "0")
	var coldCPU, warmCPU time.Duration
	for range 3 {
		cold := runJail(t, spec)
		warm := runWarm(t, p, spec)
		wantStatus(t, cold, jail.StatusOK)
		wantStatus(t, warm, jail.StatusOK)
		coldCPU += cold.CPU
		warmCPU += warm.CPU
	}
	if warmCPU >= coldCPU {
		t.Errorf("warm CPU %v ≥ cold CPU %v over 3 runs: the warm-up is charged to the run", warmCPU, coldCPU)
	}
	big := runWarm(t, p, poolSpec(t, jail.Node, "const b = Buffer.alloc(64 << 20, 1); console.log(b[7])"))
	wantStatus(t, big, jail.StatusOK)
	if big.MemoryPeak < 64<<20 {
		t.Errorf("peak %d after allocating 64 MiB, want ≥ 64 MiB", big.MemoryPeak)
	}
}

// TestPoolExitLooksCold: what an interpreter does at exit, atexit
// handlers, finalizers of the script's objects (cycles included, which
// only the final collections free) and the flush of its output, prints
// the same warm as cold.
func TestPoolExitLooksCold(t *testing.T) {
	for _, k := range warmKinds(t, jail.Python, jail.Node) {
		t.Run(k.name, func(t *testing.T) { testExitLooksCold(t, k) })
	}
}

func testExitLooksCold(t *testing.T, k warmKind) {
	for _, tc := range []struct {
		lang jail.Language
		code string
		want jail.Status
		exit int
		outs []string // in the cold run's stdout, in this order
	}{
		{jail.Python, `import atexit, gc, sys
class D:
    def __init__(s, n): s.n = n
    def __del__(s): print("del", s.n)
a = D("global")
b = D("cycle"); b.self = b
import os; os.jaild_d = D("start-up module")  # freed late: a frozen heap would lose the two above
atexit.register(lambda: print("atexit"))
print("gc", gc.isenabled(), gc.get_threshold(), gc.collect() >= 0)
sys.stdout.write("unflushed")`, jail.StatusOK, 0, []string{"gc True", "unflushed", "atexit", "del global", "del cycle", "del start-up module"}},
		{jail.Node, `process.on('beforeExit', () => { if (!globalThis.again) { globalThis.again = 1; setTimeout(() => console.log('later'), 1); } });
process.on('exit', (c) => { console.log('exit', c, process.exitCode); });
process.exitCode = 3;
process.stdout.write('unflushed');`, jail.StatusExitNonzero, 3, []string{"unflushed", "later", "exit 3 3"}},
	} {
		if !k.serves(tc.lang) {
			continue
		}
		t.Run(string(tc.lang), func(t *testing.T) {
			spec := poolSpec(t, tc.lang, tc.code)
			cold, warm := runJail(t, spec), k.run(t, spec)
			if cold.Status != warm.Status || cold.ExitCode != warm.ExitCode || string(cold.Stdout) != string(warm.Stdout) ||
				string(cold.Stderr) != string(warm.Stderr) {
				t.Errorf("cold %s %d %q %q\nwarm %s %d %q %q", cold.Status, cold.ExitCode, cold.Stdout, cold.Stderr,
					warm.Status, warm.ExitCode, warm.Stdout, warm.Stderr)
			}
			// The comparison means something only if the exit did its work.
			if cold.Status != tc.want || cold.ExitCode != tc.exit {
				t.Errorf("cold run %s exit %d, want %s exit %d", cold.Status, cold.ExitCode, tc.want, tc.exit)
			}
			rest := string(cold.Stdout)
			for _, o := range tc.outs {
				i := strings.Index(rest, o)
				if i < 0 {
					t.Errorf("cold stdout %q: %q missing or out of order", cold.Stdout, o)
					break
				}
				rest = rest[i+len(o):]
			}
		})
	}
}

// TestPoolMemoryPeak: a warm run's reported peak covers what its script
// touched, read from the parked jail's own cgroup (v1 max_usage_in_bytes,
// v2 memory.peak: reset at hand-over from Linux 6.12, the jail's lifetime
// peak before), and a run that touches little reports far less.
func TestPoolMemoryPeak(t *testing.T) {
	for _, k := range warmKinds(t, jail.Python) {
		t.Run(k.name, func(t *testing.T) { testMemoryPeak(t, k) })
	}
}

func testMemoryPeak(t *testing.T, k warmKind) {
	small := k.run(t, poolSpec(t, jail.Python, "pass"))
	big := k.run(t, poolSpec(t, jail.Python,
		"b = bytearray(64 << 20)\nb[::4096] = b'\\x01' * len(range(0, len(b), 4096))\nprint(b[4096])"))
	wantStatus(t, small, jail.StatusOK)
	wantStatus(t, big, jail.StatusOK)
	if string(big.Stdout) != "1\n" {
		t.Fatalf("stdout %q, want 1", big.Stdout)
	}
	if big.MemoryPeak < 64<<20 {
		t.Errorf("peak %d after touching 64 MiB, want ≥ 64 MiB", big.MemoryPeak)
	}
	if small.MemoryPeak == 0 || small.MemoryPeak >= 48<<20 {
		t.Errorf("peak %d for pass, want above 0 and far below 64 MiB", small.MemoryPeak)
	}
}

// TestPoolIneligibleRunsCold: a spec whose limits differ from every key
// runs cold, correctly, and is counted.
func TestPoolIneligibleRunsCold(t *testing.T) {
	p := testPool(t, jail.Python)
	spec := poolSpec(t, jail.Python, "print(6*7)")
	spec.Limits.Memory += 1 << 20
	before := p.Stats()
	res, err := p.Run(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, jail.StatusOK)
	after := p.Stats()
	if string(res.Stdout) != "42\n" || after.Ineligible != before.Ineligible+1 || after.Hits != before.Hits {
		t.Errorf("stdout %q, stats %+v → %+v: want a cold, ineligible run", res.Stdout, before, after)
	}
}

// TestPoolClosedAndReaped: Close destroys parked jails.
func TestPoolClosed(t *testing.T) {
	r := testRunner(t)
	tmpl := []PoolTemplate{{Language: jail.Python, Spec: poolSpec(t, jail.Python, "pass")}}
	p, err := NewPool(r, PoolConfig{Templates: tmpl, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	waitParked(t, p, 2)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if leaks := leftovers(); len(leaks) > 0 {
		t.Fatalf("after Close: %v", leaks)
	}
	// After a SIGKILL of the daemon the next one's Reap removes parked
	// jails like any other: cmd/jaild TestE2EWarmPool.
}

func waitParked(t *testing.T, p *Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Parked < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d parked after 30 s, want %d: %+v", p.Stats().Parked, n, p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitParkedFor waits until a jail of lang's key is parked.
func waitParkedFor(t *testing.T, p *Pool, lang jail.Language) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		for _, k := range p.Stats().Keys {
			if k.Language == lang && k.Parked > 0 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s jail parked after 30 s: %+v", lang, p.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPoolAdapts: a miss raises the key's target to MaxSize; once idle the
// target falls back to Size and the extra parked jails are destroyed.
func TestPoolAdapts(t *testing.T) {
	tmpl := []PoolTemplate{{Language: jail.Python, Spec: poolSpec(t, jail.Python, "pass")}}
	// IdleShrink must outlast the two runs (a cold one among them, which
	// takes 300 ms and more on a loaded 2-vCPU host) for the raised target
	// to still be there when they return.
	p, err := NewPool(testRunner(t), PoolConfig{Templates: tmpl, Size: 1, MaxSize: 2, IdleShrink: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	spec := poolSpec(t, jail.Python, "print(1)")
	// Two runs at once: the second finds the pool empty.
	done := make(chan jail.Result, 2)
	waitParked(t, p, 1)
	for range 2 {
		go func() { r, _ := p.Run(context.Background(), spec); done <- r }()
	}
	for range 2 {
		wantStatus(t, <-done, jail.StatusOK)
	}
	if st := p.Stats(); st.Misses == 0 || st.Keys[0].Target != 2 {
		t.Fatalf("after a miss: %+v, want target 2", st)
	}
	waitParked(t, p, 2)
	deadline := time.Now().Add(30 * time.Second)
	for st := p.Stats(); st.Keys[0].Target != 1 || st.Parked != 1; st = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("idle pool did not shrink back: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestPoolSetTemplates: a key that stays keeps its parked jail and gains
// the new template's profile; a key that goes has its parked jail
// destroyed and matches no run; a template that cannot be pooled is named
// in the error and the rest are applied.
func TestPoolSetTemplates(t *testing.T) {
	a := poolSpec(t, jail.Python, "pass")
	b := poolSpec(t, jail.Python, "pass")
	b.Limits.Pids = 31 // another key of the same language and rootfs
	p, err := NewPool(testRunner(t), PoolConfig{Templates: []PoolTemplate{{Language: jail.Python, Profile: "a", Spec: a}}, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitParked(t, p, 1)
	refills := p.Stats().Refills

	noFilter := a
	noFilter.Seccomp = nil
	err = p.SetTemplates([]PoolTemplate{{Language: jail.Python, Profile: "a2", Spec: a},
		{Language: jail.Python, Profile: "b", Spec: b}, {Language: jail.Python, Profile: "bad", Spec: noFilter}})
	if err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("SetTemplates with an unpoolable template = %v, want an error naming it", err)
	}
	waitParked(t, p, 2)
	st := p.Stats()
	profiles := map[string]int{}
	for _, k := range st.Keys {
		profiles[strings.Join(k.Profiles, ",")] = k.Parked
	}
	if len(st.Keys) != 2 || profiles["a2"] != 1 || profiles["b"] != 1 {
		t.Errorf("keys after adding b: %+v, want a2 and b with one parked jail each", st.Keys)
	}
	if st.Refills != refills+1 {
		t.Errorf("%d jails built for the new templates, want 1 (a's key kept its jail)", st.Refills-refills)
	}

	if err := p.SetTemplates([]PoolTemplate{{Language: jail.Python, Profile: "b", Spec: b}}); err != nil {
		t.Fatal(err)
	}
	if st := p.Stats(); len(st.Keys) != 1 || st.Parked != 1 || st.Keys[0].Profiles[0] != "b" {
		t.Errorf("keys after retiring a: %+v, want only b's", st.Keys)
	}
	run := poolSpec(t, jail.Python, "print(1)")
	before := p.Stats()
	res, err := p.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, jail.StatusOK)
	if after := p.Stats(); after.Ineligible != before.Ineligible+1 || after.Hits != before.Hits {
		t.Errorf("a run of the retired key's spec: %+v, want one ineligible cold run", after)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if leaks := leftovers(); len(leaks) > 0 {
		t.Fatalf("after Close: %v", leaks)
	}
}

// TestPythonExitPath: a warm python run leaves with os._exit when its
// exit cannot show anything a finalizing exit would (pythonExit), and
// through the interpreter's finalization otherwise; either way what the
// caller gets is what a cold run gives. The fast exit is seen through
// exitTrace's mark on stderr, which the comparison with cold leaves out.
func TestPythonExitPath(t *testing.T) {
	exitTrace = true
	t.Cleanup(func() { exitTrace = false })
	kinds := warmKinds(t, jail.Python) // made after exitTrace is set
	const del = "class D:\n    def __del__(s): print('del')\n"
	const zygoteDiffers = "gc.freeze by the script"
	// 1.25M lists near the 96 MiB limit: ~0.3 s of CPU here, more than the
	// cold run's budget under test-vm's emulation, so only where it fits.
	const nearLimit = "near the memory limit"
	for _, tc := range []struct {
		name, code string
		fast       bool
		exit       int
		out        string // in the cold run's stdout or stderr
	}{
		{"print", "print(1)", true, 0, "1\n"},
		{"imports", "import json, re, collections, typing, dataclasses, math, random, itertools, functools, logging, enum, threading\nprint(json.dumps({'a': re.sub('b', 'c', 'ab')}))", true, 0, `{"a": "ac"}`},
		{"many objects", "x = [{'k': i} for i in range(50000)]\nprint(len(x))", true, 0, "50000"},
		// Past exit_.most objects made, the look's own list (8 bytes each)
		// could take a run near its memory limit over it: it finalizes.
		{nearLimit, "x = [[] for _ in range(1250000)]\nprint(len(x))", false, 0, "1250000"},
		{"more objects than the look takes", "x = [{'k': i} for i in range(200000)]\nprint(len(x))", false, 0, "200000"},
		{"unflushed", "import sys\nsys.stdout.write('no newline')", true, 0, "no newline"},
		{"sys.exit(3)", "import sys\nprint('x')\nsys.exit(3)", true, 3, "x"},
		{"exception", "def f():\n    raise ValueError('boom')\nf()", true, 1, "ValueError: boom"},
		{"exception keeps its frames", del + "import atexit\natexit.register(print, 'atexit')\ndef f():\n    d = D()\n    raise ValueError('boom')\nf()", false, 1, "atexit\ndel\n"},
		{"logging", "import logging\nlogging.basicConfig()\nlogging.warning('careful')", true, 0, "WARNING:root:careful"},
		{"atexit", "import atexit\natexit.register(print, 'at exit')", true, 0, "at exit"},
		// A thread still running when the script ends: the interpreter
		// joins it and finalizes.
		{"thread to join", "import threading, time\nthreading.Thread(target=lambda: (time.sleep(0.05), print('thread'))).start()", false, 0, "thread"},
		{"threading imported", "import threading\nprint(threading.active_count())", true, 0, "1"},
		{"closed file", "with open('/tmp/f', 'w') as f:\n    f.write('a')\nprint(open('/tmp/f').read())", true, 0, "a"},
		{"finished generator", "def g():\n    yield 1\nx = g()\nprint(list(x))", true, 0, "[1]"},
		{"sys.exit(message)", "import sys\nsys.exit('bye')", false, 1, "bye"},
		{"__del__", del + "d = D()", false, 0, "del"},
		{"class with __del__", del, true, 0, ""},
		{"suspended generator", "def g():\n    try:\n        yield 1\n    finally:\n        print('finally')\nx = g()\nnext(x)", false, 0, "finally"},
		{"coroutine never awaited", "async def c():\n    pass\nx = c()", false, 0, ""},
		{"open file", "f = open('/tmp/f', 'w')\nf.write('a')", false, 0, ""},
		{"stdout as a file", "import os\nout = os.fdopen(1, 'w')\nout.write('via fdopen')", false, 0, "via fdopen"},
		{"weakref callback", "import weakref\nclass C: pass\nc = C()\nr = weakref.ref(c, lambda r: print('callback'))", false, 0, ""},
		{"start-up class given __del__", "import os\nos._Environ.__del__ = lambda s: print('environ del')", false, 0, ""},
		// A cold interpreter does not finalize what the script froze; a
		// zygote's child does (see zygoteDiffers).
		{"gc.freeze by the script", del + "import gc\nd = D()\ngc.freeze()", false, 0, ""},
		// The exits that do not go through exit_ still unfreeze the heap.
		{"sys.exit(message) with __del__", del + "import sys\nd = D()\nsys.exit('bye')", false, 1, "del"},
		{"sys.exit(256) with __del__", del + "import sys\nd = D(); d.me = d\nsys.exit(256)", false, 0, "del"},
		// The loader's own code must not see the script's names.
		{"script names builtins", "type = 'x'\nany = True\ndef list(*a): print('my list', *a)\nid = len = None\nprint('ok')", true, 0, "ok"},
		{"script replaces os._exit", "import os\nos._exit = lambda c: print('mocked', c)\nprint('ok')", true, 0, "ok"},
		{"start-up object given a class with __del__", "import os\nclass E(type(os.environ)):\n    def __del__(s): print('E del')\nos.environ.__class__ = E", false, 0, ""},
		{"trace function", "import sys\nsys.settrace(lambda f, e, a: print('trace', e, f.f_code.co_name))\nprint('ok')", false, 0, "ok"},
		{"signal handler", "import signal\nsignal.signal(signal.SIGUSR1, lambda *a: print('usr1'))\nprint('ok')", false, 0, "ok"},
		{"gc.unfreeze by the script", "import gc\ngc.unfreeze()\nprint(1)", false, 0, "1"},
		{"daemon thread", "import threading, time\nthreading.Thread(target=time.sleep, args=(30,), daemon=True).start()", false, 0, ""},
		{"stdout replaced", "import sys\nsys.stdout = sys.stderr\nprint('to stderr')", false, 0, "to stderr"},
		{"audit hook", "import sys\nsys.addaudithook(lambda e, a: e == 'cpython._PySys_ClearAuditHooks' and print('hook'))", false, 0, ""},
		{"gc callback", "import gc\ngc.callbacks.append(lambda *a: None)", false, 0, ""},
		{"warning filters", "import warnings\nwarnings.simplefilter('always')", false, 0, ""},
		{"ctypes", "import ctypes\nctypes.CDLL(None).printf(b'from libc\\n')", false, 0, "from libc"},
	} {
		if tc.name == nearLimit && timeScale > 1 {
			// Not a skip of a lost precondition (test-vm fails on any):
			// the case's CPU does not fit its budget under emulation at
			// all. make test runs it on the host, which CI does too.
			t.Logf("%q: not run under emulation (JAILD_TEST_TIME_SCALE=%d): its cold run needs more CPU than the budget",
				tc.name, timeScale)
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			spec := poolSpec(t, jail.Python, tc.code)
			cold := runJail(t, spec)
			if cold.ExitCode != tc.exit || !strings.Contains(string(cold.Stdout)+string(cold.Stderr), tc.out) {
				t.Errorf("cold run: exit %d, stdout %q, stderr %q; want exit %d and %q", cold.ExitCode, cold.Stdout, cold.Stderr, tc.exit, tc.out)
			}
			for _, k := range kinds {
				warm := k.run(t, spec)
				stderr, fast := strings.CutSuffix(string(warm.Stderr), exitTraceMark)
				if fast != tc.fast {
					t.Errorf("%s: fast exit %v, want %v (stderr %q)", k.name, fast, tc.fast, warm.Stderr)
				}
				if k.name == "zygote" && tc.name == zygoteDiffers {
					// Documented (README "Exit"): the script's own frozen
					// objects may be finalized in a zygote's child.
					continue
				}
				if cold.Status != warm.Status || cold.ExitCode != warm.ExitCode || string(cold.Stdout) != string(warm.Stdout) ||
					string(cold.Stderr) != stderr {
					t.Errorf("%s:\ncold %s %d %q %q\nwarm %s %d %q %q", k.name, cold.Status, cold.ExitCode, cold.Stdout, cold.Stderr,
						warm.Status, warm.ExitCode, warm.Stdout, stderr)
				}
			}
		})
	}
}

// TestPoolNodeStdio: a parked node loaded its stdio streams' modules
// ahead (the loader's warm-up); a script reads and writes its stdio as a
// cold one does: process.stdin as a stream, fs.readFileSync(0) of more
// than a pipe holds, fs.writeSync(1, …) of 1 MiB in one call (short, or
// EAGAIN, were the fds left non-blocking).
func TestPoolNodeStdio(t *testing.T) {
	k := warmKinds(t, jail.Node)[0]
	spec := poolSpec(t, jail.Node, `const fs = require('fs');
const d = fs.readFileSync(0, 'utf8');
const n = fs.writeSync(1, 'y'.repeat(1 << 20));
fs.writeSync(2, d.length + ' ' + n);`)
	spec.Stdin = []byte(strings.Repeat("z", 300000))
	spec.Limits.Output = 4 << 20
	cold, warm := runJail(t, spec), k.run(t, spec)
	wantStatus(t, cold, jail.StatusOK)
	want := fmt.Sprintf("%d %d", len(spec.Stdin), 1<<20)
	if string(cold.Stderr) != want || len(cold.Stdout) != 1<<20 {
		t.Fatalf("cold run: stderr %q, %d bytes of stdout; want %q and 1 MiB", cold.Stderr, len(cold.Stdout), want)
	}
	if warm.Status != cold.Status || string(warm.Stderr) != want || len(warm.Stdout) != 1<<20 {
		t.Errorf("warm %s: stderr %q, %d bytes of stdout; want %q and 1 MiB", warm.Status, warm.Stderr, len(warm.Stdout), want)
	}
}

// TestPoolNodeStdin: a script that reads process.stdin as a stream gets
// all of its input, warm as cold.
func TestPoolNodeStdin(t *testing.T) {
	k := warmKinds(t, jail.Node)[0]
	spec := poolSpec(t, jail.Node, `let d = ''; process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { d += c; });
process.stdin.on('end', () => { process.stdout.write(d.length + ' ' + JSON.stringify(d.slice(0, 14) + d.slice(-3))); process.stderr.write('done'); });`)
	// More than a pipe's 64 KiB, so that it comes in several reads.
	spec.Stdin = []byte("line 1\nline 2\n" + strings.Repeat("x", 100000) + "end")
	cold, warm := runJail(t, spec), k.run(t, spec)
	wantStatus(t, cold, jail.StatusOK)
	want := fmt.Sprintf("%d %q", len(spec.Stdin), "line 1\nline 2\nend")
	if string(cold.Stdout) != want || string(cold.Stderr) != "done" {
		t.Fatalf("cold run: stdout %q, stderr %q; want %q", cold.Stdout, cold.Stderr, want)
	}
	if warm.Status != cold.Status || string(warm.Stdout) != string(cold.Stdout) || string(warm.Stderr) != string(cold.Stderr) {
		t.Errorf("warm %s, stdout %d bytes, stderr %q; cold %s, %d bytes, %q", warm.Status, len(warm.Stdout), warm.Stderr,
			cold.Status, len(cold.Stdout), cold.Stderr)
	}
}
