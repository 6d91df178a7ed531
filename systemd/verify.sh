#!/usr/bin/env bash
# Lints the unit files with systemd-analyze verify. It exits 0 on
# warnings, so any output on stderr fails too. ExecStart= must name an
# executable that exists: the units are checked as installed, pointing at
# BIN (a built jaild).
set -euo pipefail
BIN=${1:?usage: verify.sh PATH/TO/jaild}
here=$(cd "$(dirname "$0")" && pwd)
command -v systemd-analyze >/dev/null || { echo "verify.sh: systemd-analyze missing (apt-get install systemd)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for u in jaild.service jaild.socket; do
  sed "s|/usr/local/bin/jaild|$(realpath "$BIN")|" "$here/$u" > "$tmp/$u"
done
err=$(cd "$tmp" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no ./jaild.socket ./jaild.service 2>&1 >/dev/null) || {
  echo "systemd-analyze verify failed:"; echo "$err"; exit 1; }
if [ -n "$err" ]; then
  echo "systemd-analyze verify warned (warnings fail the lint):"; echo "$err"; exit 1
fi
echo "systemd units: ok"
