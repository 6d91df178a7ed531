# threat: clone(2) with namespace flags: new namespaces without unshare
# status: ok
# stdout: "newuser=EPERM newns=EPERM newnet=EPERM newpid=EPERM newuts=EPERM newipc=EPERM newcgroup=EPERM plain=ok\n"
flags = dict(newuser=0x10000000, newns=0x20000, newnet=0x40000000, newpid=0x20000000,
             newuts=0x04000000, newipc=0x08000000, newcgroup=0x02000000)
out = {k: sc(56, v | 17, 0, 0, 0, 0) for k, v in flags.items()}  # | SIGCHLD, fork-like
ctypes.set_errno(0)
pid = _libc.syscall(ctypes.c_long(56), ctypes.c_long(17), 0, 0, 0, 0)
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
out["plain"] = "ok" if pid > 0 else "failed"
report(**out)
