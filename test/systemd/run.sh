#!/usr/bin/env bash
# make test-systemd: boots a Debian rootfs with systemd as PID 1 under
# systemd-nspawn, installs jaild into it with `make install`, and checks
# for real what the units promise: READY only after a real jail ran,
# STATUS=, socket activation, journal fields of a run, reload (applied and
# refused), the watchdog restarting a SIGSTOPped daemon, a clean stop, and
# the hardening table of systemd/README.md.
#
# Runs as root (skips loudly otherwise; fails in CI). Prints one line per
# check with its duration, and "N passed, M failed" at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
TEST_STATE_DIR=${JAILD_TEST_STATE_DIR:-/var/lib/jaild-test}

skip() {
  if [ "${CI:-}" = true ]; then echo "FAIL: test-systemd: $*" >&2; exit 1; fi
  echo "SKIP: test-systemd: $*" >&2
  exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn, cgroups): run sudo make test-systemd"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn missing: make deps-systemd"
command -v mmdebstrap >/dev/null || skip "mmdebstrap missing: make deps-systemd"
[ -d "$TEST_STATE_DIR/rootfs/python" ] || skip "no test rootfs in $TEST_STATE_DIR: make rootfs-test"

t0=$(date +%s%N)
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

ROOTFS=$(test/systemd/rootfs.sh)
echo "rootfs: $ROOTFS ($(ms "$t0") ms)"

WORK=$(mktemp -d /tmp/jaild-test-systemd.XXXXXX)
CG=jaild-test-systemd-$$
MERGED=$WORK/merged
NSPAWN_PID=
cleanup() {
  set +e
  if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
    kill "$NSPAWN_PID"   # nspawn powers the container off on SIGTERM
    for _ in $(seq 100); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NSPAWN_PID" 2>/dev/null
  fi
  # Everything the container and its jails created lives under $CG.
  for d in $(find /sys/fs/cgroup -maxdepth 2 -name "$CG" -type d 2>/dev/null); do
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  mountpoint -q "$MERGED" && umount "$MERGED"
  if [ "${KEEP:-}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# A writable overlay over the cached rootfs: installs go to $WORK/upper.
mkdir -p "$WORK"/{upper,work,merged}
mount -t overlay overlay -o "lowerdir=$ROOTFS,upperdir=$WORK/upper,workdir=$WORK/work" "$MERGED"
make -s install DESTDIR="$MERGED" PREFIX=/usr/local >/dev/null
mkdir -p "$MERGED/var/lib/jaild/rootfs" "$MERGED/opt/ex"
# The watchdog check freezes the daemon: a short timeout keeps it quick.
mkdir -p "$MERGED/etc/systemd/system/jaild.service.d"
printf '[Service]\nWatchdogSec=3s\n' > "$MERGED/etc/systemd/system/jaild.service.d/test-watchdog.conf"
cat > "$MERGED/opt/ex/hello.py" <<'EOF'
print("hello from jail")
EOF
cat > "$MERGED/opt/ex/hello.js" <<'EOF'
console.log("hello from jail")
EOF

# Start nspawn from a cgroup of its own (nspawn creates the container's
# cgroups below its caller's), removed in cleanup.
if [ -d /sys/fs/cgroup/memory ]; then
  for h in /sys/fs/cgroup/*/; do
    case "$h" in */cpuset/) continue ;; esac  # an empty cpuset.mems refuses tasks
    mkdir -p "$h$CG"
  done
else
  mkdir -p "/sys/fs/cgroup/$CG"
fi
(
  for h in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/"$CG"; do
    [ -e "$h/cgroup.procs" ] && echo $BASHPID > "$h/cgroup.procs"
  done
  # nspawn's seccomp filter refuses keyctl (keyrings are not namespaced);
  # runc's init joins a fresh session keyring for every jail.
  exec systemd-nspawn -q -D "$MERGED" --register=no --keep-unit -b \
    --system-call-filter="add_key keyctl request_key" \
    --bind-ro="$TEST_STATE_DIR/rootfs:/var/lib/jaild/rootfs" >"$WORK/console.log" 2>&1
) &
NSPAWN_PID=$!

tboot=$(date +%s%N)
P1=
for _ in $(seq 300); do
  P1=$(pgrep -P "$NSPAWN_PID" | head -1 || true)
  if [ -n "$P1" ]; then
    st=$(nsenter -t "$P1" -a systemctl is-system-running 2>/dev/null || true)
    case "$st" in running|degraded) break ;; esac
  fi
  sleep 0.1
