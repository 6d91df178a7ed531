# threat: mount(2) a fresh filesystem to get a writable, exec-able or host view
# status: ok
# stdout: "tmpfs=EPERM proc=EPERM bind_root=EPERM remount_rw=EPERM\n"
os.mkdir("/tmp/m")
report(tmpfs=sc(165, b"none", b"/tmp/m", b"tmpfs", 0, 0),
       proc=sc(165, b"proc", b"/tmp/m", b"proc", 0, 0),
       bind_root=sc(165, b"/", b"/tmp/m", 0, 0x1000 | 0x4000, 0),   # MS_BIND|MS_REC
       remount_rw=sc(165, 0, b"/", 0, 0x20, 0))                      # MS_REMOUNT
