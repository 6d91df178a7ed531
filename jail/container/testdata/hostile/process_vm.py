# threat: process_vm_readv/writev to read or patch another process's memory
# status: ok
# stdout: "readv=EPERM writev=EPERM readv_target=EPERM\n"
import time
buf = ctypes.create_string_buffer(64)
iov = (ctypes.c_void_p * 2)(ctypes.addressof(buf), 64)
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
p = ctypes.addressof(iov)
report(readv=sc(310, pid, p, 1, p, 1, 0), writev=sc(311, pid, p, 1, p, 1, 0),
       readv_target=sc(310, {{TARGET_PID}}, p, 1, p, 1, 0))
os.kill(pid, 9)
