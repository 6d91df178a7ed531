package container

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

// TestCgroupV2DelegatedLimits checks, on a cgroup v2 host, where a live
// jail's cgroup is and that its limits are written there. With
// JAILD_TEST_REQUIRE_DELEGATED=1 (set by `make test-vm`, which runs this
// binary alone in a Delegate=yes unit) the jail must be inside this
// process's own delegated cgroup, with this process moved into its
// supervisor leaf.
func TestCgroupV2DelegatedLimits(t *testing.T) {
	r := testRunner(t)
	if !r.mode.v2 {
		t.Skip("SKIP: host is cgroup v1; `make test-vm` runs this on cgroup v2")
	}
	own, err := ownCgroupV2()
	if err != nil {
		t.Fatal(err)
	}
	delegated := path.Base(own) == supervisorLeaf
	if os.Getenv("JAILD_TEST_REQUIRE_DELEGATED") == "1" {
		if !delegated || r.parent != path.Join(path.Dir(own), suiteCgroup) {
			t.Fatalf("own cgroup %s, jails under %s: want this process in <unit>/%s and jails in <unit>%s",
				own, r.parent, supervisorLeaf, suiteCgroup)
		}
	}
	spec := script(t, jail.Python, "import time\nprint('up', flush=True)\ntime.sleep(60)")
	spec.Limits.Memory = 96 << 20
	spec.Limits.Pids = 17
	spec.Limits.CPUs = 0.5
	spec.Limits.Wall = 60 * time.Second
	up := make(chan struct{}, 1)
	spec.Output = func(_ jail.Stream, _ []byte) {
		select {
		case up <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan jail.Result, 1)
	go func() {
		res, _ := r.Run(ctx, spec)
		done <- res
	}()
	select {
	case <-up:
	case res := <-done:
		t.Fatalf("jail ended before printing: %+v", res)
	case <-time.After(slack(30 * time.Second)):
		t.Fatalf("no output from the jail after %v", slack(30*time.Second))
	}
	dirs, _ := filepath.Glob(filepath.Join(cgroupRoot, r.parent, "j*"))
	if len(dirs) != 1 {
		t.Fatalf("jail cgroups under %s: %v, want exactly one", r.parent, dirs)
	}
	for file, want := range map[string]string{
		"memory.max": "100663296", "memory.swap.max": "0", "pids.max": "17", "cpu.max": "50000 100000",
	} {
		b, err := os.ReadFile(filepath.Join(dirs[0], file))
		if file == "memory.swap.max" && errors.Is(err, fs.ErrNotExist) {
			continue // kernel without swap accounting
		}
		if got := strings.TrimSpace(string(b)); err != nil || got != want {
			t.Errorf("%s = %q (%v), want %q", file, got, err, want)
		}
	}
	cancel()
	<-done
}
