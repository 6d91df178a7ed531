package container

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"

	"github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/jail"
)

// jailParams is what one run's configuration is built from.
type jailParams struct {
	id      string
	spec    *jail.Spec
	hostID  uint32 // host uid and gid that jail root maps to
	workDir string // host path of the run's tmpfs (holds work/ and tmp/)
	cgroup  string // absolute cgroup path, e.g. /jaild/<id>
	mode    cgroupMode
	zygote  bool // the jail of a zygote (zygote.go): see configureZygote
}

// buildConfig turns a Spec into a libcontainer config. Each configureX step
// owns one concern so that a reviewer can check each isolation property in
// one place.
func buildConfig(p jailParams) (*configs.Config, error) {
	cfg := &configs.Config{
		Rootfs:     p.spec.Rootfs.Path,
		Readonlyfs: true,
		Hostname:   p.spec.Hostname,
		// Empty, not nil: a nil Capabilities keeps every capability.
		Capabilities:    &configs.Capabilities{},
		NoNewPrivileges: true,
		// Prefer jails over anything else when the host runs out of memory.
		OomScoreAdj: ptr(1000),
		// No ParentDeathSignal: the kernel ties it to the *thread* that
		// forked (golang/go#27505), and Go ends threads at will (runc's own
		// mount-source goroutine exits its locked thread by design), so it
		// SIGKILLed about 1 in 1,000 jails mid-bootstrap under the soak
		// ("write init-p: broken pipe"). A daemon that dies leaves its
		// jails to the reaper at the next start (Reap).
		RootPropagation: unix.MS_PRIVATE | unix.MS_REC,
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "jail"
	}
	for _, step := range []func(*configs.Config, jailParams) error{
		configureNamespaces,
		configureIDMaps,
		configureMounts,
		configureDevices,
		configureCgroup,
		configureRlimits,
		configureSeccomp,
		configureZygote,
	} {
		if err := step(cfg, p); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

func configureNamespaces(cfg *configs.Config, _ jailParams) error {
	cfg.Namespaces = configs.Namespaces{
		{Type: configs.NEWUSER},
		{Type: configs.NEWPID}, // the script cannot see or signal anything outside
		{Type: configs.NEWNS},
		{Type: configs.NEWNET}, // loopback only: no interface leads out
		{Type: configs.NEWIPC},
		{Type: configs.NEWUTS},
		{Type: configs.NEWCGROUP},
	}
	cfg.Networks = []*configs.Network{{Type: "loopback"}}
	return nil
}

// configureIDMaps maps jail root, and only jail root, to the run's own
// unprivileged host uid/gid: no other host id exists inside.
func configureIDMaps(cfg *configs.Config, p jailParams) error {
	m := []configs.IDMap{{ContainerID: 0, HostID: int64(p.hostID), Size: 1}}
	cfg.UIDMappings, cfg.GIDMappings = m, m
	return nil
}

const (
	mntNoExec = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
)

func configureMounts(cfg *configs.Config, p jailParams) error {
	tmp := p.spec.Limits.Tmp
	cfg.Mounts = []*configs.Mount{
		{Source: "proc", Destination: "/proc", Device: "proc", Flags: mntNoExec},
		{Source: "tmpfs", Destination: "/dev", Device: "tmpfs",
			Flags: unix.MS_NOSUID | unix.MS_STRICTATIME, Data: "mode=755,size=65536k"},
		{Source: "shm", Destination: "/dev/shm", Device: "tmpfs",
			Flags: mntNoExec, Data: fmt.Sprintf("mode=1777,size=%d", tmp)},
		// The run's own tmpfs, made and filled by the runner before start,
		// holds both directories so Limits.Tmp caps them together.
		{Source: filepath.Join(p.workDir, "work"), Destination: jail.WorkDir, Device: "bind",
			Flags: unix.MS_BIND | mntNoExec},
		{Source: filepath.Join(p.workDir, "tmp"), Destination: "/tmp", Device: "bind",
			Flags: unix.MS_BIND | mntNoExec},
	}
	// /sys is not mounted at all: nothing there is needed by a script and
	// it exposes host details and writable knobs.
	cfg.MaskPaths = []string{
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore",
		"/proc/keys", "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi",
		"/proc/timer_list", "/proc/timer_stats",
	}
	cfg.ReadonlyPaths = []string{
		"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
	}
	return nil
}

// configureDevices exposes only null, zero, full, random, urandom and tty.
func configureDevices(cfg *configs.Config, _ jailParams) error {
	want := map[string]bool{"/dev/null": true, "/dev/zero": true, "/dev/full": true,
		"/dev/random": true, "/dev/urandom": true, "/dev/tty": true}
	for _, d := range specconv.AllowedDevices {
		if want[d.Path] {
			cfg.Devices = append(cfg.Devices, d)
		}
	}
	if len(cfg.Devices) != len(want) {
		return fmt.Errorf("build device list: found %d of %d devices", len(cfg.Devices), len(want))
	}
	return nil
}

func configureCgroup(cfg *configs.Config, p jailParams) error {
	l := p.spec.Limits
	var rules []*devconfig.Rule
	for _, d := range cfg.Devices {
		rules = append(rules, &d.Rule)
	}
	r := &cgroups.Resources{
		Memory:    l.Memory,
		CpuPeriod: 100000,
		CpuQuota:  int64(math.Ceil(l.CPUs * 100000)),
		PidsLimit: ptr(l.Pids),
		Devices:   rules,
	}
	// Swap counts against the same limit, so a jail cannot spill into swap.
	// A v1 host without swap accounting (no memory.memsw.*) cannot count
	// it, so the jail's cgroup must not swap at all: swappiness 0. On v2
	// libcontainer turns MemorySwap into memory.swap.max and skips it when
	// the kernel has no swap accounting, so set it even when swap was not
	// detected (detection looks at our own cgroup, which at the v2 root has
	// no memory.swap.max).
	switch {
	case p.mode.swap || p.mode.v2:
		r.MemorySwap = l.Memory
	case !p.mode.v2:
		r.MemorySwappiness = ptr(uint64(0))
	}
	cfg.Cgroups = &cgroups.Cgroup{Path: p.cgroup, Resources: r}
	return nil
}

func configureRlimits(cfg *configs.Config, p jailParams) error {
	l := p.spec.Limits
	cpuSecs := uint64(math.Ceil(l.CPUTime.Seconds()))
	cfg.Rlimits = []configs.Rlimit{
		{Type: unix.RLIMIT_CORE, Hard: 0, Soft: 0},
		{Type: unix.RLIMIT_NOFILE, Hard: l.OpenFiles, Soft: l.OpenFiles},
		{Type: unix.RLIMIT_FSIZE, Hard: uint64(l.Tmp), Soft: uint64(l.Tmp)},
		// A per-process backstop behind the cgroup CPU watch: SIGXCPU a
		// second after the budget, SIGKILL a second later.
		{Type: unix.RLIMIT_CPU, Soft: cpuSecs + 1, Hard: cpuSecs + 2},
	}
	return nil
}

func configureSeccomp(cfg *configs.Config, p jailParams) error {
	sc, err := specconv.SetupSeccomp(p.spec.Seccomp)
	if err != nil {
		return fmt.Errorf("convert seccomp profile: %w", err)
	}
	if sc == nil {
		return fmt.Errorf("convert seccomp profile: empty filter")
	}
	cfg.Seccomp = sc
	return nil
}

// zygoteCaps are what a zygote keeps in its own user namespace, and only
// until each child has made itself a jail: new namespaces and mounts
// (SYS_ADMIN), emptying the bounding set (SETPCAP), loopback up in the
// child's network namespace (NET_ADMIN). The child drops them all before
// any script runs.
var zygoteCaps = []string{"CAP_SYS_ADMIN", "CAP_SETPCAP", "CAP_NET_ADMIN"}

// zygoteSyscalls are what a zygote's filter allows beyond its profile: what
// the zygote and a child need until the child loads the profile's own
// filter, which then stacks on this one. Stacked filters intersect, so the
// child ends up with exactly the profile.
var zygoteSyscalls = []string{"unshare", "setns", "mount", "umount2", "capset", "prctl", "setrlimit",
	"setsid", "seccomp"}

// configureZygote widens a zygote's jail (and only a zygote's) by
// zygoteCaps and zygoteSyscalls, and lifts RLIMIT_CPU, which counts the
// zygote's own CPU over its whole life, and RLIMIT_FSIZE, whose hard limit
// a child could not raise to its own run's tmpfs size: each child sets
// both for its run.
func configureZygote(cfg *configs.Config, p jailParams) error {
	if !p.zygote {
		return nil
	}
	cfg.Capabilities = &configs.Capabilities{Bounding: zygoteCaps, Effective: zygoteCaps, Permitted: zygoteCaps}
	wide := *p.spec.Seccomp
	wide.Syscalls = append(slices.Clone(wide.Syscalls), specs.LinuxSyscall{Names: zygoteSyscalls, Action: specs.ActAllow})
	sc, err := specconv.SetupSeccomp(&wide)
	if err != nil {
		return fmt.Errorf("convert zygote seccomp profile: %w", err)
	}
	cfg.Seccomp = sc
	cfg.Rlimits = slices.DeleteFunc(cfg.Rlimits, func(r configs.Rlimit) bool {
		return r.Type == unix.RLIMIT_CPU || r.Type == unix.RLIMIT_FSIZE
	})
	return nil
}

func ptr[T any](v T) *T { return &v }
