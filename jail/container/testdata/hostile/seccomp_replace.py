# threat: widen the jail's syscall filter (seccomp(2), prctl(PR_SET_SECCOMP) allow-all, mode strict games)
# status: ok
# stdout: "seccomp=EPERM mode_strict=EINVAL prctl_allow_all=ok still_blocked=EPERM\n"
import struct
insns = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0x7fff0000))  # RET SECCOMP_RET_ALLOW
prog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", 1, ctypes.addressof(insns)))
seccomp = sc(317, 1, 0, prog)  # seccomp(SECCOMP_SET_MODE_FILTER)
pid = os.fork()
if pid == 0:
    # prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT): refused once a filter is set
    os._exit(3 if sc(157, 22, 1, 0, 0, 0) == "EINVAL" else 0)
_, st = os.waitpid(pid, 0)
# A new filter only ever adds restrictions: mount must stay refused after an allow-all one.
allow_all = sc(157, 22, 2, prog, 0, 0)
report(seccomp=seccomp, mode_strict="EINVAL" if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 3 else st,
       prctl_allow_all=allow_all, still_blocked=sc(165, b"none", b"/tmp", b"tmpfs", 0, 0))
