# threat: privileged odds and ends: swapon, acct, syslog, iopl, ioperm, modify_ldt, quotactl, vhangup
# status: ok
# stdout: "swapon=EPERM acct=EPERM syslog=EPERM iopl=EPERM ioperm=EPERM modify_ldt=EPERM quotactl=EPERM vhangup=EPERM pidfd_getfd=ENOSYS kcmp=EPERM\n"
# ENOSYS for pidfd_getfd (438) comes from runc, which answers every syscall newer than the newest one a profile names (openat2, 437) with ENOSYS
report(swapon=sc(167, b"/tmp/x", 0), acct=sc(163, b"/tmp/x"), syslog=sc(103, 3, 0, 0), iopl=sc(172, 3),
       ioperm=sc(173, 0, 1024, 1), modify_ldt=sc(154, 0, 0, 0), quotactl=sc(179, 0, 0, 0, 0),
       vhangup=sc(153), pidfd_getfd=sc(438, 0, 0, 0), kcmp=sc(312, 1, 1, 0, 0, 0))
