package container

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jaild/jaild/jail"
)

// zygoteKey says which zygote can serve a spec: what is fixed when the
// zygote starts. Memory, pids and CPU quota (the run's own cgroup), the
// wall, CPU-time, tmpfs and output limits are per run and not part of it.
type zygoteKey struct {
	rootfs, rootfsPath, interpreter, flags, env, seccomp, hostname string
	openFiles                                                      uint64
}

func newZygoteKey(spec *jail.Spec, flags []string) zygoteKey {
	k := jail.NewPoolKey(jail.Python, spec, flags)
	return zygoteKey{k.Rootfs, k.RootfsPath, k.Interpreter, k.Flags, k.Env, k.Seccomp, k.Hostname, k.OpenFiles}
}

// Zygotes is a jail.Runner that runs python specs matching one of its
// templates in children of a zygote (zygote.go), one zygote per key,
// started with the templates and restarted when one dies; every other
// spec, and a run whose zygote could not fork, goes to the fallback runner.
type Zygotes struct {
	r        *Runner
	fallback jail.Runner
	mu       sync.Mutex
	keys     map[zygoteKey]*zygoteSlot
	closed   bool
	st       jail.ZygoteStats
	pending  sync.WaitGroup // background teardowns of finished runs
}

type zygoteSlot struct {
	tmpl     jail.Spec
	prog     program
	profiles []string
	start    sync.Mutex // one start at a time
	z        *zygote    // under Zygotes.mu
	failed   time.Time  // the last start that failed, under start
}

// restartBackoff is how long a key whose zygote failed to start sends its
// runs straight to the fallback before trying again.
const restartBackoff = 5 * time.Second

var _ jail.Runner = (*Zygotes)(nil)

// NewZygotes starts a zygote for each python template; the others are
// left to fallback.
func NewZygotes(r *Runner, fallback jail.Runner, ts []PoolTemplate) (*Zygotes, error) {
	zs := &Zygotes{r: r, fallback: fallback, keys: map[zygoteKey]*zygoteSlot{}}
	return zs, zs.SetTemplates(ts)
}

