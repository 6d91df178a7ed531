# jaild eval harness for Python. The daemon places this file in the jail
# and starts it as PID 1 with a control document on stdin. See
# daemon/evalharness.go for the protocol and the threat model.
#
# parent (PID 1): never imports or runs submitted code. It makes itself
#   non-dumpable (so no other process in the jail can open /proc/1/fd/1 or
#   /proc/1/mem), starts the worker processes, enforces each case's wall
#   limit, and is the only writer of the jail's stdout: one frame per case,
#   "<nonce> <json>\n", then a "done" frame.
# child ("child" argument): imports the submission and calls the functions,
#   reporting each return value on a private pipe to the parent. Its
#   stdout/stderr go to files the parent reads back. It never sees the nonce
#   or the expected values (those never enter the jail).
import json
import os
import sys
import time

HARNESS = os.path.abspath(__file__)
WORK = "/work"
VALUE_CAP = 256 << 10


def _write_all(fd, data):
    while data:
        n = os.write(fd, data)
        data = data[n:]


# ---------------------------------------------------------------- child

def private_encoder(**kw):
    """A JSON encoder the submission cannot reach by patching json: the
    encoder's methods are copied into a private class, with a snapshot of
    json.encoder's globals (c_make_encoder, encode_basestring, ...)."""
    import types
    import json.encoder as je
    snap = dict(je.__dict__)

    def copy(f):
        return types.FunctionType(f.__code__, snap, f.__name__, f.__defaults__, f.__closure__)

    cls = type("_Encoder", (je.JSONEncoder,), {k: copy(getattr(je.JSONEncoder, k))
                                               for k in ("encode", "iterencode", "default")})
    return cls(separators=(",", ":"), **kw).encode


def child():
    # Everything the child needs is bound before the submission runs, so
    # monkeypatching json or os afterwards cannot change how results are
    # encoded or where they go.
    dumps, write, loads, fstat = json.dumps, os.write, json.loads, os.fstat
    encode = private_encoder(allow_nan=False, sort_keys=True)
    dumps = private_encoder()
    import traceback, inspect, importlib.util
    fmt_exc = traceback.format_exception
    ctl = loads(sys.stdin.buffer.read())
    sys.stdin = open(os.devnull)
    os.dup2(sys.stdin.fileno(), 0)
    fd = int(ctl["fd"])
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # the OOM killer takes the worker, not the harness
    except OSError:
        pass
    sys.path[0] = WORK

    def report(msg):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        try:
            # How far this case's output reaches, so that the parent can
            # attribute output to cases however the reports arrive.
            msg["out"], msg["err"] = fstat(1).st_size, fstat(2).st_size
        except OSError:
            pass
        line = dumps(msg).encode() + b"\n"
        while line:
            line = line[write(fd, line):]

    def exc_msg(i, e):
        tb = "".join(fmt_exc(type(e), e, e.__traceback__))
        return {"case": i, "ok": False, "type": type(e).__name__, "message": str(e), "traceback": tb}

    mod = None
    import_err = None
    t0 = time.process_time()
    try:
        entry = os.path.join(WORK, ctl["entrypoint"])
        name = os.path.splitext(os.path.basename(entry))[0] or "main"
        spec = importlib.util.spec_from_file_location(name, entry)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    except BaseException as e:  # SystemExit and KeyboardInterrupt included
        import_err = e
    for c in ctl["cases"]:
        i = c["index"]
        if import_err is not None:
            m = exc_msg(i, import_err)
            m["cpu_ms"] = 0
            report(m)
            continue
        try:
            fn = getattr(mod, c["function"], None)
            if not callable(fn):
                raise NameError("function %r is not defined by %s" % (c["function"], ctl["entrypoint"]))
            r = fn(*c.get("args", []), **c.get("kwargs", {}))
            if inspect.isawaitable(r):
                import asyncio
                r = asyncio.run(r) if inspect.iscoroutine(r) else asyncio.get_event_loop().run_until_complete(r)
            try:
                v = encode(r)
            except (TypeError, ValueError, RecursionError) as e:
                raise TypeError("return value is not JSON-encodable: %s" % e) from None
            if not isinstance(v, str) or len(v) > VALUE_CAP:
                raise ValueError("JSON-encoded return value is larger than %d bytes" % VALUE_CAP)
            m = {"case": i, "ok": True, "value": v}
        except BaseException as e:
            m = exc_msg(i, e)
        t1 = time.process_time()
        m["cpu_ms"] = int((t1 - t0) * 1000)
        t0 = t1
        report(m)
    sys.stdout.flush()
    os._exit(0)


# ---------------------------------------------------------------- parent

