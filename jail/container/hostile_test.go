package container

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

// The hostile-script suite (`make test-escape`). Every file under
// testdata/hostile is one attack, Python (.py) or Node (.js), whose header
// names the threat and the exact verdict:
//
//	# threat: <one line: what the script tries to do to the host>
//	# status: ok | exit_nonzero | timeout | cpu_limit | oom | signaled | internal_error
//	# signal: SIGSYS            (signaled only)
//	# signal_without_int80: SIGSEGV  (the signal instead on a host whose
//	                            kernel refuses int 0x80 outside any jail)
//	# stdout: "exact\n"         (Go-quoted; what the script prints when it is held)
//	# stdout_len: 1000          (instead of stdout: bytes kept)
//	# dropped: 49999000         (stdout bytes dropped, exact)
//	# error: substring          (internal_error only)
//	# limits: wall=1500ms cpu=30s pids=64 memory=128MiB output=1000 tmp=64MiB
//	# stdin: 16MiB              (bytes of stdin the host feeds it)
//	# args: 100x100000          (argv words the host passes, count x size)
//
// (// instead of # for Node.) Python scripts get _prelude.py prepended:
// sc(nr, *args) issues a raw syscall through libc's syscall(3) so the test
// exercises the kernel's seccomp filter, not a library wrapper.
//
// Placeholders in a script are replaced before it runs:
//
//	{{MARKER}}       unique word, also argv[1]: every process it starts carries it
//	{{HOST_PATH}}    a host path that must never come to exist
//	{{SENTINEL}}     a host file whose content and mode must not change
//	{{SENTINEL_DIR}} a host directory whose entries must not change
//	{{DAEMON_PID}}   host PID of the runner's process (the daemon's stand-in)
//	{{TARGET_PID}}   host PID of a long-lived target jail running concurrently
//	{{TARGET_WORK}}  host path of the target jail's /tmp
//	{{TARGET_SOCK}}  abstract unix socket name the target listens on
//	{{HOST_SOCK}}    abstract unix socket name a host process listens on
//
// After every script the host checks: no process carrying its marker
// survives; HOST_PATH does not exist; SENTINEL and SENTINEL_DIR are
// unchanged. After the whole suite: the target jail is still alive, was
// never connected to, its secret is intact; the host listener was never
// connected to; the host's hostname and the rootfs interpreters' bytes are
// unchanged; and TestMain's leftover audit finds no cgroup, mount, state
// dir or jail-uid process.

// hostileCase is one parsed script.
type hostileCase struct {
	name, file string
	lang       jail.Language
	code       string
	threat     string
	status     jail.Status
	signal     string
	noInt80Sig string
	stdout     *string
	stdoutLen  int
	dropped    int64
	errSub     string
	limits     map[string]string
	stdin      int64
	args       [2]int
}

func loadHostile(t *testing.T) []hostileCase {
	t.Helper()
	prelude, err := os.ReadFile("testdata/hostile/_prelude.py")
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("testdata/hostile/*")
	var out []hostileCase
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "_") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseHostile(base, string(b))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if c.lang == jail.Python {
			c.code = string(prelude) + c.code
		}
		out = append(out, c)
	}
	return out
}

func parseHostile(name, code string) (hostileCase, error) {
	c := hostileCase{name: name, file: name,
		code: code, dropped: -1, stdoutLen: -1, limits: map[string]string{}}
	comment := "# "
	switch filepath.Ext(name) {
	case ".py":
		c.lang = jail.Python
	case ".js":
		c.lang, comment = jail.Node, "// "
	default:
		return c, fmt.Errorf("unknown script type")
	}
	sc := bufio.NewScanner(strings.NewReader(code))
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), comment)
		if !ok {
			break
		}
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		var err error
		switch k {
		case "threat":
			c.threat = v
		case "status":
			c.status = jail.Status(v)
		case "signal":
			c.signal = v
		case "signal_without_int80":
			c.noInt80Sig = v
		case "stdout":
			var s string
			s, err = strconv.Unquote(v)
			c.stdout = &s
		case "stdout_len":
			c.stdoutLen, err = strconv.Atoi(v)
		case "dropped":
			c.dropped, err = strconv.ParseInt(v, 10, 64)
		case "error":
			c.errSub = v
		case "stdin":
			c.stdin, err = parseSize(v)
		case "args":
			_, err = fmt.Sscanf(v, "%dx%d", &c.args[0], &c.args[1])
		case "limits":
			for _, kv := range strings.Fields(v) {
				lk, lv, _ := strings.Cut(kv, "=")
				c.limits[lk] = lv
			}
		default:
			err = fmt.Errorf("unknown header %q", k)
		}
		if err != nil {
			return c, fmt.Errorf("header %s: %w", k, err)
		}
	}
	switch {
	case c.threat == "":
		return c, fmt.Errorf("no threat line")
	case c.status == "":
		return c, fmt.Errorf("no status line")
	case c.status == jail.StatusSignaled && c.signal == "":
		return c, fmt.Errorf("status signaled needs a signal line")
	case (c.status == jail.StatusOK || c.status == jail.StatusExitNonzero) && c.stdout == nil && c.stdoutLen < 0:
		return c, fmt.Errorf("a script that ends by itself must say what it prints (stdout or stdout_len)")
	}
	return c, nil
}

