# threat: unshare(2) into new namespaces (nested userns is a classic kernel LPE path)
# status: ok
# stdout: "user=EPERM mnt=EPERM net=EPERM pid=EPERM uts=EPERM ipc=EPERM cgroup=EPERM\n"
report(user=sc(272, 0x10000000), mnt=sc(272, 0x20000), net=sc(272, 0x40000000), pid=sc(272, 0x20000000),
       uts=sc(272, 0x04000000), ipc=sc(272, 0x08000000), cgroup=sc(272, 0x02000000))
