package jail

import (
	"fmt"
	"time"
)

// Limits bound one run. Zero values are invalid: take DefaultLimits and
// override what the caller asked for.
type Limits struct {
	// Wall is the wall-clock budget from process start; past it the jail is
	// killed and the verdict is timeout.
	Wall time.Duration
	// CPUTime is the CPU time budget of all the jail's processes together,
	// read from the cgroup; past it the verdict is cpu_limit.
	CPUTime time.Duration
	// CPUs is the CPU bandwidth quota in cores (cgroup cpu.max / cfs_quota).
	CPUs float64
	// Memory caps RAM plus swap of the whole jail in bytes.
	Memory int64
	// Pids caps the number of tasks (processes and threads) in the jail.
	Pids int64
	// Output caps each of stdout and stderr in bytes; the head is kept, the
	// rest is counted and dropped, the jail is not killed for it.
	Output int64
	// Tmp caps the tmpfs holding /tmp and WorkDir together, in bytes. It is
	// also the RLIMIT_FSIZE of every process.
	Tmp int64
	// OpenFiles is RLIMIT_NOFILE of every process.
	OpenFiles uint64
}

// DefaultLimits are the seed service's defaults.
func DefaultLimits() Limits {
	return Limits{
		Wall:      5 * time.Second,
		CPUTime:   5 * time.Second,
		CPUs:      1,
		Memory:    128 << 20,
		Pids:      64,
		Output:    1 << 20,
		Tmp:       64 << 20,
		OpenFiles: 256,
	}
}

// Hard bounds no configuration may exceed: they keep arithmetic and kernel
// interfaces in range, they are not policy.
const (
	minMemory = 8 << 20 // below this the interpreter cannot start and runc init may OOM
	maxMemory = 1 << 40
	minPids   = 4 // runc init + interpreter + a helper thread or two
	maxPids   = 1 << 20
	maxWall   = 24 * time.Hour
	maxOutput = 1 << 30
	maxTmp    = 1 << 40
)

// Validate checks each limit is within what the kernel and runner accept.
func (l Limits) Validate() error {
	checks := []struct {
		ok   bool
		name string
		want string
	}{
		{l.Wall > 0 && l.Wall <= maxWall, "wall", "between 1ns and 24h"},
		{l.CPUTime > 0 && l.CPUTime <= maxWall, "cpu time", "between 1ns and 24h"},
		{l.CPUs >= 0.01 && l.CPUs <= 1024, "cpus", "between 0.01 and 1024"},
		{l.Memory >= minMemory && l.Memory <= maxMemory, "memory", "between 8 MiB and 1 TiB"},
		{l.Pids >= minPids && l.Pids <= maxPids, "pids", "between 4 and 1048576"},
		{l.Output >= 0 && l.Output <= maxOutput, "output", "between 0 and 1 GiB"},
		{l.Tmp >= 1<<20 && l.Tmp <= maxTmp, "tmp", "between 1 MiB and 1 TiB"},
		{l.OpenFiles >= 16 && l.OpenFiles <= 1<<20, "open files", "between 16 and 1048576"},
	}
	for _, c := range checks {
		if !c.ok {
			return fmt.Errorf("%w: %s limit must be %s", ErrInvalidSpec, c.name, c.want)
		}
	}
	return nil
}
