package container

// zygoteLoader runs with python -c as PID 1 of a zygote jail (zygote.go).
// It is trusted code: it never runs a script itself and never reads a
// run's request; only its children do, after they have become jails of
// their own.
//
// Protocol on fd 3, a SOCK_SEQPACKET socket to the runner:
//   - runner → zygote, once: b"B", the seccomp(2) flags (u32) and the
//     profile's compiled seccomp filter;
//   - zygote → runner: b"R" when it is ready;
//   - runner → zygote, per run: b"F" with four descriptors (SCM_RIGHTS): the
//     run's socket and the script's stdin, stdout and stderr.
//
// Per run the zygote unshares a new PID namespace and forks; the child is
// PID 1 there. On the run's socket (SOCK_STREAM, SO_PASSCRED at the
// runner's end, so the kernel tells the runner the child's host pid):
//   - child → runner: b"P" as soon as it exists;
//   - runner → child, once the child is in its own cgroup: the request, a
//     u32 length then items (u32 length + bytes): tmpfs size, inode cap,
//     RLIMIT_CPU soft and hard, argc, argv…, envc, env…, then name and
//     content of each file;
//   - child → runner: b"G" once it is a jail, its seccomp filter loaded
//     (the run's clock starts here), or b"E" + a message if it could not
//     become one;
//   - zygote → runner: b"S" + the child's wait status (i32, little-endian)
//     once it has reaped it. The child closes its copy of the socket before
//     the script runs, so only the zygote can send this.
//
// Between fork and the script the child, still trusted code, makes itself
// a jail: a session of its own (setsid), new mount, network, IPC and UTS
// namespaces (its PID namespace came with the fork), a fresh /proc with runc's masked and read-only
// paths, its own size-capped tmpfs for /work and /tmp, its own /dev/shm,
// a read-only /dev, loopback up, a cgroup namespace rooted at its own
// cgroup, its RLIMIT_CPU and RLIMIT_FSIZE, every capability dropped (bounding, ambient,
// effective, permitted, inheritable), the profile's seccomp filter, every
// descriptor but stdio closed, the loader's own modules out of
// sys.modules. Then it runs the script as a parked jail's loader does.
const zygoteLoader = pythonRun + `def _jaild_zygote():
    import sys
    base = set(sys.modules)
    # C modules where there are any (_socket, _signal, _struct rather than
    # their Python wrappers): a Python module the zygote imports can stay
    # reachable from C state in every child (see the end of child()).
    import os, _socket as socket, _signal as signal, _struct as struct, select, fcntl, ctypes
    exit_ = _jaild_prepare()
    libc = ctypes.CDLL(None, use_errno=True)
    L = ctypes.c_long

    def sys_(nr, *args):
        r = libc.syscall(L(nr), *[L(a) if isinstance(a, int) else a for a in args])
        if r < 0:
            e = ctypes.get_errno()
            raise OSError(e, "syscall %d: %s" % (nr, os.strerror(e)))
        return r

    def mount(src, dst, fstype, flags, data=None):
        enc = lambda s: ctypes.c_char_p(s.encode()) if s is not None else ctypes.c_char_p(None)
        try:
            sys_(165, enc(src), enc(dst), enc(fstype), flags, enc(data))
        except OSError as e:
            raise OSError(e.errno, "mount %s on %s: %s" % (fstype or src, dst, e.strerror))

    def umount(dst):
        sys_(166, ctypes.c_char_p(dst.encode()), 2)  # MNT_DETACH

    NS, UTS, IPC, NET, PID, CG = 0x20000, 0x4000000, 0x8000000, 0x40000000, 0x20000000, 0x2000000
    RDONLY, NOSUID, NODEV, NOEXEC, REMOUNT, BIND, MOVE, REC = 1, 2, 4, 8, 32, 4096, 8192, 16384
    NOX = NOSUID | NODEV | NOEXEC
    MASKED = ("/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
              "/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats")
    READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")
    # Looked up once here (the children's /proc is of the same kernel), so
    # that a child raises no exception for a path this kernel lacks: each
    # costs a traceback, and a child pays every one.
    masked = [(p, os.path.isdir(p)) for p in MASKED if os.path.lexists(p)]
    readonly = [p for p in READONLY if os.path.lexists(p)]
    with open("/proc/sys/kernel/cap_last_cap") as f:
        last_cap = int(f.read())

    ctl = socket.socket(fileno=3)
    first = ctl.recv(1 << 20)
    if first[:1] != b"B" or len(first) < 13 or (len(first) - 5) % 8:
        os._exit(2)
    sc_flags = struct.unpack("<I", first[1:5])[0]
    bpf = ctypes.create_string_buffer(first[5:], len(first) - 5)

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
    prog = Fprog((len(first) - 5) // 8, ctypes.addressof(bpf))

    class CapHdr(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
    class CapData(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]
    # Made here: ctypes keeps a weakref proxy per array type it makes, and
    # a child that made one would have to finalize at exit (pythonExit).
    cap_hdr, cap_data = CapHdr(0x20080522, 0), (CapData * 2)()

    def readn(s, n):
        # One buffer, filled in place: the request is charged to the run's
        # cgroup, so it is not copied on the way.
        buf = bytearray(n)
        mv, got = memoryview(buf), 0
        while got < n:
            k = s.recv_into(mv[got:])
            if not k:
                raise EOFError("run socket closed")
            got += k
        return mv

    def proc():
        # Mount the new PID namespace's /proc beside the inherited one, drop
        # that (and runc's masks on it), move the new one in place, mask.
        # The kernel lets a user namespace mount proc only while a proc it
        # already sees whole is mounted, hence the order.
        mount("proc", "/dev/shm", "proc", NOX)
        umount("/proc")
        mount("/dev/shm", "/proc", None, MOVE)
        for p, isdir in masked:  # as runc's maskPath
            if isdir:
                mount("tmpfs", p, "tmpfs", RDONLY)
            else:
                mount("/dev/null", p, None, BIND)
        for p in readonly:
            mount(p, p, None, BIND | REC)
            mount(None, p, None, BIND | REMOUNT | RDONLY | NOX)

    def become_jail(rs):
        sys_(272, NS | NET | IPC | UTS)
        mount(None, "/", None, REC | (1 << 18))  # MS_PRIVATE
        proc()
        umount("/dev/shm")
        # Loopback up, as runc does for a jail's network namespace.
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))  # SIOCSIFFLAGS UP|LOOPBACK|RUNNING
        s.close()
        n = struct.unpack("<I", readn(rs, 4))[0]
        req = readn(rs, n)
        items, i = [], 0
        while i < len(req):
            m = struct.unpack_from("<I", req, i)[0]
            items.append(req[i + 4:i + 4 + m])
            i += 4 + m
        it = iter(items)
        size, inodes, cpu_soft, cpu_hard = (int(bytes(next(it))) for _ in range(4))
        argv = [os.fsdecode(bytes(next(it))) for _ in range(int(bytes(next(it))))]
        env = [bytes(next(it)) for _ in range(int(bytes(next(it))))]
        sys_(272, CG)  # the runner has moved us into our own cgroup by now
        mount("shm", "/dev/shm", "tmpfs", NOX, "mode=1777,size=%d" % size)
        mount(None, "/dev", None, BIND | REMOUNT | RDONLY | NOSUID)
        # One tmpfs holds /work and /tmp, so Limits.Tmp caps them together.
        umount("/tmp")
        umount("/work")
        mount("tmpfs", "/work", "tmpfs", NOX, "size=%d,nr_inodes=%d,mode=0700" % (size, inodes))
        os.mkdir("/work/work", 0o755)
        os.mkdir("/work/tmp")
        os.chmod("/work/work", 0o755)
        os.chmod("/work/tmp", 0o1777)
        for src, dst in (("/work/tmp", "/tmp"), ("/work/work", "/work")):
            mount(src, dst, None, BIND)
            mount(None, dst, None, BIND | REMOUNT | NOX)
        name = content = None
        for name in it:
            content = next(it)
            path = "/work"
            parts = os.fsdecode(bytes(name)).split("/")
            for d in parts[:-1]:
                path += "/" + d
                try:
                    os.mkdir(path, 0o755)
                except FileExistsError:
                    pass
            fd = os.open(path + "/" + parts[-1], os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            while content:
                content = content[os.write(fd, content):]
            os.close(fd)
        del items, it, req, name, content
        os.chdir("/work")
        sys_(160, 0, struct.pack("<QQ", cpu_soft, cpu_hard))  # setrlimit(RLIMIT_CPU)
        sys_(160, 1, struct.pack("<QQ", size, size))  # setrlimit(RLIMIT_FSIZE)
        # The bounding and ambient sets came empty from the zygote.
        sys_(126, ctypes.byref(cap_hdr), ctypes.byref(cap_data))  # capset: nothing left
        return argv, env

    def child(rs, fds):
        # A session and process group of its own before anything else, as
        # runc's setsid gives a cold jail: the zygote's group would let a
        # script kill(0, sig) every other run of the zygote, and the zygote.
        os.setsid()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        rs.send(b"P")
        try:
            argv, env = become_jail(rs)
            for i, fd in enumerate(fds):
                os.dup2(fd, i)
            sys_(157, 38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS (runc set it already)
            sys_(317, 1, sc_flags, ctypes.byref(prog))  # seccomp(SECCOMP_SET_MODE_FILTER)
            # A jail now: the runner starts the run's clock and counters.
            # write(2), which every profile allows, not send(2).
            os.write(rs.fileno(), b"G")
        except BaseException as e:
            try:
                rs.send(b"E" + repr(e).encode()[:4000])
            finally:
                os._exit(126)
        # The socket objects must not close their numbers again later, when
        # the script may have reused them.
        rs.detach()
        ctl.detach()
        os.closerange(3, 1 << 20)
        # exit_.keep holds the modules, so that this frees nothing: every
        # free would copy a page shared with the zygote.
        for m in [m for m in sys.modules if m not in base]:
            del sys.modules[m]
        return argv, env, exit_

    # _ctypes keeps ctypes' types in C caches for good, and through their
    # methods ctypes' globals, which hold os: os would outlive the
    # collection of an exit that finalizes, and with it any script object
    # hung on it (os.x = obj) and the script's globals it reaches, whose
    # finalizers would then not run as in a cold jail
    # (TestPoolExitLooksCold). An import of ctypes by the script starts
    # afresh and resets those caches.
    exit_.clear.append(vars(ctypes))
    exit_.keep = list(sys.modules.values())

    # After unshare(CLONE_NEWPID) only the next fork goes into the new
    # namespace, and the kernel refuses another unshare until the zygote's
    # children are put back into its own namespace (setns below).
    own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    rfd, wfd = os.pipe()
    os.set_blocking(rfd, False)
    os.set_blocking(wfd, False)
    signal.signal(signal.SIGCHLD, lambda s, f: None)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # no KeyboardInterrupt in the zygote
    signal.set_wakeup_fd(wfd)
    # The bounding and ambient sets are emptied once, here, for every
    # child: the zygote never execs, and a capability out of the bounding
    # set stays in its permitted and effective sets until the child's
    # capset drops those.
    for c in range(last_cap + 1):
        sys_(157, 24, c)  # PR_CAPBSET_DROP
    sys_(157, 47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
    ctl.send(b"R")
    runs, st = {}, None
    while True:
        ready = select.select([ctl, rfd], [], [])[0]
        if rfd in ready:
            try:
                os.read(rfd, 4096)
            except BlockingIOError:
                pass
        while runs:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            rs = runs.pop(pid, None)
            if rs is not None:
                try:
                    rs.send(b"S" + struct.pack("<i", st))
                except OSError:
                    pass
                rs.close()
        if ctl not in ready:
            continue
        msg, anc, _, _ = ctl.recvmsg(16, socket.CMSG_SPACE(4 * 4))
        if not msg:
            os._exit(0)  # the runner is gone
        fds = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds += list(struct.unpack("%di" % (len(data) // 4), data[:len(data) - len(data) % 4]))
        if msg != b"F" or len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        rs = socket.socket(fileno=fds[0])
        # What the zygote made since the last run stays out of the child's
        # collections and its exit's look at what the run made (pythonExit).
        exit_.freeze()
        try:
            sys_(272, PID)
            try:
                pid = os.fork()
            except OSError:
                sys_(308, own_pid_ns, PID)
                raise
        except OSError as e:
            try:
                rs.send(b"E" + ("fork: %s" % e).encode())
            except OSError:
                pass
            rs.close()
            for fd in fds[1:]:
                os.close(fd)
            continue
        if pid == 0:
            # The script runs below this frame (returning first would free
            # its locals, each free a copied page), and can read its
            # locals (sys._getframe): nothing of another run may be among
            # them, such as st, the last wait status the zygote reaped.
            del ready, msg, anc, runs, first, st
            _jaild_run(*child(rs, fds[1:]))
            return
        for fd in fds[1:]:
            os.close(fd)
        runs[pid] = rs
        sys_(308, own_pid_ns, PID)  # setns
_jaild_private(_jaild_prepare, _jaild_run, _jaild_zygote)["_jaild_zygote"]()
`
