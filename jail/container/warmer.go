package container

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cgroupWarmer keeps cgroup v1 attaches fast while jails are being
// started. Writing a pid to cgroup.procs takes the kernel's global
// cgroup_threadgroup_rwsem for writing; the first writer after about one
// RCU grace period without any waits a whole grace period (rcu_sync_enter
// → synchronize_rcu, ~12 ms here, more under load), while writers that
// follow within one find it still entered and pay ~0.05 ms. That wait is
// the biggest single cost of a cold jail start on v1. Until a few seconds
// after the last jail start, the warmer re-writes the daemon's own pid
// into the pids cgroup it is already in every 10 ms — a no-op move that
// keeps rcu_sync entered — so the attach of the next jail does not wait.
// The cost is ~0.05 ms of CPU per write and, while warm, fork/exit on the
// host taking the rwsem's slower (non-per-CPU) read path. It changes no
// jail's isolation. cgroup v2 does not need it: there the kernel's
// favordynmods mount option is the supported way to the same effect.
type cgroupWarmer struct {
	mu      sync.Mutex
	until   time.Time
	running bool
}

const (
	warmFor   = 3 * time.Second
	warmEvery = 10 * time.Millisecond
)

// touch keeps the warmer going until warmFor from now, and writes once at
// once so that a grace period started now overlaps the jail's set-up.
func (w *cgroupWarmer) touch() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.until = time.Now().Add(warmFor)
	if w.running {
		return
	}
	w.running = true
	go w.loop()
}

func (w *cgroupWarmer) loop() {
	for {
		_ = rewriteOwnPidsCgroup()
		time.Sleep(warmEvery)
		w.mu.Lock()
		if time.Now().After(w.until) {
			w.running = false
			w.mu.Unlock()
			return
		}
		w.mu.Unlock()
	}
}

// rewriteOwnPidsCgroup writes our pid into the v1 pids cgroup we are in
// now (read afresh, so a daemon moved by its service manager is not moved
// back).
func rewriteOwnPidsCgroup() error {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) == 3 && parts[1] == "pids" {
			return os.WriteFile("/sys/fs/cgroup/pids"+parts[2]+"/cgroup.procs", []byte(strconv.Itoa(os.Getpid())), 0)
		}
	}
	return sc.Err()
}
