#!/usr/bin/env bash
# Builds the `make test-vm` guest: Debian 12 with systemd as PID 1 and the
# cloud kernel, from apt packages only. Output in $1: root.img (ext4, made
# with mkfs.ext4 -d, no loop mount), vmlinuz and initrd.img taken from the
# tree's /boot. The caller (run.sh) caches $1 by a hash of this file and
# guest/, so an edit here or there rebuilds it.
set -euo pipefail
out=$1
here=$(cd "$(dirname "$0")" && pwd)
# systemd-sysv makes systemd PID 1; the cloud kernel has virtio and boots
# fast; libseccomp2 is what the cgo test binaries link against (systemd
# pulls it too, named for clarity); udev and kmod load virtio modules;
# dbus is what `systemd-run --wait` talks to systemd through.
packages=systemd,systemd-sysv,dbus,udev,kmod,linux-image-cloud-amd64,initramfs-tools,libseccomp2,procps
tree=$(mktemp -d /var/tmp/jaild-vm-tree.XXXXXX)
trap 'rm -rf "$tree"' EXIT
# A small initramfs with just what the VM's root disk needs: quicker to
# build than MODULES=most, and the hooks run before the kernel's postinst
# builds it. modules.d is not a conffile, so dpkg does not prompt.
mmdebstrap --variant=minbase --include="$packages" \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
  --essential-hook='echo MODULES=list > "$1/etc/initramfs-tools/conf.d/jaild-vm.conf"' \
  --essential-hook='printf "virtio_pci\nvirtio_blk\next4\n" > "$1/usr/share/initramfs-tools/modules.d/jaild-vm"' \
  --customize-hook='echo jaild-vm > "$1/etc/hostname"' \
  --customize-hook='printf "127.0.0.1\tlocalhost\n127.0.1.1\tjaild-vm\n::1\tlocalhost ip6-localhost ip6-loopback\n" > "$1/etc/hosts"' \
  --customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" > "$1/etc/fstab"' \
  --customize-hook="install -m 0644 '$here/guest/jaild-vmtest.service' \"\$1/etc/systemd/system/\"" \
  --customize-hook="install -m 0755 '$here/guest/jaild-vmtest' \"\$1/usr/local/sbin/\"" \
  --customize-hook='chroot "$1" systemctl enable jaild-vmtest.service' \
  --customize-hook='chroot "$1" systemctl mask getty@tty1.service serial-getty@ttyS0.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer 2>/dev/null || true' \
  --customize-hook='chroot "$1" passwd -d root' \
  bookworm "$tree" http://deb.debian.org/debian
cp "$(ls "$tree"/boot/vmlinuz-* | sort -V | tail -1)" "$out/vmlinuz"
cp "$(ls "$tree"/boot/initrd.img-* | sort -V | tail -1)" "$out/initrd.img"
rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*
# Room for the suites' temp dirs and logs; the file is sparse.
truncate -s 3G "$out/root.img"
mkfs.ext4 -q -F -L jaild-vm -d "$tree" "$out/root.img"
