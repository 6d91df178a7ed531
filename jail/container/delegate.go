package container

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
)

// supervisorLeaf is the cgroup the runner's own process moves into when it
// takes over a delegated cgroup v2 subtree (see placeV2).
const supervisorLeaf = "supervisor"

// jailControllers are the v2 controllers a jail's limits need.
var jailControllers = []string{"cpu", "memory", "pids"}

// placement is where the runner puts jails' cgroups on cgroup v2.
type placement struct {
	// parent is the absolute cgroup path (from the v2 root) jails go under.
	parent string
	// base is the delegated cgroup the runner owns ("" when it owns none):
	// the runner moves itself into base/supervisor and enables controllers
	// in base's cgroup.subtree_control.
	base string
}

// cgroupV2State is what placeV2 decides from, read from the live system.
type cgroupV2State struct {
	own         string   // this process's cgroup ("0::" line of /proc/self/cgroup)
	procs       []int    // processes directly in the candidate base cgroup
	controllers []string // base's cgroup.controllers: what it may enable
}

// planV2 chooses where jails go on cgroup v2 for CgroupParent parent.
//
// Under systemd a service with Delegate=yes owns its cgroup subtree; any
// cgroup created elsewhere (e.g. /jaild at the root, which is what an
// absolute path means to libcontainer) belongs to systemd and is outside
// the unit's accounting and its stop/kill. So when this process is alone in
// its cgroup and that cgroup can enable the jail controllers, the runner
// takes the subtree: jails go to <own>/<parent>. The kernel's "no internal
// processes" rule (cgroup-v2.rst) forbids enabling controllers for children
// of a cgroup that holds processes, so the runner first moves itself into
// the leaf <own>/supervisor. A process already in such a leaf (a second
// Runner in the same process, or a daemon started from it) reuses it.
//
// Anything else (the root cgroup, a login session's scope shared with a
// shell, a test binary's cgroup shared with `go test`) is not ours to
// rearrange: jails then go under parent from the root, as on v1, which
// works as root but is invisible to the service manager.
//
// pid is this process's; ok reports whether the delegated layout is used.
func planV2(parent string, st cgroupV2State, pid int) (p placement, ok bool) {
	base := st.own
	if path.Base(base) == supervisorLeaf {
		base = path.Dir(base)
	}
	if base == "/" || base == "." || base == "" {
		return placement{parent: parent}, false
	}
	if path.Base(st.own) != supervisorLeaf {
		for _, q := range st.procs {
			if q != pid {
				return placement{parent: parent}, false
			}
		}
	}
	for _, c := range jailControllers {
		if !contains(st.controllers, c) {
			return placement{parent: parent}, false
		}
	}
	return placement{parent: path.Join(base, parent), base: base}, true
}

// placeV2 reads the live state, plans, and when the runner takes over a
// delegated subtree, moves this process into base/supervisor and enables
// the jail controllers for base's children.
func placeV2(parent string) (placement, error) {
	own, err := ownCgroupV2()
	if err != nil {
		return placement{}, err
	}
	base := own
	if path.Base(base) == supervisorLeaf {
		base = path.Dir(base)
	}
	st := cgroupV2State{own: own}
	dir := filepath.Join(cgroupRoot, base)
	if st.procs, err = readProcs(filepath.Join(dir, "cgroup.procs")); err != nil {
		return placement{}, err
	}
	if b, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers")); err == nil {
		st.controllers = strings.Fields(string(b))
	}
	p, ok := planV2(parent, st, os.Getpid())
	if !ok {
		return p, nil
	}
	leaf := filepath.Join(dir, supervisorLeaf)
	if err := os.Mkdir(leaf, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return placement{}, fmt.Errorf("create supervisor cgroup: %w", err)
	}
	// Writing a pid to cgroup.procs moves the whole thread group.
	if path.Base(own) != supervisorLeaf {
		if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(os.Getpid())), 0); err != nil {
			return placement{}, fmt.Errorf("move into %s: %w", leaf, err)
		}
	}
	ctl := "+" + strings.Join(jailControllers, " +")
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(ctl), 0); err != nil {
		return placement{}, fmt.Errorf("enable %q in %s: %w", ctl, dir, err)
	}
	return p, nil
}

// cgroupRoot is where the v2 hierarchy is mounted.
const cgroupRoot = "/sys/fs/cgroup"

func ownCgroupV2() (string, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	defer f.Close()
	return parseOwnCgroupV2(f)
}

// parseOwnCgroupV2 returns the path of the "0::PATH" line.
func parseOwnCgroupV2(r io.Reader) (string, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p, nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("read own cgroup: %w", err)
	}
	return "", errors.New("read own cgroup: no cgroup v2 entry in /proc/self/cgroup")
}

func readProcs(file string) ([]int, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", file, err)
		}
		pids = append(pids, n)
	}
	return pids, nil
}
