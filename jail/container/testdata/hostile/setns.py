# threat: setns(2) into another namespace (own ns files, or the target jail's by host pid)
# status: ok
# stdout: "own_net=EPERM own_user=EPERM target_ns=ENOENT\n"
fd_net = os.open("/proc/self/ns/net", os.O_RDONLY)
fd_user = os.open("/proc/self/ns/user", os.O_RDONLY)
report(own_net=sc(308, fd_net, 0), own_user=sc(308, fd_user, 0),
       target_ns=attempt(lambda: os.open("/proc/{{TARGET_PID}}/ns/mnt", os.O_RDONLY)))
