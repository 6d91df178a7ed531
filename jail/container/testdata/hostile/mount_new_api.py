# threat: the new mount API (fsopen/fsmount/open_tree/move_mount/mount_setattr)
# status: ok
# stdout: "fsopen=EPERM fsmount=EPERM open_tree=EPERM move_mount=EPERM mount_setattr=ENOSYS fspick=EPERM\n"
# ENOSYS for mount_setattr (442) comes from runc, which answers every syscall newer than the newest one a profile names (openat2, 437) with ENOSYS
report(fsopen=sc(430, b"tmpfs", 0), fsmount=sc(432, 3, 0, 0), open_tree=sc(428, -100, b"/", 1),
       move_mount=sc(429, -100, b"/tmp", -100, b"/work", 0), mount_setattr=sc(442, -100, b"/", 0, 0, 0),
       fspick=sc(433, -100, b"/", 0))
