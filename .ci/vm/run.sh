#!/usr/bin/env bash
# `make test-vm`: runs the privileged test suites of the engine and the
# daemon inside a QEMU (TCG) Debian 12 VM with systemd as PID 1 and the
# unified cgroup v2 hierarchy, each under a Delegate=yes unit. Host side:
#   1. guest image (image.sh), cached in $VM_CACHE by a hash of its inputs;
#   2. payload disk: test binaries built here, the test rootfs store
#      (copied, read-only), the source tree, suite.sh and the subset;
#   3. boot with -kernel/-initrd, output on the second serial port;
#   4. parse it: fail unless every suite ran, passed and skipped nothing.
# Needs root (mmdebstrap, the rootfs store). Env: VM_CACHE, VM_TIMEOUT (s),
# VM_STALL (s without test output that count as a frozen guest, 300),
# VM_ACCEL (default tcg,thread=single: multi-threaded TCG froze the guest),
# VM_RUN_<SUITE> to override a suite's -test.run regex, VM_KEEP=1.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${VM_CACHE:-/var/cache/jaild-vm}
state=${JAILD_TEST_STATE_DIR:-/var/lib/jaild-test}
timeout=${VM_TIMEOUT:-900}
t0=$(date +%s)
log() { echo "test-vm: $*"; }
die() { echo "test-vm: FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "needs root (builds the guest with mmdebstrap, reads $state)"

# What runs under emulation. TCG is 10-30x slower than the host (more when
# the host is busy) and the guest cannot see time stolen from its vCPUs.
# The container suite runs whole, with JAILD_TEST_TIME_SCALE stretching
# the default budgets of scripts that do not test budgets, and the slack of
# its wall-clock checks (main_test.go). The e2e daemons use the daemon's
# own 5 s default, so the cases whose scripts need seconds just to start
# (node, ctypes) and the grace-timing test are left out by name. What runs
# covers every limit (memory, pids, CPU quota, CPU time, wall, tmpfs,
# output) and every verdict (ok, exit_nonzero, timeout, cpu_limit, oom,
# signaled) on cgroup v2 under Delegate=yes. README "Testing on cgroup v2".
: "${VM_TIME_SCALE:=4}"
: "${VM_RUN_container:=.}"
# NewNeedsRoot checks what a non-root caller gets: it skips as root. The
# hostile suite (94 scripts) and most warm pool tests are left out to fit
# CI's budget under TCG: with all of them the container suite ran past the
# 900 s VM timeout. They run on the host in make test / make test-escape.
# Four pool tests stay: two for the pool's cgroup v2 paths, every verdict
# warm and cold (oom and cpu_limit read memory.events and cpu.stat of a
# parked jail's cgroup) and the warm run's memory.peak, and the two
# refill-deferral tests. Both also run for the zygote, whose children get
# cgroups of their own from the runner (zygote.go), as does
# TestZygoteSiblingsAreIsolated.
: "${VM_SKIP_container:=^(TestNewNeedsRoot|TestHostileScripts|TestHostileScriptsZygote|TestPool(LooksCold|RunsAreIsolated|UsageIsTheRunsOwn|ExitLooksCold|IneligibleRunsCold|Closed|Adapts|SetTemplates))$}"
: "${VM_RUN_daemon:=.}"
: "${VM_SKIP_daemon:=^$}"
# Go client: node · SIGTERM: 10 s grace timings · node_ok and signaled
# (ctypes import > 5 s under TCG; signaled is covered by the container
# suite: x32, int 0x80).
# Named top-level tests only: "/pattern" alone would run every e2e test
# (evals, faults, Piston, policy …) added since, which TCG cannot fit.
: "${VM_RUN_jaild:=^(TestE2EVerdicts|TestE2EClientDisconnectKillsJail|TestE2ESIGKILLRestartReapsAndAborts|TestE2EStreamingOrder|TestE2EZygote)$/^(python_ok|files|exit_3|timeout|cpu_limit|oom|binary_output|output_cap)$}"
: "${VM_SKIP_jaild:=^(TestE2EGoClient|TestE2ESIGTERMWithRunsInFlight)$}"
# Must be among the passes, so a typo in a pattern cannot hollow the run out.
required="TestCgroupV2DelegatedLimits TestMemoryHogOOM TestForkBombHitsPidsLimit
TestUnboundedForkBombContained TestCPUQuota TestCPULimit TestWallTimeout TestTmpfsCapped
TestExitCode TestX32SyscallRefused TestInt80SyscallRefused TestDangerousSyscallsRefused
TestNoNetworkOut TestFilesystemReadOnlyAndPrivate TestCancelKillsJail TestRunOK
TestE2EVerdicts/oom TestE2EVerdicts/timeout TestE2EVerdicts/cpu_limit TestE2EVerdicts/exit_3
TestE2EVerdicts/python_ok TestE2EClientDisconnectKillsJail TestE2ESIGKILLRestartReapsAndAborts
TestNode/oom TestPythonOKAndStdlib TestOutputCap TestHostUIDsDistinct TestSleepingTimeout
TestPoolVerdictsMatchCold/pool/oom TestPoolVerdictsMatchCold/pool/cpu_limit TestPoolMemoryPeak/pool
TestPoolVerdictsMatchCold/zygote/oom TestPoolVerdictsMatchCold/zygote/cpu_limit TestPoolMemoryPeak/zygote
TestZygoteSiblingsAreIsolated TestE2EZygote"

need=()
command -v mmdebstrap >/dev/null || need+=(mmdebstrap)
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# 1. Guest image, rebuilt only when its inputs change.
key=$(cat "$here/image.sh" "$here"/guest/* | sha256sum | cut -c1-16)
img=$cache/$key
if [ -f "$img/ok" ]; then
  log "image $img cached"
else
  log "building image $img"
  mkdir -p "$cache"
  rm -rf "$img.tmp"
  mkdir "$img.tmp"
  b0=$(date +%s)
  "$here/image.sh" "$img.tmp" >"$cache/build-$key.log" 2>&1 || { tail -30 "$cache/build-$key.log"; die "image build failed (log $cache/build-$key.log)"; }
  touch "$img.tmp/ok"
  rm -rf "$img"
  mv "$img.tmp" "$img"
  # Images of older inputs are dead weight (~400 MB each).
  find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" -exec rm -rf {} +
  log "image built in $(( $(date +%s) - b0 ))s"
fi

# 2. Payload disk.
p0=$(date +%s)
work=$(mktemp -d /var/tmp/jaild-vm-run.XXXXXX)
[ "${VM_KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
pay=$work/payload
mkdir -p "$pay/bin" "$pay/src" "$pay/state"
cd "$repo"
export CGO_ENABLED=1
go build -tags seccomp -trimpath -o "$pay/bin/jaild" ./cmd/jaild
go build -tags seccomp -trimpath -o "$pay/bin/jailctl" ./cmd/jailctl
go test -c -tags seccomp -o "$pay/bin/container.test" ./jail/container
go test -c -tags seccomp -o "$pay/bin/daemon.test" ./daemon
go test -c -tags seccomp -o "$pay/bin/jaild.test" ./cmd/jaild
git ls-files -z | xargs -0 cp --parents -t "$pay/src"
[ -d "$state/rootfs" ] || die "no test rootfs store at $state/rootfs (run make rootfs-test)"
cp -a "$state/rootfs" "$pay/state/rootfs"
install -m 0755 "$here/suite.sh" "$pay/suite.sh"
{
  printf "suite container jail/container container.test '%s' '%s' 1\n" "$VM_RUN_container" "$VM_SKIP_container"
  printf "suite daemon daemon daemon.test '%s' '%s' 0\n" "$VM_RUN_daemon" "$VM_SKIP_daemon"
  printf "suite jaild cmd/jaild jaild.test '%s' '%s' 0\n" "$VM_RUN_jaild" "$VM_SKIP_jaild"
  echo service
} >"$pay/subset.sh"
echo "${VM_PARALLEL:-1}" >"$pay/parallel"
echo "$VM_TIME_SCALE" >"$pay/timescale"
echo "${VM_TEST_TIMEOUT:-600s}" >"$pay/testtimeout"
size=$(( $(du -sm "$pay" | cut -f1) * 12 / 10 + 64 ))
truncate -s "${size}M" "$work/payload.img"
mkfs.ext4 -q -F -L payload -d "$pay" "$work/payload.img"
log "payload ${size}M ready in $(( $(date +%s) - p0 ))s"

# 3. Boot. The root disk is opened with snapshot=on so the cached image
# stays pristine; no network device: the payload is all the guest needs.
out=$work/ttyS1.log
# A guest that prints nothing on the test port for $stall seconds is
# frozen: a failing or hanging test prints (go test's own -test.timeout
# panics with every goroutine's stack). Under multi-threaded TCG (QEMU's
# default, VM_ACCEL=tcg) the whole guest froze in 3 of about 10 boots,
# each time right after the container suite's first jail start: both
# vCPUs busy, nothing more on either serial port, not even the test
# timeout's panic. Cause unknown; the default is single-threaded TCG since
# (README "Testing on cgroup v2"). If it freezes anyway, the run's logs
# are kept in $cache and reported, then the guest boots once more. A
# second freeze fails.
stall=${VM_STALL:-300}
boot() {
  : >"$out"
  : >"$work/ttyS0.log"
  timeout "$timeout" qemu-system-x86_64 -accel "${VM_ACCEL:-tcg,thread=single}" -m 2048 -smp 2 \
    -nographic -no-reboot -monitor none -nic none \
    -kernel "$img/vmlinuz" -initrd "$img/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 loglevel=5 systemd.unified_cgroup_hierarchy=1 systemd.show_status=0" \
    -drive "file=$img/root.img,format=raw,if=virtio,snapshot=on" \
    -drive "file=$work/payload.img,format=raw,if=virtio,readonly=on" \
    -serial "file:$work/ttyS0.log" -serial "file:$out" &
  local q=$! last=0 size quiet=0
  while kill -0 "$q" 2>/dev/null; do
    sleep 10
    size=$(stat -c %s "$out" 2>/dev/null || echo 0)
    if [ "$size" -ne "$last" ]; then last=$size quiet=0; else quiet=$((quiet + 10)); fi
    if [ "$quiet" -ge "$stall" ]; then
      kill "$q" 2>/dev/null || true
      wait "$q" 2>/dev/null || true
      return 125
    fi
  done
  wait "$q"
}
v0=$(date +%s)
set +e
boot
qrc=$?
if [ "$qrc" -eq 125 ]; then
  cp "$out" "$cache/stalled-ttyS1.log"; cp "$work/ttyS0.log" "$cache/stalled-ttyS0.log"
  log "STALL: the guest printed nothing for ${stall}s after $(( $(date +%s) - v0 ))s; its last lines:"
  tail -5 "$out"; log "console (ttyS0) tail:"; tail -8 "$work/ttyS0.log"
  log "logs kept in $cache/stalled-ttyS{0,1}.log; booting once more"
  v0=$(date +%s)
  boot
  qrc=$?
  [ "$qrc" -eq 125 ] && { tail -20 "$out"; tail -20 "$work/ttyS0.log"; set -e; die "the guest froze again (no output for ${stall}s)"; }
fi
set -e
vm_s=$(( $(date +%s) - v0 ))
cp "$out" "$cache/last-ttyS1.log" 2>/dev/null || true
cat "$out"
[ "$qrc" -eq 124 ] && { tail -20 "$work/ttyS0.log"; die "VM still running after ${timeout}s"; }
[ "$qrc" -eq 0 ] || die "qemu exited $qrc"

# 4. Verdict: every suite must have run to the end, passed, and skipped
# nothing (a skip in the VM means a root or rootfs precondition was lost).
fail=0
grep -q '^vmtest: cgroup-v2 ok' "$out" || { echo "test-vm: guest is not cgroup v2 with systemd as PID 1"; fail=1; }
for s in container daemon jaild service; do
  line=$(grep "^vmtest: suite $s exit=" "$out" || true)
  case $line in
    *" exit=0 "*) ;;
    "") echo "test-vm: suite $s did not finish"; fail=1 ;;
    *) echo "test-vm: suite $s failed: $line"; fail=1 ;;
  esac
done
pass=$(grep -c -- '^--- PASS' "$out" || true)
# TestNewNeedsRoot checks what a non-root caller gets: it skips as root.
if grep -E -- '^\s*--- (FAIL|SKIP)' "$out" | grep -v -- '--- SKIP: TestNewNeedsRoot '; then fail=1; fi
for t in $required; do
  grep -Eq -- "^\s*--- PASS: $t " "$out" || { echo "test-vm: required test $t did not pass"; fail=1; }
done
boot=$(sed -n 's/^vmtest: start uptime=\([0-9]*\).*/\1/p' "$out")
log "vm ${vm_s}s (boot to payload ${boot:-?}s), $pass top-level tests passed, total $(( $(date +%s) - t0 ))s"
[ "$fail" -eq 0 ] || die "see the output above (also in $cache/last-ttyS1.log)"
log "ok"
