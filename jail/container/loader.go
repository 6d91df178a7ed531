package container

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/jaild/jaild/jail"
)

// A parked jail runs its interpreter with a loader instead of the script.
// The loader signals readiness by writing one byte to fd loaderReadyFD and
// closing it, reads one request from loaderRequestFD until EOF, closes it
// and then makes the process look as a cold run of the request would
// (argv, environment, main module) before running the entrypoint in it.
//
// The loader execs nothing and imports nothing the interpreter has not
// already imported at start-up. What stays visible to the script, and
// differs from a cold run, is documented in README ("Warm pool") and
// checked by TestPoolLooksCold:
//   - /proc/self/cmdline shows the loader's command line and
//     /proc/self/environ the start-up environment (the key's environment,
//     without the request's own variables);
//   - the frames below the script's module frame (sys._getframe(1), a
//     Node stack trace below the main module) are the loader's;
//   - CPU time and memory charged to the process include the warm-up
//     (the run's reported CPU excludes it, see Pool).
//
// Nothing of another run can be visible: every parked jail serves one run.
const (
	loaderRequestFD = 3
	loaderReadyFD   = 4
)

// pythonRun is the part of the python loaders that makes the process look
// as a cold run of argv and env would (argv, environment, main module),
// runs the script in it and ends the process (see pythonExit). env is a
// list of b"K=V" entries; exit_ is what _jaild_prepare returned.
const pythonRun = pythonExit + `def _jaild_run(argv, env, exit_):
    import sys, os
    os.environ.clear()
    for e in env:
        if e:
            k, _, v = e.partition(b"=")
            os.environb[k] = v
    script = argv[0]
    sys.argv = argv
    sys.orig_argv = sys.orig_argv[:-2] + argv
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    g = sys.modules["__main__"].__dict__
    b = g["__builtins__"]
    g.clear()
    g.update(__name__="__main__", __doc__=None, __package__=None, __spec__=None,
             __annotations__={}, __builtins__=b, __file__=script, __cached__=None,
             __loader__=sys.modules["_frozen_importlib_external"].SourceFileLoader("__main__", script))
    again = None
    try:
        with open(script, "rb") as f:
            src = f.read()
        code = compile(src, script, "exec", dont_inherit=True)
        del f, src, argv, env, b
        # What the loader made for this run stays out of the exit's look.
        exit_.freeze()
        exec(code, g)
    except SystemExit as e:
        # Only the codes the interpreter turns into an exit status without
        # printing anything; the rest (a message, a bool, an object)
        # leave as they would cold.
        if type(e) is not SystemExit or not (e.code is None or type(e.code) is int and 0 <= e.code <= 255):
            again = e
        else:
            code = e.code or 0
    except KeyboardInterrupt as e:
        again = e
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
            tb = tb.tb_next
        # As the interpreter's own report of an uncaught exception does, the
        # exception stays in sys.last_*, and with it the script's frames
        # until the finalization.
        sys.last_type, sys.last_value, sys.last_traceback = type(e), e.with_traceback(tb), tb
        sys.excepthook(type(e), e, tb)
        code = 1
        del tb
    else:
        code = 0
    # Under a trace or profile function of the script's, no function of
    # the loader's may run (a tracer would see it): the interpreter exits.
    if again is None and exit_.gettrace() is None and exit_.getprofile() is None:
        exit_(code)  # leaves at once when finalizing could show nothing
    # The interpreter finalizes: as it would have without the loader's
    # freeze (unless the script froze the heap itself), in calls to C only.
    for d in exit_.clear:
        d.clear()
    m = exit_.mark[0]
    try:
        if exit_.blocks() - exit_.mark[1] > exit_.most or id(m) in map(id, exit_.objects()):
            exit_.unfreeze()
    except MemoryError:
        exit_.unfreeze()
    del m
    if again is not None:
        raise again
    if code:
        raise SystemExit(code)
`

