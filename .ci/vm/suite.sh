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

# A heartbeat on the console (ttyS0), apart from the test output (ttyS1):
# if the guest ever stalls again (run.sh), it tells a frozen guest from a
# stuck test or a stuck serial port, and what was running.
( while sleep 30; do
    echo "heartbeat uptime=$(cut -d' ' -f1 /proc/uptime) load=$(cut -d' ' -f1-3 /proc/loadavg)" \
      "top: $(ps -eo pcpu=,comm= --sort=-pcpu 2>/dev/null | head -3 | tr -s ' \n' ' ')"
  done >/dev/ttyS0 2>&1 ) &

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
    "$P/bin/$bin" -test.v -test.count=1 -test.timeout="$(cat $P/testtimeout)" -test.parallel="$(cat $P/parallel)" -test.run "$run" -test.skip "$skip" 2>&1
  rc=$?
  echo "vmtest: suite $name exit=$rc seconds=$(( $(date +%s) - start ))"
}

# service: bin/jaild itself as the main process of a Delegate=yes unit (as
# jaild.service runs it), driven by jailctl. It must move into
# <unit>/supervisor, put jails in <unit>/jaild/<id> with their limits, give
# the verdicts, and leave nothing once the unit is stopped.
service() {
  echo "vmtest: suite service begin uptime=$(cut -d' ' -f1 /proc/uptime)s"
  start=$(date +%s)
  rc=0
  st=/var/lib/jaild-vm sock=/run/jaild-vm.sock unit=jaild-vmtest-daemon
  mkdir -p "$st" && ln -sfn "$P/state/rootfs" "$st/rootfs"
  systemd-run --quiet --unit=$unit -p Delegate=yes -p KillMode=mixed \
    "$P/bin/jaild" serve --state-dir "$st" --socket "$sock" --log-level debug
  i=0; while [ ! -S "$sock" ] && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
  cg=$(systemctl show -P ControlGroup $unit)
  pid=$(systemctl show -P MainPID $unit)
  own=$(cut -d: -f3 "/proc/$pid/cgroup")
  echo "service: unit cgroup $cg, daemon pid $pid in $own"
  [ "$own" = "$cg/supervisor" ] || { echo "service: FAIL daemon not in $cg/supervisor"; rc=1; }
  ctl="$P/bin/jailctl --socket $sock"
  echo 'import time; print("up", flush=True); time.sleep(4); print("done")' >/tmp/slow.py
  $ctl run -l python --wall 60s --cpu 30s --memory 96M --pids 19 /tmp/slow.py >/tmp/slow.out 2>&1 &
  ctlpid=$!
  # Limits are written after the jail's cgroup is made and before the
  # script runs: look once the script has printed.
  i=0; while ! grep -q up /tmp/slow.out 2>/dev/null && [ $i -lt 240 ]; do sleep 0.25; i=$((i + 1)); done
  jcg=$(ls -d /sys/fs/cgroup$cg/jaild/j* 2>/dev/null | head -1)
  if [ -n "$jcg" ]; then
    mem=$(cat $jcg/memory.max) pids=$(cat $jcg/pids.max)
    echo "service: jail cgroup $jcg memory.max=$mem pids.max=$pids cpu.max=$(cat $jcg/cpu.max)"
    [ "$mem" = 100663296 ] && [ "$pids" = 19 ] || { echo "service: FAIL limits"; rc=1; }
  else
    echo "service: FAIL no jail cgroup under /sys/fs/cgroup$cg/jaild"; rc=1
  fi
  wait $ctlpid; e=$?
  echo "service: slow run exit=$e output=$(tr '\n' ' ' </tmp/slow.out)"
  [ $e -eq 0 ] && grep -q done /tmp/slow.out || rc=1
  echo 'x = bytearray(1 << 30)' >/tmp/oom.py
  $ctl run -l python --wall 60s --cpu 30s --memory 64M /tmp/oom.py; e=$?
  echo "service: oom run exit=$e (want 137)"; [ $e -eq 137 ] || rc=1
  echo 'while True: pass' >/tmp/spin.py
  $ctl run -l python --wall 60s --cpu 1s /tmp/spin.py; e=$?
  echo "service: cpu-limit run exit=$e (want 124)"; [ $e -eq 124 ] || rc=1
  systemctl stop $unit
  if [ -d "/sys/fs/cgroup$cg" ]; then echo "service: FAIL $cg remains after stop"; rc=1; fi
  journalctl -q -u $unit --no-pager | tail -15
  echo "vmtest: suite service exit=$rc seconds=$(( $(date +%s) - start ))"
}

. "$P/subset.sh"
echo "vmtest: done uptime=$(cut -d' ' -f1 /proc/uptime)s"
