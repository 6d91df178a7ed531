# threat: widen the jail's syscall filter (seccomp(2), prctl(PR_SET_SECCOMP) allow-all, mode strict games)
# status: ok
# stdout: "seccomp=EPERM mode_strict=EPERM prctl_allow_all=EPERM still_blocked=EPERM\n"
# The derived profiles do not allow prctl, so both prctl calls get EPERM from the filter (under wide.json the kernel said EINVAL to strict mode and ok to a further allow-all filter).
import struct
insns = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0x7fff0000))  # RET SECCOMP_RET_ALLOW
prog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", 1, ctypes.addressof(insns)))
seccomp = sc(317, 1, 0, prog)  # seccomp(SECCOMP_SET_MODE_FILTER)
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    # prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT): the child reports the answer
    # over the pipe (write is allowed even in strict mode; exit_group is not,
    # so a child that really entered strict mode dies with SIGKILL).
    os.write(w, sc(157, 22, 1, 0, 0, 0).encode())
    os._exit(0)
os.close(w)
_, st = os.waitpid(pid, 0)
strict = os.read(r, 64).decode()
if st != 0:
    strict += f"+wait{st}"
# A new filter only ever adds restrictions: mount must stay refused after an allow-all one.
allow_all = sc(157, 22, 2, prog, 0, 0)
report(seccomp=seccomp, mode_strict=strict,
       prctl_allow_all=allow_all, still_blocked=sc(165, b"none", b"/tmp", b"tmpfs", 0, 0))
