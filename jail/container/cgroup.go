package container

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
)

// cgroupMode is the host's cgroup layout, detected once at start.
type cgroupMode struct {
	v2   bool // unified hierarchy at /sys/fs/cgroup
	swap bool // swap accounting present: memory limits can include swap
}

func (m cgroupMode) String() string {
	if m.v2 {
		return "v2"
	}
	return "v1"
}

// detectCgroups checks the controllers a jail needs are mounted and usable.
// On v1 hybrid hosts (cgroup2 at /sys/fs/cgroup/unified with no controllers)
// it uses the v1 hierarchies, which is what libcontainer's fs manager does.
func detectCgroups() (cgroupMode, error) {
	if cgroups.IsCgroup2UnifiedMode() {
		b, err := os.ReadFile("/sys/fs/cgroup/cgroup.controllers")
		if err != nil {
			return cgroupMode{}, fmt.Errorf("read cgroup v2 controllers: %w", err)
		}
		have := strings.Fields(string(b))
		for _, want := range []string{"memory", "pids", "cpu"} {
			if !contains(have, want) {
				return cgroupMode{}, fmt.Errorf("cgroup v2 controller %q not available (have %v)", want, have)
			}
		}
		// memory.swap.max exists in every non-root cgroup when the kernel
		// accounts swap; it is absent at the root, so look at our own.
		return cgroupMode{v2: true, swap: swapAccountedV2()}, nil
	}
	for _, ctrl := range []string{"memory", "pids", "cpu", "cpuacct"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", ctrl)); err != nil {
			return cgroupMode{}, fmt.Errorf("cgroup v1 controller %q not mounted: %w", ctrl, err)
		}
	}
	_, err := os.Stat("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
	return cgroupMode{swap: err == nil}, nil
}

func swapAccountedV2() bool {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			_, err := os.Stat(filepath.Join("/sys/fs/cgroup", rest, "memory.swap.max"))
			return err == nil
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// usage is what the runner reads from a jail's cgroup.
type usage struct {
	cpu      time.Duration
	peak     int64
	oomKills uint64
}

// cgroupFiles reads usage from the paths libcontainer recorded for a jail
// (controller → dir on v1, "" → dir on v2).
type cgroupFiles struct {
	v2    bool
	paths map[string]string
}

// cpu returns CPU time used by all of the jail's tasks so far.
func (c cgroupFiles) cpu() (time.Duration, error) {
	if c.v2 {
		v, err := keyedValue(filepath.Join(c.paths[""], "cpu.stat"), "usage_usec")
		return time.Duration(v) * time.Microsecond, err
	}
	v, err := uintFile(filepath.Join(c.paths["cpuacct"], "cpuacct.usage"))
	return time.Duration(v), err
}

// since is u minus the counters at hand-over; the peak is not a counter
// and is reset at hand-over instead (resetPeak).
func (u usage) since(base usage) usage {
	u.cpu -= base.cpu
	if u.oomKills >= base.oomKills {
		u.oomKills -= base.oomKills
	}
	return u
}

// read collects CPU, peak memory and OOM kills; call it before Destroy.
// peak, when set, is the v2 memory.peak file reset at hand-over: reading
// it back through the same descriptor gives the peak since the reset.
func (c cgroupFiles) read(peakFile *os.File) (usage, error) {
	var u usage
	var errs []error
	cpu, err := c.cpu()
	u.cpu = cpu
	errs = append(errs, err)
	if c.v2 {
		dir := c.paths[""]
		var peak uint64
		var err error
		if peakFile != nil {
			peak, err = uintFrom(peakFile)
		} else {
			peak, err = uintFile(filepath.Join(dir, "memory.peak")) // Linux ≥ 5.19
		}
		errs = append(errs, err)
		if sp, err := uintFile(filepath.Join(dir, "memory.swap.peak")); err == nil {
			peak += sp
		}
		u.peak = int64(peak)
		// memory.events is hierarchical: it counts kills in sub-cgroups too.
		u.oomKills, err = keyedValue(filepath.Join(dir, "memory.events"), "oom_kill")
		errs = append(errs, err)
		return u, errors.Join(errs...)
	}
	dir := c.paths["memory"]
	peak, err := uintFile(filepath.Join(dir, "memory.memsw.max_usage_in_bytes"))
	if errors.Is(err, fs.ErrNotExist) {
		peak, err = uintFile(filepath.Join(dir, "memory.max_usage_in_bytes"))
	}
	errs = append(errs, err)
	u.peak = int64(peak)
	// v1 counts kernel OOM kills in memory.oom_control ("oom_kill N", Linux
	// ≥ 4.13); memory.failcnt can stay 0 when the killer fires.
	u.oomKills, err = keyedValue(filepath.Join(dir, "memory.oom_control"), "oom_kill")
	errs = append(errs, err)
	return u, errors.Join(errs...)
}

// uintFrom reads a number from the start of an open cgroup file.
func uintFrom(f *os.File) (uint64, error) {
	b := make([]byte, 64)
	n, err := f.ReadAt(b, 0)
	if err != nil && n == 0 {
		return 0, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b[:n])), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", f.Name(), err)
	}
	return v, nil
}

func uintFile(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// keyedValue reads "key value" lines (cpu.stat, memory.events, oom_control).
func keyedValue(path, key string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if ok && k == key {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s %s: %w", path, key, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("read %s: no %q line", path, key)
}

// unthrottle lifts the CPU quota of a jail about to be killed: SIGKILLed
// tasks still have to run to exit, and in a cgroup that has used up its
// CFS quota (a fork bomb always has) dozens of dying tasks would otherwise
// trickle out one period at a time, delaying the verdict by seconds.
func (c cgroupFiles) unthrottle() error {
	if c.v2 {
		return os.WriteFile(filepath.Join(c.paths[""], "cpu.max"), []byte("max 100000"), 0)
	}
	return os.WriteFile(filepath.Join(c.paths["cpu"], "cpu.cfs_quota_us"), []byte("-1"), 0)
}

// resetPeak starts peak memory accounting afresh at hand-over, so the
// peak reported is the run's, not the warm-up's. v1: writing 0 to
// max_usage_in_bytes resets it to the current usage. v2: writing to
// memory.peak (Linux ≥ 6.12) resets it for the writing descriptor only,
// which is returned to be read back at the end; on older v2 kernels the
// write fails, nil is returned and the peak since the jail was built is
// reported (it includes the interpreter's start-up, which a cold run's
// peak includes too).
func (c cgroupFiles) resetPeak() (*os.File, error) {
	if c.v2 {
		f, err := os.OpenFile(filepath.Join(c.paths[""], "memory.peak"), os.O_RDWR, 0)
		if err != nil {
			return nil, nil //nolint:nilerr // old kernel: no peak file to reset
		}
		if _, err := f.WriteString("reset\n"); err != nil {
			f.Close()
			return nil, nil
		}
		return f, nil
	}
	dir := c.paths["memory"]
	var errs []error
	for _, name := range []string{"memory.max_usage_in_bytes", "memory.memsw.max_usage_in_bytes"} {
		err := os.WriteFile(filepath.Join(dir, name), []byte("0"), 0)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return nil, errors.Join(errs...)
}
