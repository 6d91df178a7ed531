package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer/specconv"
	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/jail"
)

// A zygote is a long-lived jail whose interpreter forks one child per run;
// each child makes itself a single-use jail before the script runs (see
// zygoteLoader for what the child does and the protocol). It shares the
// interpreter's start-up between runs, which a parked jail cannot: every
// parked jail pays a jail build and a whole interpreter start.
//
// What a child shares with its zygote, and so with other runs of the same
// zygote, and a cold jail does not, is listed in README ("Zygote
// (python)"): the user namespace and host uid, the address-space layout,
// the hash seed, the zygote's heap as it was at the fork. Its session,
// keyring, PID, mount, network, IPC, UTS and cgroup namespaces, its cgroup
// (memory, CPU, pids), /proc, /work, /tmp and /dev/shm are its own; /dev
// is read-only. Memory the child shares with the zygote copy-on-write is
// charged to the zygote, so a run's peak memory and memory limit count
// what the run itself allocates or writes.

// errZygoteGone means the zygote died or failed; the run did not start
// and may run elsewhere.
var errZygoteGone = errors.New("zygote is gone")

type zygote struct {
	r      *Runner
	j      *run
	ctl    *net.UnixConn
	mu     sync.Mutex // one control message at a time
	dead   chan struct{}
	closed sync.Once
	cerr   error
}

// keySyscalls reach the keyrings: every child of a zygote has its host uid
// (so its user keyring) and its session keyring.
var keySyscalls = []string{"keyctl", "add_key", "request_key"}

// zygoteFilter checks that tmpl's profile can be a zygote's children's
// and returns the zygote's b"B" message: flags and compiled filter.
func zygoteFilter(tmpl *jail.Spec) ([]byte, error) {
	for _, n := range keySyscalls {
		if jail.SeccompMayAllow(tmpl.Seccomp, n) {
			return nil, fmt.Errorf("no zygote for a profile that allows %s: its runs would share keyrings", n)
		}
	}
	sc, err := specconv.SetupSeccomp(tmpl.Seccomp)
	if err != nil {
		return nil, fmt.Errorf("convert seccomp profile: %w", err)
	}
	bpf, flags, err := compileBPF(sc)
	if err != nil {
		return nil, err
	}
	return append(binary.LittleEndian.AppendUint32([]byte{'B'}, flags), bpf...), nil
}

// startZygote builds a zygote's jail from tmpl (python only) and waits
// until it is ready to fork.
func (r *Runner) startZygote(lang jail.Language, tmpl *jail.Spec, prog program) (*zygote, error) {
	if lang != jail.Python {
		return nil, fmt.Errorf("no zygote for %s", lang)
	}
	bpf, err := zygoteFilter(tmpl)
	if err != nil {
		return nil, err
	}
	spec := *tmpl
	spec.Argv = append(append([]string{prog.interpreter}, prog.flags...), "-c", pythonSource(zygoteLoader))
	spec.Env, spec.Files, spec.Stdin, spec.Output = jail.StartupEnv(tmpl.Env), nil, nil, nil
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	z := &zygote{r: r, dead: make(chan struct{})}
	j, err := r.startJail(&spec, true, func(j *run) error { return z.launch(j, bpf) })
	if err != nil {
		return nil, err
	}
	z.j = j
	go func() {
		ex := <-j.exited
		j.exited <- ex
		close(z.dead)
	}()
	return z, nil
}

// launch starts the zygote with its control socket as fd 3, hands it the
// children's seccomp message (b"B", flags, program) and waits for it to be
// ready.
func (z *zygote) launch(j *run, bpf []byte) error {
	ours, theirs, err := socketpair(unix.SOCK_SEQPACKET, "zygote control")
	if err != nil {
		return err
	}
	j.push(func() error { ours.Close(); return nil })
	_, outR, errR, err := j.startInit(theirs)
	if err != nil {
		return fmt.Errorf("start zygote: %w", err)
	}
	// The zygote writes nothing; whatever it does write (a traceback) is
	// logged rather than left to fill the pipe and block it.
	for _, f := range []*os.File{outR, errR} {
		go z.logOutput(j, f)
	}
	j.exited = j.watchExit()
	if err := j.containerCgroups(); err != nil {
		return err
	}
	z.ctl = ours
	_ = ours.SetDeadline(time.Now().Add(parkTimeout))
	defer ours.SetDeadline(time.Time{})
	if _, err := ours.Write(bpf); err != nil {
		return fmt.Errorf("hand seccomp filter to zygote: %w", err)
	}
	b := make([]byte, 1)
	if n, err := ours.Read(b); n != 1 || b[0] != 'R' {
		return fmt.Errorf("wait for zygote: %w", errors.Join(err, errZygoteGone))
	}
	return nil
}

func (z *zygote) logOutput(j *run, f *os.File) {
	b := make([]byte, 4096)
	for {
		n, err := f.Read(b)
		if n > 0 {
			z.r.log.Warn("zygote output", "jail_id", j.id, "output", string(b[:n]))
		}
		if err != nil {
			return
		}
	}
}

// alive reports whether the zygote can still fork.
func (z *zygote) alive() bool {
	select {
	case <-z.dead:
		return false
	default:
		return true
	}
}

