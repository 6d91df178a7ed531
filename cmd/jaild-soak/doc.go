// Command jaild-soak starts a real jaild and drives it with many concurrent
// clients and a mix of well-behaved and hostile runs, then checks that every
// request got exactly one correct answer and that nothing leaked: no jail
// cgroup in any hierarchy, mount, process, state dir or daemon fd, and
// daemon RSS growth under 10 % from the first to the last thousand runs.
//
//	jaild-soak -n 10000 -clients 16 -jaild bin/jaild -rootfs /var/lib/jaild-test/rootfs
//
// It exits 1 with every violation listed. `make soak` runs it (needs root).
package main
