#!/bin/sh
# Guest side of `make test-vm`, on the payload disk (/payload): checks the
# VM really is cgroup v2 with systemd as PID 1, then runs each privileged
# test binary alone in its own transient unit with Delegate=yes, so that
# jails' cgroups live in the unit's delegated subtree. Its stdout is the
# second serial port; run.sh parses the "vmtest:" lines and go test -v.
set -u
P=/payload
echo "vmtest: start uptime=$(cut -d' ' -f1 /proc/uptime)s kernel=$(uname -r)"

# A silent fallback to v1 or a hybrid layout must not pass.
fs=$(stat -fc %T /sys/fs/cgroup)
ctrl=$(cat /sys/fs/cgroup/cgroup.controllers 2>/dev/null || true)
init=$(cat /proc/1/comm)
echo "vmtest: cgroup fs=$fs controllers=[$ctrl] pid1=$init"
for c in cpu memory pids; do
  case " $ctrl " in *" $c "*) ;; *) echo "vmtest: FATAL cgroup v2 controller $c missing"; exit 1 ;; esac
done
if [ "$fs" != cgroup2fs ] || [ "$init" != systemd ]; then
  echo "vmtest: FATAL want cgroup2fs at /sys/fs/cgroup and systemd as PID 1"
  exit 1
fi
echo "vmtest: cgroup-v2 ok"

# suite NAME PKGDIR BINARY RUN SKIP DELEGATED: one test binary alone in a
# Delegate=yes unit, started in its package directory as `go test` would
# (tests read ../README.md). DELEGATED=1 makes the container suite insist
# that jails nest in the unit's own cgroup.
suite() {
  name=$1 pkg=$2 bin=$3 run=$4 skip=$5 delegated=$6
  echo "vmtest: suite $name begin uptime=$(cut -d' ' -f1 /proc/uptime)s run=$run skip=$skip"
  start=$(date +%s)
  systemd-run --wait --pipe --quiet --collect --unit="jaild-vmtest-$name" \
    -p Delegate=yes -p WorkingDirectory="$P/src/$pkg" \
    -E CI=true -E JAILD_TEST_STATE_DIR="$P/state" -E JAILD_TEST_REQUIRE_DELEGATED="$delegated" \
    -E JAILD_TEST_TIME_SCALE="$(cat $P/timescale)" -E TMPDIR=/var/tmp -E HOME=/root \
    "$P/bin/$bin" -test.v -test.count=1 -test.timeout=900s -test.parallel="$(cat $P/parallel)" -test.run "$run" -test.skip "$skip" 2>&1
  rc=$?
  echo "vmtest: suite $name exit=$rc seconds=$(( $(date +%s) - start ))"
}

. "$P/subset.sh"
echo "vmtest: done uptime=$(cut -d' ' -f1 /proc/uptime)s"
