# threat: x32 ABI entry (nr | 0x40000000) reaches a second syscall table
# status: signaled
# signal: SIGSYS
# stdout: ""
print("x32 mount returned", _libc.syscall(ctypes.c_long(0x40000000 | 165), 0, 0, 0, 0, 0), flush=True)