// close destroys the zygote's jail, and with it any child still running
// (they live in its PID namespace).
func (z *zygote) close() error {
	z.closed.Do(func() { z.cerr = z.j.teardown() })
	return z.cerr
}

// child has the zygote fork a child for spec and hands it the run; the
// clock starts there. On error nothing is left, and, unless started is
// set, nothing of the script has run: the run may go elsewhere
// (errZygoteGone says the zygote itself failed).
func (z *zygote) child(spec *jail.Spec, prog program) (j *run, started bool, err error) {
	j = &run{id: newID(z.j.hostID), spec: spec, runner: z.r, hostID: z.j.hostID}
	j.phases.mark("begin")
	fail := func(err error) (*run, bool, error) {
		if terr := j.teardown(); terr != nil {
			err = errors.Join(err, terr)
		}
		return nil, started, err
	}
	req, err := encodeZygoteRequest(spec, prog)
	if err != nil {
		return fail(err)
	}
	inW, pid, err := z.startChild(j)
	if err != nil {
		return fail(err)
	}
	j.phases.mark("forked")
	_ = j.zconn.SetDeadline(time.Now().Add(parkTimeout))
	if _, err := j.zconn.Write(req); err != nil {
		return fail(fmt.Errorf("hand request to zygote child: %w", err))
	}
	if err := readChildReady(j.zconn); err != nil {
		return fail(err)
	}
	j.holdMountNS(pid) // its own, unshared before b"G"
	_ = j.zconn.SetDeadline(time.Time{})
	// The child is a jail now and goes on to the script: the run's clock
	// and counters start here, so that they leave out the child's setup
	// and its request (files, argv, env), as a cold run's leave out what
	// the runner does before the jail starts.
	started = true
	j.started = time.Now()
	if err := j.takeBaseline(); err != nil {
		return fail(err)
	}
	j.phases.mark("handed")
	j.exited = make(chan exitInfo, 1)
	go func() { j.exited <- readChildExit(j.zconn, pid) }()
	j.streamIO(inW, j.readers[0], j.readers[1])
	return j, true, nil
}

// startChild has the zygote fork a child for j and puts the child into a
// cgroup of its own. It returns the writer of the child's stdin and the
// child's host pid. Every step is pushed onto j's undo stack.
func (z *zygote) startChild(j *run) (*os.File, int, error) {
	r := z.r
	// An empty directory in the work dir names the run, so that Reap finds
	// its cgroup after a crash (reapOne removes both by id).
	marker := filepath.Join(r.work, j.id)
	if err := os.Mkdir(marker, 0o700); err != nil {
		return nil, 0, fmt.Errorf("create run marker: %w", err)
	}
	j.push(func() error { return os.Remove(marker) })
	r.live.Store(j.id, struct{}{})
	j.push(func() error { r.live.Delete(j.id); return nil })

	conn, theirs, err := socketpair(unix.SOCK_STREAM, "zygote run")
	if err != nil {
		return nil, 0, err
	}
	j.push(func() error { conn.Close(); return nil })
	raw, err := conn.SyscallConn()
	if err == nil {
		cerr := raw.Control(func(fd uintptr) {
			err = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
		})
		err = errors.Join(err, cerr)
	}
	if err != nil {
		theirs.Close()
		return nil, 0, fmt.Errorf("set SO_PASSCRED: %w", err)
	}
	inR, inW, err1 := os.Pipe()
	outR, outW, err2 := os.Pipe()
	errR, errW, err3 := os.Pipe()
	jailEnds := []*os.File{theirs, inR, outW, errW}
	defer func() {
		for _, f := range jailEnds {
			if f != nil {
				f.Close()
			}
		}
	}()
	j.push(func() error {
		for _, f := range []*os.File{inW, outR, errR} {
			if f != nil {
				f.Close()
			}
		}
		return nil
	})
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, 0, fmt.Errorf("create stdio pipes: %w", err)
	}
	j.readers = []*os.File{outR, errR}
	m, err := z.runCgroup(j)
	if err != nil {
		return nil, 0, err
	}
	rights := unix.UnixRights(int(theirs.Fd()), int(inR.Fd()), int(outW.Fd()), int(errW.Fd()))
	z.mu.Lock()
	_ = z.ctl.SetWriteDeadline(time.Now().Add(parkTimeout))
	_, _, err = z.ctl.WriteMsgUnix([]byte{'F'}, rights, nil)
	z.mu.Unlock()
	if err != nil {
		return nil, 0, fmt.Errorf("ask zygote to fork: %w", errors.Join(err, errZygoteGone))
	}
	for _, f := range jailEnds {
		f.Close()
	}
	jailEnds = nil

	pid, err := readChildPid(conn)
	if err != nil {
		return nil, 0, err
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("open child pidfd: %w", err)
	}
	j.kill = func() { _ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0) }
	// Until it has its verdict, the child must not outlive a failed step.
	j.push(func() error { j.kill(); unix.Close(pidfd); return nil })
	if err := z.attach(j, m, pid); err != nil {
		return nil, 0, err
	}
	j.zconn = conn
	return inW, pid, nil
}