func parseSize(s string) (int64, error) {
	mult := int64(1)
	for suf, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30} {
		if v, ok := strings.CutSuffix(s, suf); ok {
			s, mult = v, m
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n * mult, err
}

func (c hostileCase) applyLimits(l *jail.Limits) error {
	for k, v := range c.limits {
		var err error
		var d time.Duration
		var n int64
		switch k {
		case "wall", "cpu":
			d, err = time.ParseDuration(v)
		default:
			n, err = parseSize(v)
		}
		if err != nil {
			return fmt.Errorf("limit %s: %w", k, err)
		}
		switch k {
		case "wall":
			l.Wall = d
		case "cpu":
			l.CPUTime = d
		case "pids":
			l.Pids = n
		case "memory":
			l.Memory = n
		case "output":
			l.Output = n
		case "tmp":
			l.Tmp = n
		case "nofile":
			l.OpenFiles = uint64(n)
		default:
			return fmt.Errorf("unknown limit %s", k)
		}
	}
	return nil
}

// hostileEnv is the host state the suite watches and the target jail.
type hostileEnv struct {
	dir         string
	vars        map[string]string
	sentinel    string
	sentinelSum [32]byte
	sentinelDir string
	hostname    string
	binaries    map[string][32]byte
	hostHits    atomic.Int64
}

func TestHostileScripts(t *testing.T) {
	cases := loadHostile(t)
	if len(cases) < 60 {
		t.Errorf("%d hostile scripts, the suite promises at least 60", len(cases))
	}
	r := testRunner(t)
	py, node := testImage(t, jail.Python), testImage(t, jail.Node)
	env := newHostileEnv(t, py.Path, node.Path)
	attackAll(t, r, r, env, cases)
}

// attackAll runs every case through jr, in parallel, beside a live cold
// target jail of r, then checks the target and the host.
func attackAll(t *testing.T, r *Runner, jr jail.Runner, env *hostileEnv, cases []hostileCase) {
	target := startTarget(t, r, env)
	t.Run("attack", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				runHostile(t, jr, env, c)
			})
		}
	})
	target.finish(t)
	env.checkSuite(t)
}

