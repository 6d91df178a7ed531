# threat: mknod a device node (/dev/mem, a disk) to read host memory or disks
# status: ok
# stdout: "mem=EPERM sda=EPERM mknodat=EPERM fifo=ok\n"
report(mem=attempt(lambda: os.mknod("/tmp/mem", 0o20600, os.makedev(1, 1))),
       sda=attempt(lambda: os.mknod("/tmp/sda", 0o60600, os.makedev(8, 0))),
       mknodat=sc(259, -100, b"/tmp/kmsg", 0o20600, os.makedev(1, 11)),
       fifo=attempt(lambda: os.mkfifo("/tmp/fifo")))
