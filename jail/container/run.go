package container

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/jail"
)

// run is one live jail and the stack of steps that undo it.
type run struct {
	id      string
	hostID  uint32 // host uid/gid jail root maps to
	workDir string // host path of the run's tmpfs
	spec    *jail.Spec
	runner  *Runner
	ct      *libcontainer.Container
	process *libcontainer.Process
	stdout  *capture
	stderr  *capture
	readers []*os.File // parent ends of stdout/stderr, closed at teardown
	cg      cgroupFiles
	started time.Time
	undo    []func() error
	failed  bool // an undo step failed: the host uid must not be reused

	// base holds the cgroup counters when the script was let go; they are
	// subtracted so that the run reports its own usage only. A cold jail's
	// base is what libcontainer's init spent setting it up (namespaces,
	// mounts, seccomp compilation: ~10 ms on a host, seconds under QEMU TCG
	// in `make test-vm`); a parked jail's (warm.go) also has the loader's
	// warm-up.
	base usage
	// Set for parked jails (warm.go): the process was started ahead and its
	// exit is watched from then on.
	exited chan exitInfo
	phases phases
	peak   *os.File // v2 memory.peak, reset at hand-over (per-fd on ≥ 6.12)
	// kill, when set, replaces signalling the container (a zygote's child
	// is no container of its own: zygote.go).
	kill func()
	// zconn is a zygote child's run socket (zygote.go).
	zconn *net.UnixConn
}

func (j *run) push(f func() error) { j.undo = append(j.undo, f) }

// holdMountNS keeps the mount namespace of pid, the jail's PID 1, open
// until teardown. When a jail's last process exits, the kernel tears its
// mount namespace down in that exit, before the exit is seen: every
// unmount and an expedited RCU grace period, 1–2 ms here (perf sched:
// synchronize_rcu_expedited under namespace_unlock in do_exit). Held, that
// work moves to teardown's close, after the verdict. Best effort: if the
// open fails, the exit does the work as before.
func (j *run) holdMountNS(pid int) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/mnt", pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	j.push(func() error { return unix.Close(fd) })
}

// killAll SIGKILLs the jail's PID 1, which makes the kernel kill every
// other process of its PID namespace.
func (j *run) killAll() {
	if j.kill != nil {
		j.kill()
		return
	}
	_ = j.ct.Signal(unix.SIGKILL)
}

// teardown runs the undo stack in reverse, once, and joins the errors.
func (j *run) teardown() error {
	var errs []error
	for i := len(j.undo) - 1; i >= 0; i-- {
		if err := j.undo[i](); err != nil {
			j.failed = true
			errs = append(errs, err)
		}
	}
	j.undo = nil
	return errors.Join(errs...)
}

// destroy kills whatever is left of the jail and removes its cgroups and
// libcontainer state. Killing PID 1 of the jail's PID namespace makes the
// kernel kill every other process in it.
func (j *run) destroy() error {
	_ = j.ct.Signal(unix.SIGKILL)
	switch {
	case j.exited != nil: // a watcher owns the wait: let it reap
		ex := <-j.exited
		j.exited <- ex
	case j.process != nil:
		_, _ = j.process.Wait() // reap, if wait() has not already
	}
	if err := j.ct.Destroy(); err != nil {
		return fmt.Errorf("destroy container: %w", err)
	}
	return nil
}

// launch starts the script with its stdio on pipes the runner drains.
func (j *run) launch() error {
	inW, outR, errR, err := j.startInit()
	if err != nil {
		return fmt.Errorf("start jail: %w", err)
	}
	j.started = time.Now()
	j.streamIO(inW, outR, errR)
	if err := j.containerCgroups(); err != nil {
		return err
	}
	if j.base.cpu, err = j.cg.cpu(); err != nil {
		return fmt.Errorf("read jail cpu usage: %w", err)
	}
	return nil
}

// streamIO starts capturing the script's output from outR and errR and
// feeds it the spec's stdin through inW, which it closes after.
func (j *run) streamIO(inW, outR, errR *os.File) {
	limit := j.spec.Limits.Output
	j.stdout = newCapture(outR, limit, j.notifier(jail.Stdout))
	j.stderr = newCapture(errR, limit, j.notifier(jail.Stderr))
	go func() {
		_, _ = inW.Write(j.spec.Stdin) // EPIPE when the script never reads: fine
		inW.Close()
	}()
}

// containerCgroups points j.cg at the cgroups libcontainer made for j.
func (j *run) containerCgroups() error {
	st, err := j.ct.State()
	if err != nil {
		return fmt.Errorf("read jail state: %w", err)
	}
	j.cg = cgroupFiles{v2: j.runner.mode.v2, paths: st.CgroupPaths}
	return nil
}

// notifier adapts Spec.Output for one stream; nil when unset.
func (j *run) notifier(s jail.Stream) func([]byte) {
	if j.spec.Output == nil {
		return nil
	}
	return func(p []byte) { j.spec.Output(s, p) }
}

// exitInfo is how a jail's main process ended: its wait status (nil when
// it could not be had, with err saying why) and its host pid.
type exitInfo struct {
	ws  *syscall.WaitStatus
	pid int
	err error
}

