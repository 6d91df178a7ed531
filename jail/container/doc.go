// Package container is the libcontainer-backed jail.Runner: every Run
// creates a fresh container (user, PID, mount, network, IPC, UTS and cgroup
// namespaces; memory, CPU and pids limits; seccomp; no capabilities;
// read-only rootfs; size-capped tmpfs for /tmp and the work dir), waits for
// it under wall and CPU budgets, reads the verdict from the kernel's own
// accounting and destroys everything it made.
//
// Pool (pool.go, warm.go, loader.go) is a jail.Runner over it that keeps
// such jails built ahead of time with the interpreter started and waiting
// in a loader, serves one run from each and falls back to cold jails.
//
// Zygotes (zygotes.go, zygote*.go) is a jail.Runner for python that keeps
// one long-lived jail per key whose interpreter forks a child per run; the
// child makes itself a single-use jail (its own namespaces, cgroup, mounts,
// no capabilities, the profile's seccomp filter) before the script runs.
//
// It needs cgo and must be built with -tags seccomp; binaries that use it
// must call Init first thing in main (and test binaries in TestMain),
// because libcontainer re-executes /proc/self/exe as "init" inside the jail.
package container
