package container

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/seccomp"

	"github.com/jaild/jaild/jail"
)

// Config configures a Runner.
type Config struct {
	// StateDir is jaild's state directory. The runner keeps libcontainer
	// state in StateDir/jails and each run's tmpfs in StateDir/work; both
	// are owned by this runner and reaped by Reap.
	StateDir string
	// CgroupParent is the absolute cgroup path jails are created under,
	// one child per jail. Default "/jaild". On cgroup v2, when the process
	// owns a delegated cgroup (systemd Delegate=yes), it is taken relative
	// to that cgroup instead of the root: see planV2.
	CgroupParent string
	// UIDBase and UIDCount give the host uid/gid range jail root is mapped
	// into, one id per concurrent jail. Defaults 2000000000 and 65536,
	// far above any uid a distribution or systemd hands out. The range is
	// shared by every jaild process on the host: each Runner claims blocks
	// of 1024 ids from it (see uidblock.go), so both must be multiples of
	// 1024.
	UIDBase, UIDCount uint32
	// UIDLockDir holds one lock file per uid block; it must be the same
	// host-wide directory for every process that uses the range. Default
	// DefaultUIDLockDir.
	UIDLockDir string
	// Logger receives one debug line per jail built and torn down.
	Logger *slog.Logger
	// NoCgroupWarmer turns off keeping cgroup v1 attaches fast between
	// jail starts (see cgroupWarmer); for measurements.
	NoCgroupWarmer bool
}

// Info describes what the host gives jails.
type Info struct {
	CgroupVersion string `json:"cgroup_version"` // "v1" or "v2"
	SwapAccounted bool   `json:"swap_accounted"`
	Seccomp       bool   `json:"seccomp"`
	// CgroupParent is where jails' cgroups really go (from the v2 root, or
	// every v1 hierarchy's root), after resolving Config.CgroupParent.
	CgroupParent string `json:"cgroup_parent"`
}

// Runner is the libcontainer jail.Runner. It is safe for concurrent use.
type Runner struct {
	cfg   Config
	uids  *uidPool
	ids   *idAllocator
	live  sync.Map // jail id → struct{}: jails of this Runner, never reaped by it
	mode  cgroupMode
	log   *slog.Logger
	jails string        // libcontainer state root
	work  string        // per-run tmpfs mount points
	warm  *cgroupWarmer // v1 only; nil on v2 or when disabled

	// parent is the resolved Config.CgroupParent that jails go under.
	parent string
}

var _ jail.Runner = (*Runner)(nil)

// New checks the host can run jails and returns a Runner. Errors wrap
// jail.ErrUnavailable with the reason.
func New(cfg Config) (*Runner, error) {
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = "/jaild"
	}
	if cfg.UIDBase == 0 {
		cfg.UIDBase, cfg.UIDCount = 2000000000, 65536
	}
	if cfg.UIDLockDir == "" {
		cfg.UIDLockDir = DefaultUIDLockDir
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	switch {
	case os.Geteuid() != 0:
		return nil, fmt.Errorf("%w: the runner needs root (it creates user namespaces mapped to other uids, cgroups and mounts)", jail.ErrUnavailable)
	case !seccomp.Enabled:
		return nil, fmt.Errorf("%w: built without seccomp support (build with cgo and -tags seccomp)", jail.ErrUnavailable)
	case !filepath.IsAbs(cfg.StateDir) || !filepath.IsAbs(cfg.CgroupParent):
		return nil, fmt.Errorf("%w: state dir and cgroup parent must be absolute", jail.ErrUnavailable)
	}
	mode, err := detectCgroups()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jail.ErrUnavailable, err)
	}
	parent := cfg.CgroupParent
	if mode.v2 {
		p, err := placeV2(cfg.CgroupParent)
		if err != nil {
			return nil, fmt.Errorf("%w: place jail cgroups: %w", jail.ErrUnavailable, err)
		}
		parent = p.parent
		if p.base != "" {
			cfg.Logger.Info("jails nest in the delegated cgroup", "cgroup", p.base, "cgroup_parent", parent)
		}
	}
	for _, d := range []string{cfg.StateDir, filepath.Join(cfg.StateDir, "jails"), filepath.Join(cfg.StateDir, "work")} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return nil, fmt.Errorf("%w: create %s: %w", jail.ErrUnavailable, d, err)
		}
	}
	// The lock dir's parent is /run/jaild, which is also the socket's
	// directory: when creating it, make it 0755 whatever the umask.
	if parent := filepath.Dir(cfg.UIDLockDir); !exists(parent) {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, fmt.Errorf("%w: create %s: %w", jail.ErrUnavailable, parent, err)
		}
		if err := os.Chmod(parent, 0o755); err != nil {
			return nil, fmt.Errorf("%w: chmod %s: %w", jail.ErrUnavailable, parent, err)
		}
	}
	uids, err := newUIDPool(cfg.UIDLockDir, cfg.UIDBase, cfg.UIDCount, "/proc")
	if err != nil {
		return nil, fmt.Errorf("%w: %w", jail.ErrUnavailable, err)
	}
	ids, err := newGrowingAllocator(uids.claim)
	if err != nil {
		uids.close()
		return nil, fmt.Errorf("%w: %w", jail.ErrUnavailable, err)
	}
	initGOMAXPROCS()
	r := &Runner{cfg: cfg, uids: uids, ids: ids, mode: mode, parent: parent, log: cfg.Logger,
		jails: filepath.Join(cfg.StateDir, "jails"), work: filepath.Join(cfg.StateDir, "work")}
	if !mode.v2 && !cfg.NoCgroupWarmer {
		r.warm = &cgroupWarmer{}
	}
	return r, nil
}

