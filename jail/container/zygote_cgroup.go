package container

import (
	"fmt"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer/configs"
)

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
	m, err := manager.New(cfg.Cgroups)
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
