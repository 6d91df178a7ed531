package container

import (
	"os"
	"runtime"

	"github.com/opencontainers/runc/libcontainer"
	// Registers the device cgroup controller so device rules are applied.
	_ "github.com/opencontainers/cgroups/devices"
	// nsenter's C constructor joins and creates namespaces in "init" before
	// the Go runtime starts; without it libcontainer cannot start a jail.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

// Init runs libcontainer's in-jail setup and never returns when the binary
// was started as "<binary> init" by the runner. Call it first thing in main
// (or TestMain), on the main goroutine, before flag parsing.
//
// Otherwise it pins the calling (main) goroutine to the main thread. runc
// runs a goroutine that locks its thread and setns(2)es into each new jail's
// mount namespace, relying on Go to kill that thread when the goroutine
// ends. Go cannot kill the thread group leader: if that goroutine landed on
// the main thread, the leader would stay stranded in a dead jail's mount
// namespace, keeping the namespace and its tmpfs memory alive and making
// /proc/self/mountinfo describe the jail rather than the host. Pinning the
// main goroutine keeps the leader out of the scheduler's reach.
func Init() {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init()
	}
	runtime.LockOSThread()
}
