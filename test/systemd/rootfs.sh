#!/usr/bin/env bash
# Builds (once) a Debian rootfs with systemd for `make test-systemd` and
# prints its path. It is cached under CACHE keyed by a hash of the package
# list and this script, so reruns are instant and a fresh machine builds it.
set -euo pipefail
CACHE="${JAILD_NSPAWN_CACHE:-/var/cache/jaild-test-nspawn}"
SUITE=bookworm
# systemd as PID 1, journalctl, libseccomp for the cgo jaild binary, curl to
# talk to the socket from inside, procps for the checks.
PACKAGES="systemd,systemd-sysv,dbus,libseccomp2,curl,ca-certificates,procps"
key=$(printf '%s\n%s\n' "$SUITE $PACKAGES" "$(cat "$0")" | sha256sum | cut -c1-16)
root="$CACHE/$key"
if [ -e "$root/.complete" ]; then
  echo "$root"
  exit 0
fi
command -v mmdebstrap >/dev/null || { echo "rootfs.sh: mmdebstrap missing (make deps-systemd)" >&2; exit 1; }
mkdir -p "$CACHE"
tmp="$CACHE/.build-$key-$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
echo "rootfs.sh: building $SUITE with $PACKAGES into $root" >&2
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" \
  --customize-hook='chroot "$1" systemctl mask getty@tty1.service console-getty.service systemd-networkd-wait-online.service >/dev/null 2>&1 || true' \
  --customize-hook='echo jaild-test > "$1/etc/hostname"' \
  --customize-hook='rm -f "$1/etc/machine-id"; : > "$1/etc/machine-id"' \
  "$SUITE" "$tmp" >&2
touch "$tmp/.complete"
mv "$tmp" "$root"
trap - EXIT
echo "$root"