// pythonExit ends a python run. A cold interpreter's exit waits for the
// script's threads, runs atexit, flushes stdout and stderr and then
// finalizes: it frees every object, and a finalizer (__del__, a weakref
// callback, a suspended generator's finally, an unclosed file's flush)
// can still do something the caller sees. The freeing itself costs most
// of the exit: ~1 ms in a parked jail and ~3 ms in a zygote's child, whose
// every free writes to a page shared copy-on-write with the zygote.
//
// _jaild_prepare runs in the loader before any run: it freezes the
// start-up heap (gc.freeze), so that gc.get_objects() later lists only
// what was made after it, and returns exit_(code). exit_ waits for the
// threads and runs atexit as the interpreter would, then looks at every
// object made since the freeze: if none can run anything when freed, and
// nothing else could make the finalization visible, it flushes stdout
// and stderr and leaves with os._exit(code). Otherwise it unfreezes the
// heap and leaves through the interpreter's own finalization, as before.
// What makes a run take the slow way (TestPythonExitPath lists examples):
//   - an object of a type with __del__ (Python or C: generators,
//     coroutines, files, sockets that are not closed or finished), a
//     class with __del__, a weakref with a callback, a weakref proxy;
//   - a start-up class given a __del__ during the run;
//   - a thread still running, an audit hook added, gc callbacks or debug
//     flags set, warning filters changed, a C library the script loaded
//     (ctypes: libc's own stdio buffers are flushed only by exit(3)),
//     sys.stdout or sys.stderr replaced, a flush that fails;
//   - an interpreter started in dev mode, with -W, or with a PYTHON*
//     variable other than those listed in pythonExit (PYTHONMALLOCSTATS
//     and friends print at finalization).
//
// A run can see one difference: gc.get_freeze_count() is not 0.
const pythonExit = `def _jaild_prepare():
    import sys, os, _io, _signal, _thread, _warnings, _weakref
    had = set(sys.modules)
    import gc, atexit
    # Not start-up modules in a cold interpreter: hidden again (their state
    # is the interpreter's, which a fresh import by the script shares).
    for m in set(sys.modules) - had:
        del sys.modules[m]
    # What the exit calls, taken now: the script may replace os._exit,
    # _thread._count and the like, but not these.
    _exit, objects, freeze_, count, getsignal = os._exit, gc.get_objects, gc.freeze, _thread._count, _signal.getsignal
    blocks, run_atexit, sigmask, SIG_BLOCK, SIG_SETMASK = sys.getallocatedblocks, atexit._run_exitfuncs, \
        _signal.pthread_sigmask, _signal.SIG_BLOCK, _signal.SIG_SETMASK
    signals = sorted(_signal.valid_signals())
    handlers = [getsignal(n) for n in signals]
    able = [not sys.flags.dev_mode and not sys.warnoptions and not any(
        k.startswith(b"PYTHON") and k not in (b"PYTHONHASHSEED", b"PYTHONUNBUFFERED", b"PYTHONIOENCODING",
                                              b"PYTHONDONTWRITEBYTECODE", b"PYTHONUTF8", b"PYTHONPATH")
        for k in os.environb)]

    # Audit events: a hook the script adds, and a start-up object given
    # another class (whose __del__ the look below would not see). The
    # hook lives as long as the interpreter, so it holds nothing of
    # __main__'s.
    sys.addaudithook(eval('lambda ev, args: (ev == "sys.addaudithook" or ev == "object.__setattr__" and '
                          'args[1] == "__class__") and able.__setitem__(0, False)', {"able": able}))

    def has_del(t):
        try:
            return any("__del__" in vars(k) for k in t.__mro__)
        except Exception:
            return True
    # The dicts of the start-up classes without __del__, as mapping
    # proxies: looking into them at exit copies only the proxies' few
    # pages, not one per class (type objects are many and large).
    nodel = [vars(o) for o in objects() if issubclass(type(o), type) and not has_del(o)]
    filters = list(_warnings.filters)
    out, err = sys.stdout, sys.stderr

    def g():
        yield
    async def c():
        pass
    async def ag():
        yield
    co = c()
    kinds = {id(type(g())): "gi_frame", id(type(co)): "cr_frame", id(type(ag())): "ag_frame"}
    co.close()
    del co
    for t in (_io.FileIO, _io.BufferedReader, _io.BufferedWriter, _io.BufferedRandom, _io.TextIOWrapper):
        kinds[id(t)] = "io"
    for t in (_io.BytesIO, _io.StringIO):
        kinds[id(t)] = "none"  # closing them shows nothing
    for t in (_weakref.ProxyType, _weakref.CallableProxyType):
        kinds[id(t)] = "slow"
    callback = _weakref.ReferenceType.__dict__["__callback__"].__get__
    getattribute = object.__getattribute__

    # The standard library's own weakref callbacks that only drop a dead
    # entry from a list, set or dict: abc's registry (_abc's _destroy),
    # WeakSet's, WeakValueDictionary's, WeakKeyDictionary's (when their
    # data is a plain set or dict) and logging's list of handlers.
    TIDY = {"WeakSet.__init__.<locals>._remove": "_weakrefset", "_removeHandlerRef": "logging",
            "WeakValueDictionary.__init__.<locals>.remove": "weakref",
            "WeakKeyDictionary.__init__.<locals>.remove": "weakref"}

    def tidy(cb):
        if cb is None or type(cb) is type(len) and cb.__name__ == "_destroy" and type(cb.__self__) is _weakref.ReferenceType:
            return True
        try:
            m = sys.modules.get(TIDY.get(cb.__qualname__)) if type(cb) is type(tidy) else None
            if type(m) is not type(sys) or cb.__globals__ is not getattribute(m, "__dict__"):
                return False
            if cb.__defaults__:
                c = cb.__defaults__[0]()
                return c is None or type(getattribute(c, "__dict__").get("data")) in (set, dict)
            return True
        except Exception:
            return False

    def closed(f):
        # Only jaild's own or the io module's types: nothing of the script
        # runs here.
        try:
            while type(f) is _io.TextIOWrapper:
                f = f.buffer
            if type(f) in (_io.BufferedReader, _io.BufferedWriter, _io.BufferedRandom):
                f = f.raw
            return type(f) is _io.FileIO and f.closed
        except Exception:
            return False

    def quiet():
        if not able[0] or count() or gc.callbacks or gc.get_debug() or \
                "_ctypes" in sys.modules or "_xxsubinterpreters" in sys.modules or sys.stdout is not out or \
                sys.stderr is not err or sys.__stdout__ is not out or sys.__stderr__ is not err or \
                [getsignal(n) for n in signals] != handlers:
            return False
        w = sys.modules.get("warnings")
        if list(_warnings.filters) != filters or w is not None and getattr(w, "filters", filters) != filters:
            return False
        if any("__del__" in d for d in nodel):
            return False
        # The look's list takes 8 bytes per object the run made: past
        # exit_.most memory blocks made (a dict of ints is about three),
        # the interpreter finalizes (a run near its memory limit must not
        # die of the look; 250,000 blocks is at most 2 MB of list).
        if blocks() - mark[1] > exit_.most:
            return False
        seen, m, marked = {}, mark[0], False
        for o in objects():
            if o is m:
                marked = True
            t = type(o)
            k = seen.get(id(t))
            if k is None:
                k = kinds.get(id(t))
                if k is None:
                    k = "slow" if has_del(t) else "weakref" if issubclass(t, _weakref.ReferenceType) else "none"
                seen[id(t)] = k
            if k == "none":
                continue
            if k == "slow" or k == "io" and not closed(o) or \
                    k == "weakref" and not tidy(callback(o)) or k.endswith("_frame") and getattr(o, k) is not None:
                return False
        # A script's gc.freeze() would have hidden its objects, the mark
        # with them; its gc.unfreeze() shows the loader's, sys.stdout
        # among them, an open file.
        if not marked:
            return False
        try:
            out.flush()
            err.flush()
        except Exception:
            return False  # the interpreter's own flush tries again and tells
        return True

    def exit_(code):
        # As the interpreter's exit begins: threads, then atexit. With a
        # thread still running the interpreter does it all itself. (An
        # exception out of threading's _shutdown, which a script can only
        # cause through threading's internals, is not reported here as
        # the interpreter would.)
        if count():
            return
        th = sys.modules.get("threading")
        try:
            if th is not None:
                th._shutdown()
        except BaseException:
            return
        run_atexit()
        # No signal handler of the script's may run in the loader's code
        # (one arriving now waits for the interpreter's exit, or for none).
        old = sigmask(SIG_BLOCK, signals)
        try:
            fast = quiet()
        except BaseException:
            fast = False
        if fast:
            _exit(code)  # the fast exit
        sigmask(SIG_SETMASK, old)

    mark = [None, 0]

    def freeze():
        freeze_()
        mark[0] = []  # the one tracked object made after the freeze
        mark[1] = blocks()

    exit_.clear, exit_.freeze, exit_.mark, exit_.most = [], freeze, mark, 250000
    exit_.blocks, exit_.objects, exit_.unfreeze = blocks, objects, gc.unfreeze
    exit_.gettrace, exit_.getprofile = sys.gettrace, sys.getprofile
    # The interpreter's first compile() costs ~1 ms (the parser's first
    # use); made here, it is out of every run.
    compile("pass", "<jaild>", "exec")
    freeze()
    return exit_


def _jaild_private(*fs):
    # The loader's functions, with globals of their own: a script's globals
    # are __main__'s, and a script that names a variable type, list or
    # any must not change what the loader calls. Builtins are a copy, for
    # the same reason.
    import builtins
    ns = {"__builtins__": dict(vars(builtins)), "__name__": "jaild"}
    for f in fs:
        ns[f.__name__] = type(f)(f.__code__, ns, f.__name__, f.__defaults__, f.__closure__)
    return ns
`