// watchExit waits for the main process in the background.
func (j *run) watchExit() chan exitInfo {
	exited := make(chan exitInfo, 1)
	go func() {
		ps, err := j.process.Wait()
		ex := exitInfo{ws: waitStatus(ps), err: err}
		if ps != nil {
			ex.pid = ps.Pid()
		}
		if ex.ws == nil && err == nil {
			ex.err = errors.New("no wait status")
		}
		exited <- ex
	}()
	return exited
}

// wait supervises the jail until its main process exits, enforcing the
// wall and CPU budgets and ctx, then collects usage and output.
func (j *run) wait(ctx context.Context) jail.Result {
	l := j.spec.Limits
	exited := j.exited
	if exited == nil {
		exited = j.watchExit()
	}
	wall := time.NewTimer(l.Wall - time.Since(j.started))
	defer wall.Stop()
	tick := time.NewTicker(cpuPoll(l.CPUTime))
	defer tick.Stop()

	reason := killNone
	kill := func(why killReason) {
		if reason == killNone {
			reason = why
			_ = j.cg.unthrottle()
			j.killAll()
		}
	}
	var ex exitInfo
loop:
	for {
		select {
		case ex = <-exited:
			if j.exited != nil {
				j.exited <- ex // destroy waits on it too
			}
			break loop
		case <-wall.C:
			kill(killWall)
		case <-tick.C:
			if cpu, err := j.cg.cpu(); err == nil && cpu-j.base.cpu >= l.CPUTime {
				kill(killCPU)
			}
		case <-ctx.Done():
			kill(killCancel)
		}
	}
	res := jail.Result{Wall: time.Since(j.started), RootfsDigest: j.spec.Rootfs.Digest}
	// Usage must be read before the cgroup is destroyed.
	u, uerr := j.cg.read(j.peak)
	u = u.since(j.base)
	res.CPU, res.MemoryPeak = max(u.cpu, 0), u.peak
	// Nothing may outlive the main process. It is PID 1 of the jail's PID
	// namespace, and the kernel completes that exit only once every other
	// process of the namespace is dead (zap_pid_ns_processes): with a
	// wait status there is nothing left to kill (and for a parked jail
	// libcontainer's Signal cost ~0.25 ms before the verdict).
	if ex.ws == nil {
		j.killAll()
	}
	res.Status, res.ExitCode, res.Signal = verdict(ex.ws, reason, u.oomKills, res.CPU >= l.CPUTime)
	if res.Status == jail.StatusSignaled && res.Signal == "SIGSYS" && ex.pid > 0 {
		res.Syscall = seccompSyscall(ex.pid)
	}
	j.collectOutput(&res)
	switch {
	case reason == killCancel:
		res.Status, res.ExitCode, res.Error = jail.StatusInternalError, -1, fmt.Sprintf("run cancelled: %v", context.Cause(ctx))
	case ex.ws == nil:
		res.Status, res.Error = jail.StatusInternalError, fmt.Sprintf("wait for jail: %v", ex.err)
	case uerr != nil:
		res.Status, res.Error = jail.StatusInternalError, fmt.Sprintf("read cgroup usage: %v", uerr)
	}
	return res
}

// finishLater supervises j to its verdict and tears it down in the
// background, all of it counted in pending (from before the wait, so that
// a Close waiting on pending waits for runs in flight too): by the time
// wait returns every process of the jail is dead and its usage is read,
// so what is left (cgroups, tmpfs, state, the host uid) no longer affects
// the result. A failure is logged; the reaper removes what is left at the
// next start. kind names the jail's sort in the debug line ("warm",
// "zygote").
func (j *run) finishLater(ctx context.Context, pending *sync.WaitGroup, kind string) (jail.Result, error) {
	pending.Add(1)
	out := j.wait(ctx)
	j.phases.mark("run")
	log := j.runner.log
	go func() {
		defer pending.Done()
		if err := j.teardown(); err != nil {
			log.Error("tear down jail", "jail_id", j.id, kind, true, "err", err)
		}
		j.phases.mark("teardown")
		log.Debug("jail phases", append([]any{"jail_id", j.id, "status", out.Status, kind, true}, j.phases.attrs()...)...)
	}()
	if out.Status == jail.StatusInternalError {
		return out, errors.New(out.Error)
	}
	return out, nil
}

// collectOutput waits for EOF on both streams. Every process of the jail is
// dead by now, so EOF comes at once; the deadline only guards against a
// writer that escaped, which would be a bug worth an internal error.
func (j *run) collectOutput(res *jail.Result) {
	deadline := time.Now().Add(2 * time.Second)
	for _, f := range j.readers {
		_ = f.SetReadDeadline(deadline)
	}
	var err1, err2 error
	res.Stdout, res.StdoutDropped, err1 = j.stdout.wait()
	res.Stderr, res.StderrDropped, err2 = j.stderr.wait()
	if err := errors.Join(err1, err2); err != nil {
		res.Status, res.Error = jail.StatusInternalError, fmt.Sprintf("read output: %v", err)
	}
}

// phases records when each step of a jail's life ended, for the debug
// log line that shows where a run's time goes.
type phases struct {
	names []string
	at    []time.Time
}

func (p *phases) mark(name string) {
	p.names = append(p.names, name)
	p.at = append(p.at, time.Now())
}

// attrs returns "<phase>_ms" for each phase after the first, as slog args.
func (p *phases) attrs() []any {
	var out []any
	for i := 1; i < len(p.at); i++ {
		out = append(out, p.names[i]+"_ms", float64(p.at[i].Sub(p.at[i-1]).Microseconds())/1000)
	}
	return out
}