done
[ -n "$P1" ] || { cat "$WORK/console.log"; echo "FAIL: container did not boot"; exit 1; }
echo "boot: systemd in nspawn is $st ($(ms "$tboot") ms)"
C() { nsenter -t "$P1" -a "$@"; }

# On a cgroup v1 host nspawn mounts the controller hierarchies read-only
# (rooted at the container's own cgroup). Making those mounts writable lets
# jails create their cgroups there, under the container's subtree on the
# host, where their limits are enforced. On cgroup v2 nspawn delegates a
# writable subtree already.
if C test -d /sys/fs/cgroup/memory; then
  C sh -c 'for c in /sys/fs/cgroup/*/; do [ "$c" = /sys/fs/cgroup/systemd/ ] || mount -o remount,bind,rw "$c"; done'
  echo "cgroups: v1 controller mounts in the container made writable"
elif [ -e "/sys/fs/cgroup/$CG/cgroup.subtree_control" ]; then
  # cgroup v2 (not available on the development machine, so not measured
  # here): offer the container the controllers jails are limited with.
  echo "+cpu +memory +pids" > "/sys/fs/cgroup/$CG/cgroup.subtree_control" \
    || echo "cgroups: could not delegate cpu, memory, pids to the container"
  echo "cgroups: v2, container offered $(C cat /sys/fs/cgroup/cgroup.controllers)"
fi

pass=0 fail=0
check() { # check NAME CMD...: runs CMD, reports its duration
  local name=$1; shift
  # ONLY=check_a,check_b runs a subset (while debugging).
  if [ -n "${ONLY:-}" ] && [[ ",$ONLY," != *",$1,"* ]]; then return 0; fi
  local t; t=$(date +%s%N)
  if out=$("$@" 2>&1); then
    pass=$((pass + 1)); echo "ok   $name ($(ms "$t") ms)${out:+: $out}"
  else
    fail=$((fail + 1)); echo "FAIL $name ($(ms "$t") ms): $out"
  fi
}
api() { C curl -sS --max-time 30 --unix-socket /run/jaild/jaild.sock "$@"; }
prop() { C systemctl show -P "$2" "$1"; }
journal() { C journalctl --no-pager -q "$@"; }

. test/systemd/checks.sh

check "start fails without READY when no jail can run" check_no_ready
check "socket activation starts the daemon on first connect" check_socket_activation
check "active only after READY (a smoke jail ran first)" check_ready_after_smoke
check "systemctl status shows the STATUS line" check_status
check "journalctl -u jaild RUN_ID= finds the run's structured fields" check_journal_run
check "GET /metrics counts the run" check_metrics
check "memory and pids limits are enforced on the service's jails" check_limits
check "systemctl reload applies a changed limit" check_reload_applies
check "systemctl reload refuses a broken config, keeps the old one" check_reload_refuses
check "systemctl reload applies a policy file, refuses a broken one" check_reload_policy
check "watchdog restarts a daemon frozen with SIGSTOP" check_watchdog
check "SIGTERM: STOPPING=1 while draining" check_stopping_notify
check "systemctl stop drains, exits 0, leaves no jail behind" check_stop
check "pool.zygote: python runs are a zygote's children under the unit" check_zygote
check "hardening: the unit's options let jails run, the excluded ones break them" check_hardening

echo "test-systemd: $(ms "$t0") ms in all"
# HOLD=1 keeps the container up for a look (nsenter -t PID1 -a ...).
if [ "${HOLD:-}" = 1 ]; then echo "holding: container PID 1 is $P1 (host); kill $$ to end"; sleep 900 || true; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