// pythonLoader runs with python -c. The request is NUL-separated: the
// number of argv entries, argv (argv[0] is the script path), then env.
const pythonLoader = pythonRun + `def _jaild_load():
    import os
    exit_ = _jaild_prepare()
    os.write(4, b"R")
    os.close(4)
    chunks = []
    while True:
        b = os.read(3, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(3)
    parts = b"".join(chunks).split(b"\0")
    n = int(parts[0])
    argv = [os.fsdecode(a) for a in parts[1:1 + n]]
    env = parts[1 + n:]
    del chunks, parts, b
    _jaild_run(argv, env, exit_)
_jaild_private(_jaild_prepare, _jaild_run, _jaild_load)["_jaild_load"]()
`

// nodeLoader runs with node -e. Same request format as pythonLoader.
// node -e leaves module, exports, require, __filename and __dirname on
// globalThis and the source in process._eval; all are removed.
const nodeLoader = `(() => {
const fs = require('fs'); const Module = require('module');
// What a script's first lines would pay for (~15 ms, most of a warm
// run), paid while parked: the modules behind the stdio streams (made on
// first use; on pipes they load net and stream, with tty for a terminal)
// and loading a CommonJS module (its compile path and the ESM loader that
// the first load() sets up), here one of an extension of its own that
// reads no file. Not the streams themselves: making them sets O_NONBLOCK
// on fds 0-2, and a script's fs.readFileSync(0) would then fail with
// EAGAIN, and fs.writeSync(1, …) write short (TestPoolNodeStdio).
require('net'); require('tty');
// console.log formats its arguments with util's formatWithOptions and
// inspect, compiled on first use: formatting a few values here compiles
// them (warm console.log(1) p50 15.4 -> 12.6 ms in an A/B). The public
// util module's exports load four internal modules
// (process.moduleLoadList shows them); no other state is kept.
require('util').formatWithOptions({}, '%s %d %i %f %j %o %O', 's', 1, 2, 1.5, {}, [1], new Map([[1, 'a']]), new Set([1]), { a: [1, { b: 'c' }] }, 1n, null, undefined, true, Symbol('s'), () => 1);
Module._extensions['.jaild-warm-up'] = (m, f) => m._compile('', f);
new Module('[jaild warm-up]').load('/[jaild warm-up].jaild-warm-up');
delete Module._extensions['.jaild-warm-up'];
fs.writeSync(4, 'R'); fs.closeSync(4);
const chunks = []; const buf = Buffer.alloc(65536);
for (;;) { const n = fs.readSync(3, buf, 0, buf.length, null); if (n === 0) break; chunks.push(Buffer.from(buf.subarray(0, n))); }
fs.closeSync(3);
const parts = Buffer.concat(chunks).toString('utf8').split('\0');
const n = Number(parts[0]);
const argv = parts.slice(1, 1 + n);
for (const k of Object.keys(process.env)) delete process.env[k];
for (const e of parts.slice(1 + n)) { if (e) { const i = e.indexOf('='); process.env[e.slice(0, i)] = e.slice(i + 1); } }
process.argv = [process.argv[0], ...argv];
process.execArgv = [];
delete process._eval;
for (const g of ['module', 'exports', 'require', '__filename', '__dirname']) delete globalThis[g];
Module.runMain();
})();
`

