package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

func TestConfigLoadAndValidate(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := filepath.Join(dir, "c.toml")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c := Default()
	if err := c.LoadFile(write("max_concurrent = 3\nshutdown_grace = \"2s\"\n[max_limits]\nwall_ms = 9000\n")); err != nil {
		t.Fatal(err)
	}
	if c.MaxConcurrent != 3 || c.ShutdownGrace.Duration != 2*time.Second || c.MaxLimits.WallMS != 9000 || c.MaxLimits.Pids != 256 {
		t.Errorf("loaded %+v", c)
	}
	c = Default()
	if err := c.LoadFile(write("max_concurent = 3\n")); err == nil || !strings.Contains(err.Error(), "max_concurent") {
		t.Errorf("typo key: err = %v, want it named", err)
	}
	// The decoder would match these ignoring case; the file format is lower-case.
	// U+017F (long s) is lower-case already, and EqualFold folds it to s.
	for _, body := range []string{"MAX_CONCURRENT = 3\n", "max_concurrent = 3\nMax_Concurrent = 5\n", "[Max_Limits]\nwall_ms = 9000\n",
		"\"max_fileſ\" = 3\n"} {
		c = Default()
		if err := c.LoadFile(write(body)); err == nil || !strings.Contains(err.Error(), "ASCII lower-case") {
			t.Errorf("%q: err = %v, want a lower-case key error", body, err)
		}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"relative socket", func(c *Config) { c.Socket = "x.sock" }, "socket"},
		{"public tcp", func(c *Config) { c.ListenTCP = "0.0.0.0:7070" }, "loopback"},
		{"lan tcp", func(c *Config) { c.ListenTCP = "192.168.1.5:7070" }, "loopback"},
		{"default above max", func(c *Config) { c.DefaultLimits.WallMS = 99999 }, "default_limits.wall_ms"},
		{"zero concurrency", func(c *Config) { c.MaxConcurrent = 0 }, "max_concurrent"},
		{"root cgroup", func(c *Config) { c.CgroupParent = "/" }, "cgroup_parent"},
	} {
		c := Default()
		tc.mutate(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error naming %q", tc.name, err, tc.want)
		}
	}
	for _, ok := range []string{"127.0.0.1:7070", "[::1]:7070", "localhost:7070", "127.9.9.9:1"} {
		c := Default()
		c.ListenTCP = ok
		if err := c.Validate(); err != nil {
			t.Errorf("listen_tcp %s refused: %v", ok, err)
		}
	}
	if err := func() error { c := Default(); return c.Validate() }(); err != nil {
		t.Errorf("Default() invalid: %v", err)
	}
}

func TestListenUnixSafely(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sub", "jaild.sock")
	ln, err := ListenUnix(sock, "no-such-group-jaild-test")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode().Type() != os.ModeSocket {
		t.Errorf("socket mode = %v (%v), want 0600 socket when the group is missing", fi.Mode(), err)
	}
	if d, _ := os.Stat(filepath.Dir(sock)); d.Mode().Perm() != 0o755 {
		t.Errorf("socket dir mode %v, want 0755", d.Mode().Perm())
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	if _, err := ListenUnix(sock, "x"); err == nil || !strings.Contains(err.Error(), "another daemon") {
		t.Errorf("second listener on a live socket: err = %v, want refused", err)
	}
	ln.Close() // a dead daemon leaves its socket file behind
	ln2, err := ListenUnix(sock, "x")
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	ln2.Close()
	if entries, _ := os.ReadDir(filepath.Dir(sock)); len(entries) != 1 {
		t.Errorf("socket dir holds %d entries, want only the socket (no temp dirs)", len(entries))
	}
	plain := filepath.Join(dir, "file")
	_ = os.WriteFile(plain, nil, 0o644)
	if _, err := ListenUnix(plain, "x"); err == nil {
		t.Error("a regular file at the socket path was replaced")
	}
	if os.Geteuid() == 0 {
		if _, err := ListenUnix(filepath.Join(dir, "g.sock"), "root"); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Lstat(filepath.Join(dir, "g.sock")); fi.Mode().Perm() != 0o660 {
			t.Errorf("socket with an existing group: mode %v, want 0660", fi.Mode().Perm())
		}
	}
}

func TestAdmissionFIFOAndClose(t *testing.T) {
	a := newAdmission(1, 2)
	rel, err := a.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 2)
	for i := 1; i <= 2; i++ {
		go func() {
			r, err := a.acquire(context.Background())
			if err == nil {
				order <- i
				time.Sleep(10 * time.Millisecond)
				r()
			}
		}()
		waitFor(t, func() bool { _, q := a.counts(); return q == i })
	}
	if _, err := a.acquire(context.Background()); !errors.Is(err, ErrQueueFull) {
		t.Errorf("fourth acquire = %v, want ErrQueueFull", err)
	}
	rel()
	rel() // idempotent
	if first, second := <-order, <-order; first != 1 || second != 2 {
		t.Errorf("grant order %d, %d; want FIFO 1, 2", first, second)
	}
	waitFor(t, func() bool { r, _ := a.counts(); return r == 0 })

	// A waiter that gives up leaves; close refuses the rest at once.
	rel, _ = a.acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := a.acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timed-out waiter: %v", err)
	}
	refused := make(chan error, 1)
	go func() { _, err := a.acquire(context.Background()); refused <- err }()
	waitFor(t, func() bool { _, q := a.counts(); return q == 1 })
	a.close()
	if err := <-refused; !errors.Is(err, ErrShuttingDown) {
		t.Errorf("queued waiter after close: %v, want ErrShuttingDown", err)
	}
	rel()
	if r, q := a.counts(); r != 0 || q != 0 {
		t.Errorf("after close: running %d queued %d", r, q)
	}
}

