# Prepended to every hostile Python script (see hostile_test.go).
import ctypes, errno, os, sys
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
def _arg(a):
    if isinstance(a, int):
        return ctypes.c_long(a)
    if isinstance(a, (bytes, str)):
        return ctypes.c_char_p(a.encode() if isinstance(a, str) else a)
    return a
def sc(nr, *args):
    """Raw syscall(2) by number: "ok" or the errno name."""
    ctypes.set_errno(0)
    r = _libc.syscall(ctypes.c_long(nr), *[_arg(a) for a in args])
    return "ok" if r != -1 else errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))
def attempt(f):
    """Run f: "ok" or the OSError's errno name."""
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e))
def report(**kv):
    print(" ".join(f"{k}={v}" for k, v in kv.items()), flush=True)
MARKER = sys.argv[1]