// program is a spec's argv split the way policy.Command builds it:
// interpreter, interpreter options, script (under jail.WorkDir), args.
type program struct {
	interpreter string
	flags       []string
	script      string
	args        []string
}

// splitProgram parses argv; ok is false for any other shape, which a pool
// then runs cold.
func splitProgram(argv []string) (program, bool) {
	if len(argv) < 2 {
		return program{}, false
	}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if strings.HasPrefix(a, jail.WorkDir+"/") && path.Clean(a) == a {
			return program{interpreter: argv[0], flags: argv[1:i], script: a, args: argv[i+1:]}, true
		}
		// Only plain single-letter options: anything taking a value
		// (-c, -m, -e, -r …) changes what runs, and -I changes sys.path:
		// neither is poolable.
		if len(a) != 2 || a[0] != '-' || !strings.ContainsRune("BEsuOqSb", rune(a[1])) {
			return program{}, false
		}
	}
	return program{}, false
}

// exitTrace, set by tests only, makes a python loader's run write
// exitTraceMark to stderr as it takes the fast exit (see pythonExit),
// which is otherwise not visible by design.
var exitTrace bool

const (
	fastExitLine  = "_exit(code)  # the fast exit"
	exitTraceMark = "<jaild fast exit>"
)

// pythonSource is the loader source src as runs use it.
func pythonSource(src string) string {
	if !exitTrace {
		return src
	}
	return strings.Replace(src, fastExitLine, `os.write(2, b"`+exitTraceMark+`"); `+fastExitLine, 1)
}

// loaderArgv is the parked jail's command line.
func loaderArgv(lang jail.Language, p program) ([]string, error) {
	switch lang {
	case jail.Python:
		return append(append([]string{p.interpreter}, p.flags...), "-c", pythonSource(pythonLoader)), nil
	case jail.Node:
		if len(p.flags) > 0 {
			return nil, fmt.Errorf("node options %v are not poolable", p.flags)
		}
		return []string{p.interpreter, "-e", nodeLoader}, nil
	}
	return nil, fmt.Errorf("language %q has no loader", lang)
}

// encodeRequest is what a parked loader reads: len(argv), argv, env, all
// NUL-separated (jail.Spec forbids NUL in env; argv NULs are refused).
func encodeRequest(p program, env []string) ([]byte, error) {
	argv := append([]string{p.script}, p.args...)
	var b bytes.Buffer
	b.WriteString(strconv.Itoa(len(argv)))
	for _, s := range append(argv, env...) {
		if strings.ContainsRune(s, 0) {
			return nil, fmt.Errorf("%w: argv or env contains NUL", jail.ErrInvalidSpec)
		}
		b.WriteByte(0)
		b.WriteString(s)
	}
	return b.Bytes(), nil
}
