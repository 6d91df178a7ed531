package container

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	"golang.org/x/sys/unix"
)

// Reap removes every jail a previous process of this runner left behind:
// jails keep running when the daemon is SIGKILLed (no ParentDeathSignal is
// set: it only fires for the thread that forked, see buildConfig). It kills
// their processes, removes their cgroups in every hierarchy, libcontainer
// state and tmpfs. It leaves alone this Runner's own jails and those whose
// host uid block another live process holds (a daemon or `jaild run`
// sharing the state dir). Call it before the first Run; it returns the ids
// it reaped.
func (r *Runner) Reap() ([]string, error) {
	seen := map[string]bool{}
	var errs []error
	for _, dir := range []string{r.jails, r.work} {
		entries, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("list %s: %w", dir, err))
		}
		for _, e := range entries {
			seen[e.Name()] = true
		}
	}
	var reaped []string
	for id := range seen {
		if _, mine := r.live.Load(id); mine {
			continue
		}
		if uid, ok := idHostUID(id); ok && r.uids.heldElsewhere(uid) {
			r.log.Debug("jail belongs to a live process: not reaped", "jail_id", id)
			continue
		}
		if err := r.reapOne(id); err != nil {
			errs = append(errs, fmt.Errorf("reap jail %s: %w", id, err))
			continue
		}
		reaped = append(reaped, id)
	}
	if len(reaped) > 0 {
		r.log.Warn("reaped jails left by a previous run", "count", len(reaped))
	}
	return reaped, errors.Join(errs...)
}

func (r *Runner) reapOne(id string) error {
	var errs []error
	if ct, err := libcontainer.Load(r.jails, id); err == nil {
		_ = ct.Signal(unix.SIGKILL)
		if err := waitStopped(ct); err != nil {
			errs = append(errs, err)
		} else if err := ct.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("destroy: %w", err))
		}
	}
	// Whatever Load could not see (state never saved, or Destroy failed):
	// the cgroup by its known path, then the state dir and the tmpfs.
	errs = append(errs, removeCgroup(r.cgroupPath(id)))
	if err := os.RemoveAll(filepath.Join(r.jails, id)); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, removeWorkDir(filepath.Join(r.work, id)))
	return errors.Join(errs...)
}

// waitStopped waits up to a second for a killed jail's init to be gone.
func waitStopped(ct *libcontainer.Container) error {
	for i := 0; i < 100; i++ {
		st, err := ct.Status()
		if err != nil || st == libcontainer.Stopped {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("jail %s still running after SIGKILL", ct.ID())
}

// removeCgroup freezes the cgroup at path, kills every task in it and
// removes it from every hierarchy. Freezing first stops a fork bomb from
// racing the kill loop.
func removeCgroup(path string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: path, Resources: &cgroups.Resources{}})
	if err != nil {
		return fmt.Errorf("open cgroup %s: %w", path, err)
	}
	if !m.Exists() {
		// v1: other hierarchies may still hold it, with tasks: a zygote's
		// child has a cgroup of its own only in childSubsystems, and
		// Exists and GetAllPids read devices (and Freeze, freezer).
		killTasks(m.GetPaths())
		return m.Destroy()
	}
	_ = m.Freeze(cgroups.Frozen)
	pids, _ := m.GetAllPids()
	for _, pid := range pids {
		_ = unix.Kill(pid, unix.SIGKILL)
	}
	_ = m.Freeze(cgroups.Thawed)
	if err := m.Destroy(); err != nil {
		return fmt.Errorf("remove cgroup %s: %w", path, err)
	}
	return nil
}

// killTasks SIGKILLs the tasks of the cgroup dirs in paths until none is
// left (for up to a second). A zygote's child is PID 1 of its own PID
// namespace, so killing it takes the rest of the namespace with it,
// whatever forks in between.
func killTasks(paths map[string]string) {
	for i := 0; i < 100; i++ {
		found := false
		for _, dir := range paths {
			pids, err := cgroups.GetPids(dir)
			if err != nil {
				continue
			}
			for _, pid := range pids {
				found = true
				_ = unix.Kill(pid, unix.SIGKILL)
			}
		}
		if !found {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