func TestHistoryDegradesLoudly(t *testing.T) {
	// A database in a path that cannot exist: runs still go, health says why.
	h := openHistory("/proc/no/such/dir/history.db", Default().History, slog.New(slog.DiscardHandler))
	h.begin(context.Background(), &api.RunResult{ID: "x"})
	h.finish(context.Background(), &api.RunResult{ID: "x"}, nil, nil)
	if st := h.status(); st == "ok" || st == "" {
		t.Errorf("status = %q, want the reason history is unavailable", st)
	}
	if _, err := h.get(context.Background(), "x"); !errors.Is(err, ErrHistoryUnavailable) {
		t.Errorf("get = %v, want ErrHistoryUnavailable", err)
	}
}

func TestHistoryAbortedAndPruned(t *testing.T) {
	cfg := Default().History
	cfg.MaxRows = 3
	h := openHistory(filepath.Join(t.TempDir(), "h.db"), cfg, slog.New(slog.DiscardHandler))
	defer h.close()
	ctx := context.Background()
	old := time.Now().Add(-60 * 24 * time.Hour)
	for i, created := range []time.Time{old, time.Now(), time.Now(), time.Now(), time.Now()} {
		r := &api.RunResult{ID: newRunID(created.Add(time.Duration(i))), CreatedAt: created, Language: "python", Rootfs: "p@x"}
		h.begin(ctx, r)
		if i != 4 {
			r.Status = api.StatusOK
			h.finish(ctx, r, []byte("out"), nil)
		}
	}
	if n := h.markAborted(ctx); n != 1 {
		t.Errorf("markAborted = %d, want the one run left running", n)
	}
	h.prune(ctx, time.Now())
	l, err := h.list(ctx, listQuery{limit: 10})
	if err != nil || len(l.Runs) != 3 || l.Runs[0].Status != api.StatusAborted {
		t.Errorf("after prune: %v %v, want the 3 newest with the aborted one first", runIDs(l), err)
	}
}

func TestLoopbackHost(t *testing.T) {
	for host, ok := range map[string]bool{"127.0.0.1:7070": true, "localhost:7070": true, "[::1]:7070": true,
		"jaild": false, "evil.example:7070": false, "10.0.0.1:7070": false, "127.0.0.1.evil.example": false} {
		if loopbackHost(host) != ok {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, !ok, ok)
		}
	}
	_ = net.IPv4len
}

// TestREADMEConfigLoads keeps the documented config file true.
func TestREADMEConfigLoads(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README has no ```toml block")
	}
	p := filepath.Join(t.TempDir(), "jaild.toml")
	if err := os.WriteFile(p, []byte(block), 0o644); err != nil {
		t.Fatal(err)
	}
	c := Default()
	if err := c.LoadFile(p); err != nil {
		t.Fatalf("README config: %v", err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("README config: %v", err)
	}
	d := Default()
	d.MaxConcurrent = c.MaxConcurrent // the README shows a machine-specific value
	if c != d {
		t.Errorf("README config differs from Default():\n got %+v\nwant %+v", c, d)
	}
}

func TestLockStateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	release, err := LockStateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to open files: a second open conflicts even here.
	if _, err := LockStateDir(dir); !errors.Is(err, ErrStateDirBusy) {
		t.Errorf("second lock = %v, want ErrStateDirBusy", err)
	}
	release()
	release2, err := LockStateDir(dir)
	if err != nil {
		t.Errorf("lock after release = %v", err)
	} else {
		release2()
	}
}

func TestListenUnixDirModeIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0o077) // no test in this package runs in parallel
	defer syscall.Umask(old)
	sock := filepath.Join(t.TempDir(), "run", "jaild", "jaild.sock")
	ln, err := ListenUnix(sock, "no-such-group-jaild-test")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if d, err := os.Stat(filepath.Dir(sock)); err != nil || d.Mode().Perm() != 0o755 {
		t.Errorf("socket dir under umask 077: %v %v, want 0755", d.Mode().Perm(), err)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket under umask 077: %v %v, want 0600", fi.Mode().Perm(), err)
	}
}

// TestListenUnixRace: daemons starting at the same moment on one socket
// path: exactly one gets it, the others are told a daemon is listening.
func TestListenUnixRace(t *testing.T) {
	for round := 0; round < 20; round++ {
		sock := filepath.Join(t.TempDir(), "jaild.sock")
		const n = 6
		errs := make(chan error, n)
		lns := make(chan net.Listener, n)
		for i := 0; i < n; i++ {
			go func() {
				ln, err := ListenUnix(sock, "no-such-group-jaild-test")
				if err == nil {
					lns <- ln
				}
				errs <- err
			}()
		}
		won := 0
		for i := 0; i < n; i++ {
			if err := <-errs; err == nil {
				won++
			} else if !strings.Contains(err.Error(), "another daemon") {
				t.Errorf("round %d: loser's error = %v, want another daemon listening", round, err)
			}
		}
		close(lns)
		for ln := range lns {
			ln.Close()
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d simultaneous listeners got the socket, want exactly 1", round, won, n)
		}
	}
}