func newHostileEnv(t *testing.T, roots ...string) *hostileEnv {
	dir := t.TempDir()
	e := &hostileEnv{dir: dir, sentinel: filepath.Join(dir, "sentinel"), sentinelDir: filepath.Join(dir, "sentinel.d"),
		binaries: map[string][32]byte{}}
	if err := os.WriteFile(e.sentinel, []byte("host sentinel: must not change\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.sentinelSum = fileSum(t, e.sentinel)
	if err := os.Mkdir(e.sentinelDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.sentinelDir, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.hostname, _ = os.Hostname()
	for _, root := range roots {
		for _, b := range []string{"usr/bin/python3.11", "usr/bin/node"} {
			if p := filepath.Join(root, b); fileExists(p) {
				e.binaries[p] = fileSum(t, p)
			}
		}
	}
	if self, err := os.Executable(); err == nil {
		e.binaries[self] = fileSum(t, self)
	}
	// A host listener on an abstract socket: the jail's network namespace
	// has its own abstract namespace, so no jail may ever reach it.
	hostSock := fmt.Sprintf("jaild-hostile-host-%d", os.Getpid())
	ln, err := net.Listen("unix", "@"+hostSock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			e.hostHits.Add(1)
			c.Close()
		}
	}()
	e.vars = map[string]string{
		"{{SENTINEL}}":     e.sentinel,
		"{{SENTINEL_DIR}}": e.sentinelDir,
		"{{DAEMON_PID}}":   strconv.Itoa(os.Getpid()),
		"{{HOST_SOCK}}":    hostSock,
	}
	return e
}

func fileSum(t *testing.T, p string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func fileExists(p string) bool { _, err := os.Lstat(p); return err == nil }

func runHostile(t *testing.T, r jail.Runner, env *hostileEnv, c hostileCase) {
	img := testImage(t, c.lang)
	marker := uniqueMarker()
	// Under the suite's own temp dir, not /tmp: the jail has a /tmp of
	// its own, where a same-named file would be harmless.
	hostPath := filepath.Join(env.dir, "escaped-"+marker)
	code := strings.ReplaceAll(c.code, "{{MARKER}}", marker)
	code = strings.ReplaceAll(code, "{{HOST_PATH}}", hostPath)
	for k, v := range env.vars {
		code = strings.ReplaceAll(code, k, v)
	}
	if i := strings.Index(code, "{{"); i >= 0 && strings.Contains(code[i:], "}}") {
		t.Fatalf("unknown placeholder near %q", code[i:min(i+30, len(code))])
	}
	entry := policy.DefaultEntrypoint(c.lang)
	args := []string{marker}
	for i := 0; i < c.args[0]; i++ {
		args = append(args, strings.Repeat("A", c.args[1]))
	}
	argv, err := policy.Command(c.lang, img.Interpreter, entry, args)
	if err != nil {
		t.Fatal(err)
	}
	spec := jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     policy.BaseEnv(c.lang),
		Files:   []jail.File{{Name: entry, Content: []byte(code)}},
		Stdin:   bytes.Repeat([]byte("s"), int(c.stdin)),
		Limits:  jail.DefaultLimits(),
		Seccomp: policy.DefaultSeccomp(),
	}
	// Every case that expects a timeout or cpu_limit names its budgets;
	// the others get room, so that a loaded host (the suite runs jails
	// concurrently, with a live target beside them) cannot turn an exact
	// "ok" into a timeout.
	spec.Limits.Wall, spec.Limits.CPUTime = 30*time.Second*timeScale, 30*time.Second*timeScale
	if err := c.applyLimits(&spec.Limits); err != nil {
		t.Fatal(err)
	}
	res, _ := r.Run(context.Background(), spec)
	t.Logf("threat: %s → %s %s (%v)", c.threat, res.Status, res.Signal, res.Wall.Round(time.Millisecond))
	if os.Getenv("JAILD_HOSTILE_RECORD") != "" {
		t.Logf("RECORD %s status=%s signal=%s exit=%d dropped=%d error=%q stdout=%q stderr=%q",
			c.file, res.Status, res.Signal, res.ExitCode, res.StdoutDropped, res.Error, res.Stdout, clip(res.Stderr))
	}
	if c.noInt80Sig != "" && !hostHasInt80(t) {
		c.signal = c.noInt80Sig
	}
	checkVerdict(t, c, res)
	env.checkHost(t, marker, hostPath)
}

func checkVerdict(t *testing.T, c hostileCase, res jail.Result) {
	t.Helper()
	detail := fmt.Sprintf("exit=%d signal=%s error=%q stdout=%q stderr=%q",
		res.ExitCode, res.Signal, res.Error, clip(res.Stdout), clip(res.Stderr))
	if res.Status != c.status {
		t.Fatalf("status %s, want %s\n%s", res.Status, c.status, detail)
	}
	if c.signal != "" && res.Signal != c.signal {
		t.Errorf("signal %q, want %q\n%s", res.Signal, c.signal, detail)
	}
	if c.stdout != nil && string(res.Stdout) != *c.stdout {
		t.Errorf("stdout %q, want %q\n%s", res.Stdout, *c.stdout, detail)
	}
	if c.stdoutLen >= 0 && len(res.Stdout) != c.stdoutLen {
		t.Errorf("kept %d stdout bytes, want %d", len(res.Stdout), c.stdoutLen)
	}
	if c.dropped >= 0 && res.StdoutDropped != c.dropped {
		t.Errorf("dropped %d stdout bytes, want %d", res.StdoutDropped, c.dropped)
	}
	if c.errSub != "" && !strings.Contains(res.Error, c.errSub) {
		t.Errorf("error %q, want it to mention %q", res.Error, c.errSub)
	}
}

// checkHost runs after every script: the run is over, so nothing of it may
// be left and nothing of the host may have changed.
func (e *hostileEnv) checkHost(t *testing.T, marker, hostPath string) {
	t.Helper()
	if ps := markedProcesses(marker); len(ps) > 0 {
		t.Errorf("processes of the run survived it: %v", ps)
	}
	if fileExists(hostPath) {
		t.Errorf("the jail created %s on the host", hostPath)
	}
	if fi, err := os.Lstat(e.sentinel); err != nil || fi.Mode() != 0o600 || fileSum(t, e.sentinel) != e.sentinelSum {
		t.Errorf("host sentinel %s changed (err %v)", e.sentinel, err)
	}
	if ents, err := os.ReadDir(e.sentinelDir); err != nil || len(ents) != 1 || ents[0].Name() != "keep" {
		t.Errorf("host sentinel dir %s changed: %v %v", e.sentinelDir, ents, err)
	}
}

func (e *hostileEnv) checkSuite(t *testing.T) {
	t.Helper()
	if n := e.hostHits.Load(); n > 0 {
		t.Errorf("a jail connected %d times to the host's abstract socket", n)
	}
	if h, _ := os.Hostname(); h != e.hostname {
		t.Errorf("host hostname %q, was %q", h, e.hostname)
	}
	for p, sum := range e.binaries {
		if fileSum(t, p) != sum {
			t.Errorf("%s changed on the host (CVE-2019-5736-style overwrite)", p)
		}
	}
}

// target is a long-lived jail the attack scripts aim at: it keeps a secret
// in its /tmp, /dev/shm and a SysV segment, and listens on an abstract
// socket and a socket file, logging any connection.
type target struct {
	cancel context.CancelFunc
	done   chan jail.Result
	pid    string
}

const targetSecret = "target-secret-7f3a"

func startTarget(t *testing.T, r *Runner, env *hostileEnv) *target {
	t.Helper()
	marker := uniqueMarker()
	sock := "jaild-hostile-target-" + marker
	code, err := os.ReadFile("testdata/hostile/_target.py")
	if err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(r.work)
	spec := script(t, jail.Python, strings.NewReplacer("{{TARGET_SOCK}}", sock, "{{SECRET}}", targetSecret).Replace(string(code)))
	spec.Argv = append(spec.Argv, marker)
	spec.Limits.Wall = 10 * time.Minute
	spec.Limits.CPUTime = 10 * time.Minute
	ready := make(chan struct{})
	var once atomic.Bool
	spec.Output = func(s jail.Stream, p []byte) {
		if s == jail.Stdout && bytes.Contains(p, []byte("READY")) && once.CompareAndSwap(false, true) {
			close(ready)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	tg := &target{cancel: cancel, done: make(chan jail.Result, 1)}
	go func() {
		res, _ := r.Run(ctx, spec)
		tg.done <- res
	}()
	select {
	case <-ready:
	case res := <-tg.done:
		t.Fatalf("target jail ended early: %s %q %q", res.Status, res.Stdout, res.Stderr)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatal("target jail did not get ready")
	}
	ps := markedProcesses(marker)
	if len(ps) != 1 {
		t.Fatalf("target processes %v, want one", ps)
	}
	tg.pid = ps[0].pid
	after, _ := os.ReadDir(r.work)
	var work string
	for _, e := range after {
		if !slices.ContainsFunc(before, func(b os.DirEntry) bool { return b.Name() == e.Name() }) {
			work = filepath.Join(r.work, e.Name(), "tmp")
		}
	}
	if !fileExists(filepath.Join(work, "secret")) {
		t.Fatalf("target's /tmp not found on the host (work %q)", work)
	}
	checkHostUserLockedOut(t, filepath.Dir(work))
	env.vars["{{TARGET_PID}}"] = tg.pid
	env.vars["{{TARGET_WORK}}"] = work
	env.vars["{{TARGET_SOCK}}"] = sock
	return tg
}

// checkHostUserLockedOut: an unprivileged host user must not read a live
// jail's code or /tmp, nor write into them. The path is no secret: every
// local user can read it in /proc/mounts.
func checkHostUserLockedOut(t *testing.T, workRoot string) {
	t.Helper()
	for _, c := range [][]string{
		{"/bin/cat", filepath.Join(workRoot, "tmp", "secret")},
		{"/bin/cat", filepath.Join(workRoot, "work", "main.py")},
		{"/bin/ls", workRoot},
		{"/bin/sh", "-c", "echo x > " + filepath.Join(workRoot, "tmp", "injected")},
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("host uid 65534 ran %q on a live jail's files: err %v, output %q", c, err, out)
		}
	}
}

// finish checks the target outlived every attack untouched, then stops it.
func (tg *target) finish(t *testing.T) {
	t.Helper()
	stat, err := os.ReadFile("/proc/" + tg.pid + "/stat")
	if err != nil {
		t.Errorf("target jail (host pid %s) was killed during the suite", tg.pid)
	} else if f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:])); len(f) == 0 || f[0] == "T" || f[0] == "t" {
		t.Errorf("target jail (host pid %s) was stopped during the suite: %q", tg.pid, stat)
	}
	tg.cancel()
	res := <-tg.done
	out := string(res.Stdout)
	if strings.Contains(out, "CONNECTED") || !strings.Contains(out, "READY") {
		t.Errorf("target saw a connection or never got ready: %q (stderr %q)", out, res.Stderr)
	}
	if strings.Contains(out, "SECRET CHANGED") || strings.Contains(out, "SIGNAL") {
		t.Errorf("target was tampered with: %q", out)
	}
}
