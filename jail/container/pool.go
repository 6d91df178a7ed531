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

// PoolConfig configures a warm pool.
type PoolConfig struct {
	// Templates are the specs to keep parked jails for, one key each (see
	// jail.PoolKey); their Files and Stdin are ignored. Typically the
	// default spec of each language, or of each policy profile.
	Templates []PoolTemplate
	// Size is how many jails each key keeps parked at least; 0 disables
	// the pool (every run is cold).
	Size int
	// MaxSize bounds a key's target, which grows by one each time a run
	// finds no parked jail and shrinks back to Size after IdleShrink
	// without one. Default 2 × Size.
	MaxSize int
	// MemoryBudget caps the cgroup memory of all parked jails together;
	// a refill that would exceed it waits. Default 512 MiB.
	MemoryBudget int64
	// IdleShrink: a key unused this long drops its target by one.
	// Default 1 minute.
	IdleShrink time.Duration
	// Builders is how many parked jails may be built at once. Default 2.
	Builders int
}

// PoolTemplate is one spec to keep warm, with its language and the name
// of what it is for (a policy profile), which Stats reports per key.
type PoolTemplate struct {
	Language jail.Language
	Profile  string
	Spec     jail.Spec
}

// Pool is a jail.Runner that serves runs from jails built and warmed
// ahead of time and falls back to cold jails. Every parked jail serves
// exactly one run and is destroyed after it; a background worker refills.
// Parked jails are ordinary jails of the Runner: Reap removes them after a
// crash and Close on shutdown.
type Pool struct {
	r        *Runner
	cfg      PoolConfig
	mu       sync.Mutex
	keys     map[jail.PoolKey]*poolKey
	st       jail.PoolStats
	wake     chan struct{}
	stop     chan struct{}
	done     chan struct{}
	running  int            // runs in flight
	building int            // parked jails being built
	pending  sync.WaitGroup // teardowns of finished warm runs
}

type poolKey struct {
	lang     jail.Language
	tmpl     jail.Spec
	prog     program
	profiles []string // of the templates that map onto this key, sorted
	// retired: SetTemplates dropped the key; a build still running for it
	// is torn down when it finishes.
	retired  bool
	parked   []parkedJail
	building int
	target   int
	lastMiss time.Time
	lastUse  time.Time
	// deferFrom is when a hit took the key below its target while it
	// still had a parked jail; zero when no refill is being deferred.
	deferFrom time.Time
	stats     jail.PoolKeyStats
	builds    int
	buildSum  time.Duration
	memSum    int64
}

type parkedJail struct {
	j *run
	p *parked
}

var _ jail.Runner = (*Pool)(nil)

