# threat: personality(2) to turn off ASLR or make data executable (READ_IMPLIES_EXEC)
# status: ok
# stdout: "addr_no_randomize=EPERM read_implies_exec=EPERM linux32=EPERM query=ok\n"
report(addr_no_randomize=sc(135, 0x0040000), read_implies_exec=sc(135, 0x0400000),
       linux32=sc(135, 0x0008), query=sc(135, 0xffffffff))
