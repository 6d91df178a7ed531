package container

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/opencontainers/cgroups"
	devconfig "github.com/opencontainers/cgroups/devices/config"
	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
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
		OomScoreAdj:       ptr(1000),
		ParentDeathSignal: int(unix.SIGKILL),
		RootPropagation:   unix.MS_PRIVATE | unix.MS_REC,
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
	// it, so the jail's cgroup must not swap at all: swappiness 0. (v2
	// without swap accounting has no such knob; Info reports it.)
	switch {
	case p.mode.swap:
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

func ptr[T any](v T) *T { return &v }