// initGOMAXPROCS makes every jail's runc init start with GOMAXPROCS=1,
// unless the operator has set GOMAXPROCS. libcontainer starts each init
// with GOMAXPROCS copied from this process's environment (runc's
// newParentProcess), and the Go runtime reads the variable only when a
// process starts, so this changes the inits, not this process. The init is
// one thread's work: with a second P its runtime starts more threads and
// spins them. Measured 2026-12-02 (2 vCPU, interleaved A/B of 100 cold
// python runs, twice): 4-5 ms less CPU per jail and launch p50 2.4-3.7 ms
// shorter. The only other children this process has are the inits.
func initGOMAXPROCS() {
	if _, set := os.LookupEnv("GOMAXPROCS"); !set {
		_ = os.Setenv("GOMAXPROCS", "1")
	}
}

// Close gives this Runner's host uid blocks back to the host. Call it once
// every Run has returned; the process exiting has the same effect.
func (r *Runner) Close() error {
	r.uids.close()
	return nil
}

// Info reports the host's cgroup layout and seccomp support.
func (r *Runner) Info() Info {
	return Info{CgroupVersion: r.mode.String(), SwapAccounted: r.mode.swap, Seccomp: seccomp.Enabled,
		CgroupParent: r.parent}
}

// Run executes spec in a new jail and destroys the jail before returning.
func (r *Runner) Run(ctx context.Context, spec jail.Spec) (jail.Result, error) {
	res := jail.Result{Status: jail.StatusInternalError, ExitCode: -1, RootfsDigest: spec.Rootfs.Digest}
	fail := func(err error) (jail.Result, error) {
		res.Error = err.Error()
		return res, err
	}
	if err := spec.Validate(); err != nil {
		return fail(err)
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	j, err := r.start(&spec, (*run).launch)
	if err != nil {
		return fail(err)
	}
	return r.finish(ctx, j)
}

// finish supervises a started jail to its verdict and tears it down.
func (r *Runner) finish(ctx context.Context, j *run) (jail.Result, error) {
	out := j.wait(ctx)
	j.phases.mark("run")
	terr := j.teardown()
	j.phases.mark("teardown")
	r.log.Debug("jail phases", append([]any{"jail_id", j.id, "status", out.Status}, j.phases.attrs()...)...)
	if terr != nil {
		r.log.Error("tear down jail", "jail_id", j.id, "err", terr)
		if out.Status != jail.StatusInternalError {
			out.Status, out.Error = jail.StatusInternalError, terr.Error()
		}
		return out, terr
	}
	if out.Status == jail.StatusInternalError {
		return out, errors.New(out.Error)
	}
	return out, nil
}

// newID names a jail after its host uid and 8 random bytes; Reap reads the
// uid back to tell a live Runner's jails from a dead one's.
func newID(hostID uint32) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return fmt.Sprintf("j%d-%s", hostID, hex.EncodeToString(b))
}

// idHostUID reads the host uid back out of a jail id; false for ids of
// the older "j<hex>" form.
func idHostUID(id string) (uint32, bool) {
	rest, ok := strings.CutPrefix(id, "j")
	num, _, ok2 := strings.Cut(rest, "-")
	if !ok || !ok2 {
		return 0, false
	}
	n, err := strconv.ParseUint(num, 10, 32)
	return uint32(n), err == nil
}

// cgroupPath is where jail id's cgroup lives in every hierarchy.
func (r *Runner) cgroupPath(id string) string {
	return filepath.Join(r.parent, id)
}

// start builds a jail for spec and starts its process with launch.
func (r *Runner) start(spec *jail.Spec, launch func(*run) error) (*run, error) {
	return r.startJail(spec, false, launch)
}

// startJail is start, for a zygote's jail when zygote is set.
func (r *Runner) startJail(spec *jail.Spec, zygote bool, launch func(*run) error) (*run, error) {
	if r.warm != nil {
		r.warm.touch()
	}
	hostID, err := r.ids.get()
	if err != nil {
		return nil, err
	}
	j := &run{id: newID(hostID), spec: spec, runner: r, hostID: hostID}
	j.phases.mark("begin")
	ok := false
	defer func() {
		if !ok {
			if err := j.teardown(); err != nil {
				r.log.Error("roll back jail", "jail_id", j.id, "err", err)
			}
		}
	}()
	j.push(func() error {
		// A jail that could not be torn down may still run as hostID:
		// keep the id out of use for the rest of this Runner's life.
		if !j.failed {
			r.ids.put(hostID)
		}
		return nil
	})
	r.live.Store(j.id, struct{}{})
	j.push(func() error { r.live.Delete(j.id); return nil })

	workDir := filepath.Join(r.work, j.id)
	j.workDir = workDir
	j.push(func() error { return removeWorkDir(workDir) })
	if err := makeWorkDir(workDir, hostID, spec.Limits.Tmp, spec.Files); err != nil {
		return nil, err
	}
	j.phases.mark("workdir")
	cfg, err := buildConfig(jailParams{id: j.id, spec: spec, hostID: hostID,
		workDir: workDir, cgroup: r.cgroupPath(j.id), mode: r.mode, zygote: zygote})
	if err != nil {
		return nil, err
	}
	j.phases.mark("config")
	ct, err := libcontainer.Create(r.jails, j.id, cfg)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	j.phases.mark("create")
	j.ct = ct
	j.push(j.destroy)
	if err := launch(j); err != nil {
		return nil, err
	}
	ok = true
	j.phases.mark("launch")
	return j, nil
}

// cpuPoll is how often the cgroup's CPU usage is compared to the budget: a
// tenth of the budget, between 5 and 50 ms.
func cpuPoll(budget time.Duration) time.Duration {
	return min(max(budget/10, 5*time.Millisecond), 50*time.Millisecond)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
