package container

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/fs"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
)

// childSubsystems are the cgroup v1 hierarchies in which a zygote's child
// gets a cgroup of its own: those of its limits and counters. In the
// others it stays in its zygote's cgroup, made by runc for a jail of the
// same spec: devices with the same rules a cold jail gets; freezer, blkio
// and cpuset, in which jaild sets nothing. Each hierarchy costs a mkdir,
// an attach and an rmdir per run (on cgroup v2 there is one anyway).
var childSubsystems = []string{"memory", "cpu", "cpuacct", "pids"}

// v1Roots maps each of childSubsystems to its mount point, found once.
var v1Roots = sync.OnceValues(func() (map[string]string, error) {
	roots := map[string]string{}
	for _, s := range childSubsystems {
		mnt, err := cgroups.FindCgroupMountpoint("", s)
		if err != nil {
			return nil, fmt.Errorf("cgroup v1 %s hierarchy: %w", s, err)
		}
		roots[s] = mnt
	}
	return roots, nil
})

// runCgroup makes the run's own cgroup with the spec's limits (the same
// resources a cold jail's config gets), before the child exists, so that
// making it overlaps the fork. The child is moved in by attach.
func (z *zygote) runCgroup(j *run) (cgroups.Manager, error) {
	r := z.r
	p := jailParams{id: j.id, spec: j.spec, hostID: j.hostID, cgroup: r.cgroupPath(j.id), mode: r.mode}
	cfg := &configs.Config{}
	if err := configureDevices(cfg, p); err != nil {
		return nil, err
	}
	if err := configureCgroup(cfg, p); err != nil {
		return nil, err
	}
	m, err := z.cgroupManager(cfg.Cgroups)
	if err != nil {
		return nil, fmt.Errorf("open run cgroup: %w", err)
	}
	// By teardown the child is dead and reaped (its PID namespace with
	// it) unless a step failed before its verdict; only then can the
	// cgroup still hold a task, and removeCgroup kills it.
	j.push(func() error {
		if m.Destroy() == nil {
			return nil
		}
		return removeCgroup(p.cgroup)
	})
	if err := m.Apply(-1); err != nil {
		return nil, fmt.Errorf("create run cgroup: %w", err)
	}
	if err := m.Set(cfg.Cgroups.Resources); err != nil {
		return nil, fmt.Errorf("set run cgroup limits: %w", err)
	}
	j.cg = cgroupFiles{v2: r.mode.v2, paths: m.GetPaths()}
	return m, nil
}

// attach moves the child into the run's cgroup. It is still the runner's
// code, waiting for its request, so nothing of the script runs outside.
func (z *zygote) attach(j *run, m cgroups.Manager, pid int) error {
	if z.r.warm != nil {
		z.r.warm.touch()
	}
	if err := m.AddPid("", pid); err != nil {
		return fmt.Errorf("move child into run cgroup: %w", err)
	}
	return nil
}

// cgroupManager is the manager of a child's cgroup c: on v1, in
// childSubsystems only, and c's devices rules are skipped (the zygote's
// apply).
func (z *zygote) cgroupManager(c *cgroups.Cgroup) (cgroups.Manager, error) {
	if z.r.mode.v2 {
		return manager.New(c)
	}
	roots, err := v1Roots()
	if err != nil {
		return nil, err
	}
	if !filepath.IsAbs(c.Path) || strings.Contains(c.Path, "..") {
		return nil, fmt.Errorf("cgroup path %q is not absolute and clean", c.Path)
	}
	paths := map[string]string{}
	for s, root := range roots {
		paths[s] = filepath.Join(root, c.Path)
	}
	c.Resources.SkipDevices = true // for Set as well
	return fs.NewManager(c, paths)
}