class Parent:
    def __init__(self, ctl, tmp):
        self.ctl = ctl
        self.nonce = ctl["nonce"]
        self.cap = int(ctl["output_bytes"])
        self.tmp = tmp
        self.cases = ctl["cases"]
        self.sent_sigkill = set()
        self.foreign_kill = False
        self.start = time.monotonic()
        self.total = ctl.get("total_ms", 0) / 1000.0

    def wall(self, i):
        """Case i's wall limit in seconds, cut to what is left of the
        eval's total budget; <= 0 when the budget is spent."""
        w = self.cases[i]["wall_ms"] / 1000.0
        if self.total > 0:
            w = min(w, self.total - (time.monotonic() - self.start))
        return w

    def skip_rest(self, i):
        for k in range(i, len(self.cases)):
            self.emit({"case": k, "kind": "skipped"})

    def emit(self, frame):
        line = self.nonce.encode() + b" " + json.dumps(frame, separators=(",", ":")).encode() + b"\n"
        _write_all(1, line)

    def read_out(self, path, start, upto=None):
        """Return (kept bytes from start, dropped count, new end); upto,
        the size the worker reported, bounds the case's share."""
        try:
            end = os.path.getsize(path)
        except OSError:
            return b"", 0, start
        if isinstance(upto, int) and start <= upto < end:
            end = upto
        n = max(0, end - start)
        keep = min(n, self.cap)
        with open(path, "rb") as f:
            f.seek(start)
            data = f.read(keep)
        return data, n - len(data), end

    def outputs(self, frame, out, err, offs, ends=(None, None)):
        import base64
        so, sd, offs[0] = self.read_out(out, offs[0], ends[0])
        se, ed, offs[1] = self.read_out(err, offs[1], ends[1])
        frame["stdout"] = base64.b64encode(so).decode()
        frame["stderr"] = base64.b64encode(se).decode()
        frame["stdout_dropped"] = sd
        frame["stderr_dropped"] = ed

    def died(self, frame, rc, pid):
        import signal
        if rc < 0:
            sig = -rc
            frame["kind"] = "signaled"
            try:
                frame["signal"] = signal.Signals(sig).name
            except ValueError:
                frame["signal"] = "SIG%d" % sig
            if sig == signal.SIGKILL and pid not in self.sent_sigkill:
                self.foreign_kill = True
        else:
            frame["kind"] = "exited"
            frame["exit_code"] = rc

    # function cases: one worker per session; a session ends when its
    # worker times out, dies or breaks the protocol, and the next case
    # gets a fresh worker.
    def run_functions(self):
        i = 0
        while i < len(self.cases):
            if self.wall(i) <= 0:
                self.skip_rest(i)
                return
            i = self.session(i)

    def session(self, start):
        """Run cases from start in one worker; emit their frames once the
        worker is gone, so that a report it sends twice (a forged one and
        the real one) or out of order taints every case it reported."""
        import subprocess
        out = os.path.join(self.tmp, "out%d" % start)
        err = os.path.join(self.tmp, "err%d" % start)
        fo = open(out, "wb")
        fe = open(err, "wb")
        r, w = os.pipe()
        body = json.dumps({"entrypoint": self.ctl["entrypoint"], "fd": w, "cases": [
            {"index": k, "function": c["function"], "args": c.get("args", []), "kwargs": c.get("kwargs", {})}
            for k, c in enumerate(self.cases) if k >= start]}).encode()
        t0 = time.monotonic()
        p = subprocess.Popen([sys.executable, "-B", "-E", "-s", HARNESS, "child"], stdin=subprocess.PIPE,
                             stdout=fo, stderr=fe, pass_fds=(w,), close_fds=True)
        os.close(w)
        fo.close()
        fe.close()
        try:
            p.stdin.write(body)
            p.stdin.close()
        except OSError:
            pass
        self.buf, self.eof = b"", False
        frames, offs, tainted = [], [0, 0], None
        i = start
        while i < len(self.cases):
            wall = self.wall(i)
            if wall <= 0 and i > start:
                break  # the budget is spent: run_functions skips the rest
            line = self.next_line(r, t0 + wall)
            frame = {"case": i, "wall_ms": int((time.monotonic() - t0) * 1000)}
            if line is None and not self.eof and not self.overflow():
                self.kill(p)
                frame["kind"] = "timeout"
            elif line is None and self.eof:
                self.died(frame, p.wait(), p.pid)
            elif line is None or not self.judge(frame, line, i):
                tainted = "the worker broke the report protocol (a report out of order, twice or malformed)"
                frame["kind"] = "protocol"
            self.outputs(frame, out, err, offs, (frame.pop("out", None), frame.pop("err", None)))
            frames.append(frame)
            t0 = time.monotonic()
            i += 1
            if frame["kind"] not in ("return", "raise"):
                break
        if tainted is None and frames[-1]["kind"] in ("return", "raise"):
            # Every case answered: the real worker exits right away. Wait
            # for it until the last case's deadline, and refuse anything
            # more it sends, such as the real report after a forged one.
            last = self.wall(i - 1) - (time.monotonic() - t0)
            while self.next_line(r, t0 + max(0, last)) is not None or self.buf:
                tainted = "the worker sent a report after its last case"
                break
        self.kill(p)
        os.close(r)
        for f in frames:
            if tainted is not None:
                for k in ("value", "type", "traceback"):
                    f.pop(k, None)
                f["kind"], f["message"] = "protocol", tainted
            self.emit(f)
        return i

    def overflow(self):
        return len(self.buf) > 4 * VALUE_CAP

    def next_line(self, r, deadline):
        """One line from the worker, or None at the deadline, at EOF or when
        it sends an oversized line."""
        import select
        while b"\n" not in self.buf and not self.eof and not self.overflow():
            left = max(0, deadline - time.monotonic())
            rd, _, _ = select.select([r], [], [], left)  # polls once even past the deadline
            if not rd:
                if left == 0:
                    return None
                continue
            chunk = os.read(r, 65536)
            if not chunk:
                self.eof = True
            self.buf += chunk
        if b"\n" not in self.buf:
            return None
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def judge(self, frame, line, i):
        try:
            m = json.loads(line)
            ok = isinstance(m, dict) and m.get("case") == i and isinstance(m.get("ok"), bool)
        except ValueError:
            ok = False
        if not ok:
            return False
        cpu = m.get("cpu_ms")
        frame["cpu_ms"] = cpu if isinstance(cpu, int) and cpu >= 0 else 0
        frame["out"], frame["err"] = m.get("out"), m.get("err")
        if m["ok"]:
            if not isinstance(m.get("value"), str):
                return False
            frame["kind"] = "return"
            frame["value"] = m["value"]
            return True
        frame["kind"] = "raise"
        for k in ("type", "message", "traceback"):
            v = m.get(k)
            frame[k] = v[:VALUE_CAP] if isinstance(v, str) else ""
        return True

    def kill(self, p):
        import signal
        if p.poll() is None:
            self.sent_sigkill.add(p.pid)
            try:
                os.kill(p.pid, signal.SIGKILL)
            except OSError:
                pass
        p.wait()

    # stdin/stdout cases: each case is a fresh run of the program.
    def run_stdio(self):
        import resource, subprocess
        interp = sys.executable
        entry = os.path.join(WORK, self.ctl["entrypoint"])
        for i, c in enumerate(self.cases):
            wall = self.wall(i)
            if wall <= 0:
                self.skip_rest(i)
                return
            inp = os.path.join(self.tmp, "in%d" % i)
            out = os.path.join(self.tmp, "out%d" % i)
            err = os.path.join(self.tmp, "err%d" % i)
            with open(inp, "wb") as f:
                f.write(c.get("stdin", "").encode())
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            with open(inp, "rb") as fi, open(out, "wb") as fo, open(err, "wb") as fe:
                p = subprocess.Popen([interp, "-B", "-E", "-s", entry] + list(c.get("argv", [])),
                                     stdin=fi, stdout=fo, stderr=fe, close_fds=True)
            frame = {"case": i}
            try:
                rc = p.wait(timeout=wall)
                if rc == 0 or rc > 0:
                    frame["kind"], frame["exit_code"] = "exit", rc
                else:
                    self.died(frame, rc, p.pid)
            except subprocess.TimeoutExpired:
                self.kill(p)
                frame["kind"] = "timeout"
            frame["wall_ms"] = int((time.monotonic() - t0) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            frame["cpu_ms"] = int(((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)) * 1000)
            self.outputs(frame, out, err, [0, 0])
            self.emit(frame)
            for path in (inp, out, err):
                try:
                    os.unlink(path)
                except OSError:
                    pass


def parent():
    import signal
    # PID 1 gets only the signals it handles from inside its namespace;
    # ignoring them all leaves no way to interrupt the harness.
    for s in ("SIGINT", "SIGTERM", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGQUIT", "SIGALRM"):
        signal.signal(getattr(signal, s), signal.SIG_IGN)
    import ctypes, tempfile
    libc = ctypes.CDLL(None, use_errno=True)
    # PR_SET_DUMPABLE 0: /proc/1/{fd,mem,environ} become inaccessible to
    # the workers (same uid, but ptrace_may_access refuses non-dumpable
    # tasks without CAP_SYS_PTRACE), so only this process can reach fd 1.
    if libc.prctl(4, 0, 0, 0, 0) != 0:
        sys.stderr.write("jaild harness: prctl(PR_SET_DUMPABLE): errno %d\n" % ctypes.get_errno())
        os._exit(70)
    ctl = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    tmp = tempfile.mkdtemp(prefix=".jaild-", dir="/tmp")
    h = Parent(ctl, tmp)
    if ctl["mode"] == "function":
        h.run_functions()
    else:
        h.run_stdio()
    h.emit({"case": len(h.cases), "kind": "done"})
    # Exit 3 makes the runner look at the cgroup's OOM counter: a worker
    # the kernel killed while the harness lived on would otherwise go unseen.
    os._exit(3 if h.foreign_kill else 0)


if __name__ == "__main__":
    if sys.argv[1:] == ["child"]:
        child()
    else:
        parent()
