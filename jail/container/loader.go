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
// as a cold run of argv and env would (argv, environment, main module) and
// runs the script in it. env is a list of b"K=V" entries.
const pythonRun = `def _jaild_run(argv, env):
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
    try:
        with open(script, "rb") as f:
            src = f.read()
        code = compile(src, script, "exec", dont_inherit=True)
        del f, src, argv, env, b
        exec(code, g)
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as e:
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == "<string>":
            tb = tb.tb_next
        sys.excepthook(type(e), e.with_traceback(tb), tb)
        sys.exit(1)
`

// pythonLoader runs with python -c. The request is NUL-separated: the
// number of argv entries, argv (argv[0] is the script path), then env.
const pythonLoader = pythonRun + `def _jaild_load():
    import os
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
    _jaild_run(argv, env)
_jaild_load()
`

// nodeLoader runs with node -e. Same request format as pythonLoader.
// node -e leaves module, exports, require, __filename and __dirname on
// globalThis and the source in process._eval; all are removed.
const nodeLoader = `(() => {
const fs = require('fs'); const Module = require('module');
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

// loaderArgv is the parked jail's command line.
func loaderArgv(lang jail.Language, p program) ([]string, error) {
	switch lang {
	case jail.Python:
		return append(append([]string{p.interpreter}, p.flags...), "-c", pythonLoader), nil
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
