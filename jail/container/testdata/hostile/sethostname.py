# threat: change the host's hostname or domain name, or its clock
# status: ok
# stdout: "sethostname=EPERM setdomainname=EPERM clock_settime=EPERM settimeofday=EPERM\n"
ts = (ctypes.c_long * 2)(0, 0)
report(sethostname=sc(170, b"pwned", 5), setdomainname=sc(171, b"pwned", 5),
       clock_settime=sc(227, 0, ctypes.addressof(ts)), settimeofday=sc(164, ctypes.addressof(ts), 0))
