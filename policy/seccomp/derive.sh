#!/usr/bin/env bash
# Regenerates policy/seccomp/{python,node}.json from strace logs of the
# workloads in policy/seccomp/workloads run in real jails (see
# docs/SECCOMP.md). Needs root, strace, bin/jaild and built rootfs images.
set -euo pipefail
cd "$(dirname "$0")/../.."
STATE_DIR=${STATE_DIR:-/var/lib/jaild-test}
out=$(mktemp -d /tmp/jaild-seccomp.XXXXXX)
trap 'rm -rf "$out"' EXIT
command -v strace >/dev/null || { echo "derive: strace is not installed (apt-get install strace)" >&2; exit 1; }
for lang in python node; do
  ext=py; [ $lang = node ] && ext=js
  traces=()
  for w in policy/seccomp/workloads/*.$ext; do
    t="$out/$(basename "$w").trace"
    # Traced under the wide moby-derived filter, so that what a workload
    # needs beyond the current strict profile is seen, not refused.
    echo input | strace -f -qq --pidns-translation -o "$t" \
      bin/jaild run --stdin --wall 30s --cpu-time 30s --memory 536870912 \
      --seccomp "$PWD/policy/seccomp/wide.json" --state-dir "$STATE_DIR" "$w" >/dev/null || true
    traces+=("$t")
  done
  go run ./policy/seccomp/gen -base policy/seccomp/base.txt -o policy/seccomp/$lang.json "${traces[@]}"
done
git diff --stat -- policy/seccomp/*.json || true