// NewPool starts a pool over r and begins filling it.
func NewPool(r *Runner, cfg PoolConfig) (*Pool, error) {
	if cfg.MaxSize < cfg.Size {
		cfg.MaxSize = 2 * cfg.Size
	}
	if cfg.MemoryBudget <= 0 {
		cfg.MemoryBudget = 512 << 20
	}
	if cfg.Builders <= 0 {
		cfg.Builders = 2
	}
	if cfg.IdleShrink <= 0 {
		cfg.IdleShrink = time.Minute
	}
	p := &Pool{r: r, cfg: cfg, keys: map[jail.PoolKey]*poolKey{}, wake: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	p.st.BudgetBytes = cfg.MemoryBudget
	if err := p.SetTemplates(cfg.Templates); err != nil {
		return nil, err
	}
	go p.refillLoop()
	p.kick()
	return p, nil
}

// SetTemplates makes ts the pool's templates: it keeps parked jails for
// each one's key, from now on for those keys only. A key that stays keeps
// its parked jails and counters; the parked jails of a key that goes are
// destroyed (in the background; Close waits for them) and a build still
// running for it is destroyed when it finishes. Call it again whenever the
// specs requests produce change (a reload of config or policy): a key no
// request can match only holds memory and uids. A template that cannot be
// pooled is left out and named in the error; the others are applied.
func (p *Pool) SetTemplates(ts []PoolTemplate) error {
	type tk struct {
		k    jail.PoolKey
		t    PoolTemplate
		prog program
	}
	var ok []tk
	var errs []error
	for _, t := range ts {
		prog, err := poolProgram(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok = append(ok, tk{jail.NewPoolKey(t.Language, &t.Spec, prog.flags), t, prog})
	}
	var gone []parkedJail
	p.mu.Lock()
	select {
	case <-p.stop:
		p.mu.Unlock()
		return errors.Join(append(errs, errors.New("pool is closed"))...)
	default:
	}
	keys := map[jail.PoolKey]*poolKey{}
	for _, x := range ok {
		pk := keys[x.k]
		if pk == nil {
			if pk = p.keys[x.k]; pk != nil {
				pk.profiles = nil
			} else {
				pk = &poolKey{lang: x.t.Language, tmpl: x.t.Spec, prog: x.prog, target: p.cfg.Size,
					stats: jail.PoolKeyStats{Language: x.t.Language, Rootfs: x.t.Spec.Rootfs.Digest}}
			}
			keys[x.k] = pk
		}
		if x.t.Profile != "" && !slices.Contains(pk.profiles, x.t.Profile) {
			pk.profiles = append(pk.profiles, x.t.Profile)
			slices.Sort(pk.profiles)
		}
	}
	for k, pk := range p.keys {
		if _, stays := keys[k]; !stays {
			pk.retired = true
			gone = append(gone, pk.parked...)
			pk.parked = nil
		}
	}
	p.keys = keys
	p.tearDownLater(gone, "tear down parked jail of a retired pool key")
	p.mu.Unlock()
	p.kick()
	return errors.Join(errs...)
}

// poolProgram checks t can be pooled and splits its argv.
func poolProgram(t PoolTemplate) (program, error) {
	prog, ok := splitProgram(t.Spec.Argv)
	if !ok {
		return program{}, fmt.Errorf("pool template %q (%s): argv is not interpreter, options, script", t.Profile, t.Language)
	}
	if _, err := loaderArgv(t.Language, prog); err != nil {
		return program{}, fmt.Errorf("pool template %q: %w", t.Profile, err)
	}
	if t.Spec.Seccomp == nil {
		return program{}, fmt.Errorf("pool template %q (%s): no seccomp filter", t.Profile, t.Language)
	}
	return prog, nil
}

// tearDownLater destroys jails in the background; Close waits for them.
// Call it with p.mu held or not: it takes no lock.
func (p *Pool) tearDownLater(js []parkedJail, msg string) {
	for _, pj := range js {
		p.pending.Add(1)
		go func() {
			defer p.pending.Done()
			if err := pj.j.teardown(); err != nil {
				p.r.log.Error(msg, "jail_id", pj.j.id, "err", err)
			}
		}()
	}
}

func (p *Pool) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run serves spec from a parked jail of its key when one is ready, else
// runs it cold. lang comes from the key whose program matches.
func (p *Pool) Run(ctx context.Context, spec jail.Spec) (jail.Result, error) {
	if ctx.Err() != nil {
		return p.r.Run(ctx, spec) // reports the cancellation; no jail wasted
	}
	j, pk, prog := p.take(&spec)
	if j == nil {
		return p.runCold(ctx, spec)
	}
	defer p.doneRunning()
	if err := j.j.handover(&spec, prog, j.p); err != nil {
		// Nothing of the script has run: destroy the jail, go cold.
		p.r.log.Warn("hand over to parked jail", "jail_id", j.j.id, "err", err)
		if terr := j.j.teardown(); terr != nil {
			p.r.log.Error("tear down parked jail", "jail_id", j.j.id, "err", terr)
		}
		p.mu.Lock()
		pk.stats.Hits--
		p.st.Hits--
		pk.stats.Misses++
		p.st.Misses++
		p.mu.Unlock()
		return p.r.Run(ctx, spec)
	}
	return p.finish(ctx, j.j)
}

// finish supervises a handed-over jail to its verdict and tears it down
// in the background: by the time wait returns every process of the jail
// is dead (its PID 1 exited, the kernel killed the rest) and its usage is
// read, so what is left — cgroup directories, the tmpfs, libcontainer
// state, the host uid — no longer affects the result. Close waits for
// these teardowns; a failure is logged (the reaper removes what is left
// at the next start).
func (p *Pool) finish(ctx context.Context, j *run) (jail.Result, error) {
	return j.finishLater(ctx, &p.pending, "warm")
}

func (p *Pool) runCold(ctx context.Context, spec jail.Spec) (jail.Result, error) {
	defer p.doneRunning()
	return p.r.Run(ctx, spec)
}

func (p *Pool) doneRunning() {
	p.mu.Lock()
	p.running--
	p.mu.Unlock()
	p.kick()
}

// take finds the spec's key and pops a live parked jail, counting a hit,
// a miss (key known, none parked) or an ineligible run.
func (p *Pool) take(spec *jail.Spec) (*parkedJail, *poolKey, program) {
	prog, ok := splitProgram(spec.Argv)
	var keys []jail.PoolKey
	if ok && spec.Seccomp != nil && spec.Validate() == nil {
		for _, l := range jail.Languages {
			keys = append(keys, jail.NewPoolKey(l, spec, prog.flags))
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running++
	var pk *poolKey
	for _, k := range keys {
		if v, ok := p.keys[k]; ok {
			pk = v
			break
		}
	}
	if pk == nil {
		p.st.Ineligible++
		return nil, nil, prog
	}
	now := time.Now()
	pk.lastUse = now
	for len(pk.parked) > 0 {
		pj := pk.parked[0]
		pk.parked = pk.parked[1:]
		if pj.j.alive() {
			pk.stats.Hits++
			p.st.Hits++
			if pk.deferFrom.IsZero() {
				pk.deferFrom = now
			}
			p.kick()
			return &pj, pk, prog
		}
		p.tearDownLater([]parkedJail{pj}, "tear down dead parked jail")
	}
	pk.stats.Misses++
	p.st.Misses++
	pk.lastMiss = now
	if pk.target < p.cfg.MaxSize {
		pk.target++
	}
	p.kick()
	return nil, pk, prog
}

// refillDefer is how long a refill may wait for runs in flight to end
// while its key still has a parked jail. A build (runc's init, an
// interpreter start) takes a CPU for tens of milliseconds; on a small host
// it slowed the warm run it was replacing by about half (measured on 2
// vCPUs: a pure-Python loop 20–27 ms in a cold jail, 30–43 ms in a warm
// one with the refill beside it). A key with nothing parked is refilled at
// once: its next request would otherwise run cold.
const refillDefer = 100 * time.Millisecond

// refillLoop builds parked jails, at most Builders at a time, within
// the memory budget, for the keys furthest below their targets.
func (p *Pool) refillLoop() {
	defer close(p.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-p.stop:
			return
		case <-p.wake:
		case <-tick.C:
		}
		p.trim()
		for {
			pk, retry := p.next()
			if pk == nil {
				if retry > 0 {
					time.AfterFunc(retry, p.kick)
				}
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.refill(pk)
				p.kick()
			}()
		}
	}
}

// trim destroys parked jails above their key's target once the target
// has shrunk, so an idle pool gives its memory back.
func (p *Pool) trim() {
	var extra []parkedJail
	p.mu.Lock()
	for _, pk := range p.keys {
		for len(pk.parked) > pk.target {
			last := len(pk.parked) - 1
			extra = append(extra, pk.parked[last])
			pk.parked = pk.parked[:last]
		}
	}
	p.mu.Unlock()
	for _, pj := range extra {
		if err := pj.j.teardown(); err != nil {
			p.r.log.Error("tear down parked jail", "jail_id", pj.j.id, "err", err)
		}
	}
}

// next reserves a build for the key furthest below its target, or
// returns nil when none is, all builders are busy or the budget is spent.
// A key that still has a parked jail is skipped while runs are in flight,
// for at most refillDefer (see there); retry is how soon the first such
// key's deferral ends, so that the caller can look again then.
func (p *Pool) next() (pk *poolKey, retry time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cfg.Size == 0 || p.building >= p.cfg.Builders {
		return nil, 0
	}
	select {
	case <-p.stop:
		return nil, 0
	default:
	}
	var best *poolKey
	var mem int64
	now := time.Now()
	gap := func(pk *poolKey) int { return pk.target - len(pk.parked) - pk.building }
	for _, pk := range p.keys {
		if pk.target > p.cfg.Size && now.Sub(pk.lastMiss) > p.cfg.IdleShrink && now.Sub(pk.lastUse) > p.cfg.IdleShrink/2 {
			pk.target--
			pk.lastMiss = now
		}
		mem += int64(len(pk.parked)+pk.building) * p.jailBytes(pk)
		if gap(pk) <= 0 {
			pk.deferFrom = time.Time{}
			continue
		}
		if p.running > 0 && len(pk.parked) > 0 && !pk.deferFrom.IsZero() {
			if left := refillDefer - now.Sub(pk.deferFrom); left > 0 {
				if retry == 0 || left < retry {
					retry = left
				}
				continue
			}
		}
		if best == nil || gap(pk) > gap(best) {
			best = pk
		}
	}
	// A key not measured yet builds alone even when its limit does not fit
	// beside what is parked: otherwise a profile with a large limit would
	// never get its first jail.
	alone := best != nil && best.builds == 0 && p.building == 0
	if best == nil || (!alone && mem+p.jailBytes(best) > p.cfg.MemoryBudget) {
		return nil, retry
	}
	best.deferFrom = time.Time{}
	best.building++
	p.building++
	return best, retry
}

// jailBytes is what one parked jail of pk is taken to hold against the
// budget: the mean of its builds, or before the first build has been
// measured its memory limit (at most the whole budget). Counting 0 there
// let the first builds of every key start together at start-up and
// overshoot the budget by up to Builders jails; now at most one jail, of
// a key built alone (see next).
func (p *Pool) jailBytes(pk *poolKey) int64 {
	if pk.builds > 0 {
		return pk.stats.JailBytesMean
	}
	return min(max(pk.tmpl.Limits.Memory, 0), p.cfg.MemoryBudget)
}

func (p *Pool) refill(pk *poolKey) {
	j, pj, err := p.r.park(pk.lang, &pk.tmpl, pk.prog)
	var mem int64
	if err == nil {
		if u, uerr := j.cg.read(nil); uerr == nil {
			mem = u.peak
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pk.building--
	p.building--
	if err != nil {
		p.st.RefillErrors++
		p.r.log.Error("build parked jail", "language", pk.lang, "err", err)
		return
	}
	p.st.Refills++
	pk.builds++
	pk.buildSum += pj.built
	pk.memSum += mem
	pk.stats.RefillLastMS = float64(pj.built.Microseconds()) / 1000
	pk.stats.RefillMeanMS = float64((pk.buildSum / time.Duration(pk.builds)).Microseconds()) / 1000
	pk.stats.JailBytesMean = pk.memSum / int64(pk.builds)
	// A jail nobody will take is torn down in the background, not under
	// p.mu: a teardown waits for the jail's processes to die, which would
	// hold up every take and Stats meanwhile.
	select {
	case <-p.stop:
		p.tearDownLater([]parkedJail{{j, pj}}, "tear down parked jail")
		return
	default:
	}
	if pk.retired {
		p.tearDownLater([]parkedJail{{j, pj}}, "tear down parked jail of a retired pool key")
		return
	}
	pk.parked = append(pk.parked, parkedJail{j, pj})
}

// Stats returns a snapshot of the pool's counters and sizes.
func (p *Pool) Stats() jail.PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Parked, st.MemoryBytes, st.Keys = 0, 0, nil
	for _, pk := range p.keys {
		ks := pk.stats
		ks.Parked, ks.Target = len(pk.parked), pk.target
		ks.Profiles = slices.Clone(pk.profiles)
		st.Parked += ks.Parked
		st.MemoryBytes += int64(ks.Parked) * ks.JailBytesMean
		st.Keys = append(st.Keys, ks)
	}
	return st
}

// Close stops refilling, destroys every parked jail and waits for the
// teardowns of finished runs. Runs in flight are not affected.
func (p *Pool) Close() error {
	select {
	case <-p.stop:
		return nil
	default:
	}
	close(p.stop)
	<-p.done
	p.mu.Lock()
	var all []parkedJail
	for _, pk := range p.keys {
		all = append(all, pk.parked...)
		pk.parked = nil
	}
	p.mu.Unlock()
	var errs []error
	for _, pj := range all {
		errs = append(errs, pj.j.teardown())
	}
	p.pending.Wait()
	return errors.Join(errs...)
}
