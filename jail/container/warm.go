package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jaild/jaild/jail"
)

// errParkedGone means a parked jail died before it was handed a run.
var errParkedGone = errors.New("parked jail exited before hand-over")

// parkTimeout bounds an interpreter's start-up in a parked jail.
const parkTimeout = 10 * time.Second

// parked is the extra state of a jail built ahead of its run.
type parked struct {
	stdin *os.File // write end of the jail's stdin
	req   *os.File // write end of the loader's request pipe (fd 3)
	out   *os.File // read ends of stdout and stderr
	err   *os.File
	built time.Duration // how long building and warming took
}

// park builds a complete jail for tmpl — namespaces, cgroup with limits,
// mounts, seccomp, no capabilities — and starts the interpreter with the
// loader, returning once the loader waits for its request. tmpl's Files,
// Stdin and Output are ignored; its Env is cut to the start-up variables.
func (r *Runner) park(lang jail.Language, tmpl *jail.Spec, prog program) (*run, *parked, error) {
	argv, err := loaderArgv(lang, prog)
	if err != nil {
		return nil, nil, err
	}
	spec := *tmpl
	spec.Argv, spec.Env, spec.Files, spec.Stdin, spec.Output = argv, jail.StartupEnv(tmpl.Env), nil, nil, nil
	if err := spec.Validate(); err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	p := &parked{}
	j, err := r.start(&spec, func(j *run) error { return j.launchParked(p) })
	if err != nil {
		return nil, nil, err
	}
	p.built = time.Since(t0)
	return j, p, nil
}

// launchParked starts the loader with stdio and its two pipes, and waits
// for its ready byte.
func (j *run) launchParked(p *parked) error {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("create request pipe: %w", err)
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return fmt.Errorf("create ready pipe: %w", err)
	}
	defer readyR.Close()
	j.push(func() error { reqW.Close(); return nil }) // handover closes it first
	// ExtraFiles[i] becomes fd 3+i in the jail, where the loader reads them.
	extra := make([]*os.File, 2)
	extra[loaderRequestFD-3] = reqR
	extra[loaderReadyFD-3] = readyW
	inW, outR, errR, err := j.startInit(extra...)
	if err != nil {
		return fmt.Errorf("start parked jail: %w", err)
	}
	p.stdin, p.req, p.out, p.err = inW, reqW, outR, errR
	if pid, err := j.process.Pid(); err == nil {
		j.holdMountNS(pid)
	}
	j.exited = j.watchExit()
	if err := j.containerCgroups(); err != nil {
		return err
	}
	_ = readyR.SetReadDeadline(time.Now().Add(parkTimeout))
	b := make([]byte, 1)
	if n, err := readyR.Read(b); n != 1 || b[0] != 'R' {
		return fmt.Errorf("wait for loader: %w (stderr is not read while parked)", errors.Join(err, errParkedGone))
	}
	return nil
}

// alive reports whether the parked jail's process is still waiting.
func (j *run) alive() bool {
	select {
	case ex := <-j.exited:
		j.exited <- ex // keep it for wait
		return false
	default:
		return true
	}
}

// handover gives a parked jail its run: the files go into its work dir
// (written by the runner, as for a cold run), the cgroup's counters are
// taken as the baseline and the peak reset, then the loader gets argv and
// env and the script's stdin flows. The run's clock starts here.
func (j *run) handover(spec *jail.Spec, prog program, p *parked) error {
	j.spec = spec
	j.started = time.Now()
	j.phases = phases{}
	j.phases.mark("handover")
	for _, f := range spec.Files {
		if err := writeFile(filepath.Join(j.workDir, "work"), f, j.hostID); err != nil {
			return err
		}
	}
	if err := j.takeBaseline(); err != nil {
		return err
	}
	msg, err := encodeRequest(prog, spec.Env)
	if err != nil {
		return err
	}
	_ = p.req.SetWriteDeadline(time.Now().Add(parkTimeout))
	_, err = p.req.Write(msg)
	p.req.Close()
	if err != nil {
		return fmt.Errorf("hand request to loader: %w", err)
	}
	j.phases.mark("handed")
	j.streamIO(p.stdin, p.out, p.err)
	return nil
}

// takeBaseline takes the cgroup's counters at hand-over as the run's
// baseline and resets its peak, so that the run reports its own usage
// only (a parked jail's or a zygote child's setup left out).
func (j *run) takeBaseline() error {
	base, err := j.cg.read(nil)
	if err != nil {
		return fmt.Errorf("read cgroup baseline: %w", err)
	}
	base.peak = 0
	j.base = base
	if j.peak, err = j.cg.resetPeak(); err != nil {
		return fmt.Errorf("reset peak memory: %w", err)
	}
	if j.peak != nil {
		pf := j.peak
		j.push(pf.Close)
	}
	return nil
}
