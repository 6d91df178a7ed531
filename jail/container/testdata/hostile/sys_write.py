# threat: /sys writes (uevent_helper, cgroup files) or mounting sysfs to get them
# status: ok
# stdout: "sys=False uevent_helper=ENOENT mount_sysfs=EPERM cgroupfs=EPERM\n"
os.mkdir("/tmp/s")
report(sys=os.path.exists("/sys/kernel"), uevent_helper=attempt(lambda: open("/sys/kernel/uevent_helper", "w")),
       mount_sysfs=sc(165, b"sysfs", b"/tmp/s", b"sysfs", 0, 0), cgroupfs=sc(165, b"cgroup", b"/tmp/s", b"cgroup2", 0, 0))