// SetTemplates makes ts the templates: zygotes of keys that go are closed
// (runs of theirs in flight are killed with them), new keys get one. A
// template that cannot have a zygote is left out and named in the error.
func (zs *Zygotes) SetTemplates(ts []PoolTemplate) error {
	var errs []error
	keys := map[zygoteKey]*zygoteSlot{}
	for _, t := range ts {
		if t.Language != jail.Python {
			continue
		}
		prog, err := poolProgram(t)
		if err == nil {
			_, err = zygoteFilter(&t.Spec)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("pool template %q: %w", t.Profile, err))
			continue
		}
		k := newZygoteKey(&t.Spec, prog.flags)
		if keys[k] == nil {
			keys[k] = &zygoteSlot{tmpl: t.Spec, prog: prog}
		}
		if t.Profile != "" && !slices.Contains(keys[k].profiles, t.Profile) {
			keys[k].profiles = append(keys[k].profiles, t.Profile)
		}
	}
	var gone []*zygote
	zs.mu.Lock()
	if zs.closed {
		zs.mu.Unlock()
		return errors.Join(append(errs, errors.New("zygotes are closed"))...)
	}
	for k, old := range zs.keys {
		if s, stays := keys[k]; stays {
			s.z = old.z
		} else if old.z != nil {
			gone = append(gone, old.z)
		}
	}
	zs.keys = keys
	zs.mu.Unlock()
	for _, z := range gone {
		errs = append(errs, z.close())
	}
	for _, s := range keys {
		if _, err := zs.zygote(s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// zygote returns s's running zygote, starting one if there is none.
func (zs *Zygotes) zygote(s *zygoteSlot) (*zygote, error) {
	s.start.Lock()
	defer s.start.Unlock()
	zs.mu.Lock()
	z, closed := s.z, zs.closed
	zs.mu.Unlock()
	if closed {
		return nil, errors.New("zygotes are closed")
	}
	if z != nil && z.alive() {
		return z, nil
	}
	if z != nil {
		if err := z.close(); err != nil {
			zs.r.log.Error("tear down dead zygote", "jail_id", z.j.id, "err", err)
		}
	}
	if since := time.Since(s.failed); since < restartBackoff {
		return nil, fmt.Errorf("zygote for %v failed to start %v ago", s.profiles, since.Round(time.Millisecond))
	}
	z, err := zs.r.startZygote(jail.Python, &s.tmpl, s.prog)
	zs.mu.Lock()
	defer zs.mu.Unlock()
	if err != nil {
		s.z = nil
		s.failed = time.Now()
		zs.st.StartErrors++
		return nil, fmt.Errorf("start zygote for %v: %w", s.profiles, err)
	}
	zs.st.Starts++
	if zs.closed || zs.keys[newZygoteKey(&s.tmpl, s.prog.flags)] != s {
		return nil, errors.Join(errors.New("zygote key retired while starting"), z.close())
	}
	s.z = z
	return z, nil
}

func (zs *Zygotes) slot(spec *jail.Spec) (*zygoteSlot, program) {
	prog, ok := splitProgram(spec.Argv)
	if !ok || spec.Seccomp == nil || spec.Validate() != nil {
		return nil, prog
	}
	zs.mu.Lock()
	defer zs.mu.Unlock()
	return zs.keys[newZygoteKey(spec, prog.flags)], prog
}

func (zs *Zygotes) count(f func(*jail.ZygoteStats)) {
	zs.mu.Lock()
	f(&zs.st)
	zs.mu.Unlock()
}

// Run runs spec in a zygote's child when a template's key matches it.
func (zs *Zygotes) Run(ctx context.Context, spec jail.Spec) (jail.Result, error) {
	s, prog := zs.slot(&spec)
	if s == nil || ctx.Err() != nil {
		zs.count(func(st *jail.ZygoteStats) { st.Ineligible++ })
		return zs.fallback.Run(ctx, spec)
	}
	z, err := zs.zygote(s)
	var j *run
	started := false
	if err == nil {
		j, started, err = z.child(&spec, prog)
	}
	if err != nil && started { // the script may have begun: no second run
		zs.count(func(st *jail.ZygoteStats) { st.Runs++ })
		return jail.Result{Status: jail.StatusInternalError, ExitCode: -1, RootfsDigest: spec.Rootfs.Digest,
			Error: err.Error()}, err
	}
	if err != nil {
		// Nothing of the script ran: it runs elsewhere.
		zs.r.log.Warn("zygote run fell back", "err", err)
		zs.count(func(st *jail.ZygoteStats) { st.Fallbacks++ })
		return zs.fallback.Run(ctx, spec)
	}
	zs.count(func(st *jail.ZygoteStats) { st.Runs++ })
	return j.finishLater(ctx, &zs.pending, "zygote")
}

// Fallback is the runner behind the zygotes (its stats are its own).
func (zs *Zygotes) Fallback() jail.Runner { return zs.fallback }

// ZygoteStats returns a snapshot of the counters.
func (zs *Zygotes) ZygoteStats() jail.ZygoteStats {
	zs.mu.Lock()
	defer zs.mu.Unlock()
	st := zs.st
	for _, s := range zs.keys {
		if s.z != nil && s.z.alive() {
			st.Zygotes++
		}
	}
	return st
}

// Close stops every zygote, which kills any run still in one, and waits
// for every run to be torn down. It does not close the fallback runner.
func (zs *Zygotes) Close() error {
	zs.mu.Lock()
	if zs.closed {
		zs.mu.Unlock()
		return nil
	}
	zs.closed = true
	var all []*zygote
	for _, s := range zs.keys {
		if s.z != nil {
			all = append(all, s.z)
		}
	}
	zs.mu.Unlock()
	var errs []error
	for _, z := range all {
		errs = append(errs, z.close())
	}
	zs.pending.Wait()
	return errors.Join(errs...)
}
