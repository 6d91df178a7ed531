# threat: open host devices (/dev/mem, /dev/kmem, /dev/port, /dev/kmsg, disks, fuse, kvm)
# status: ok
# stdout: "/dev/mem=ENOENT /dev/kmem=ENOENT /dev/port=ENOENT /dev/kmsg=ENOENT /dev/sda=ENOENT /dev/vda=ENOENT /dev/fuse=ENOENT /dev/kvm=ENOENT /dev/console=ENOENT\n"
print(" ".join(f"{p}={attempt(lambda: os.open(p, os.O_RDWR))}" for p in
      ["/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/sda", "/dev/vda", "/dev/fuse", "/dev/kvm", "/dev/console"]))
