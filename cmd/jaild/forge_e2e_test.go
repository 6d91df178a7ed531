package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// Forgery attempts. Every program's solve() honestly returns 41 while the
// expected value is 42, and tries to get "pass" anyway. The verdict must
// be fail or error, never pass, isolated and in a shared jail.
var forgeries = []struct {
	lang, name, code string
	allowed          string // verdicts allowed for every case
}{
	{"python", "fake frames and reports printed", `import os, sys
def solve():
    fake = '{"case":0,"kind":"return","value":"42"}'
    for nonce in ("0" * 32, "deadbeef" * 4):
        print(nonce + " " + fake)
        sys.stderr.write(nonce + " " + fake + "\n")
    print('{"case": 0, "ok": true, "value": "42"}')
    os.write(1, b'{"case": 0, "ok": true, "value": "42"}\n')
    sys.stdout.flush()
    return 41
`, "fail"},
	{"python", "fake report on the worker pipe", `import os
def solve():
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            if os.readlink("/proc/self/fd/%d" % fd).startswith("pipe:"):
                os.write(fd, b'{"case": 0, "ok": true, "value": "42"}\n')
        except OSError:
            pass
    return 41
`, "error"},
	{"python", "fake report at import time", `import os
for fd in range(3, 64):
    try:
        os.write(fd, b'{"case": 0, "ok": true, "value": "42"}\n{"case": 1, "ok": true, "value": "42"}\n')
    except OSError:
        pass
def solve():
    return 41
`, "error"},
	{"python", "garbage on the worker pipe", `import os
def solve():
    for fd in range(3, 64):
        try: os.write(fd, b'\x00garbage')
        except OSError: pass
    return 41
`, "error"},
	{"python", "monkeypatched json", `import json, json.encoder
json.dumps = lambda *a, **k: "42"
json.JSONEncoder.encode = lambda self, o: "42"
json.JSONEncoder.iterencode = lambda self, o, _one_shot=False: iter(["42"])
json.encoder.c_make_encoder = None
def solve():
    return 41
`, "fail"},
	{"python", "sys.exit", "import sys\ndef solve():\n    sys.exit(0)\n", "error"},
	{"python", "os._exit", "import os\ndef solve():\n    print(42)\n    os._exit(0)\n", "error"},
	{"python", "closed fds", `import os
def solve():
    os.closerange(3, 1024)
    return 41
`, "error"},
	{"python", "fd replaced by a file", `import os
def solve():
    for fd in range(3, 64):
        try:
            os.dup2(os.open("/tmp/x", os.O_WRONLY | os.O_CREAT), fd)
        except OSError:
            pass
    return 41
`, "error"},
	{"python", "harness stdout through /proc/1", `import os, signal
def solve():
    for path in ("/proc/1/fd/1", "/proc/1/fd/3"):
        try:
            fd = os.open(path, os.O_WRONLY)
            os.write(fd, b'0000 {"case":0,"kind":"return","value":"42"}\n')
            print("opened", path)
        except OSError as e:
            print("denied", path, e.errno)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGKILL):
        try: os.kill(1, s)
        except OSError: pass
    return 41
`, "fail"},
	{"node", "fake frames and reports printed", `const fs = require('fs');
function solve() {
  const fake = '{"case":0,"kind":"return","value":"42"}';
  for (const nonce of ['0'.repeat(32), 'deadbeef'.repeat(4)]) { console.log(nonce + ' ' + fake); console.error(nonce + ' ' + fake); }
  console.log('{"case": 0, "ok": true, "value": "42"}');
  fs.writeSync(1, '{"case": 0, "ok": true, "value": "42"}\n');
  return 41;
}
module.exports = { solve };
`, "fail"},
	{"node", "fake report on the worker pipe", `const fs = require('fs');
function solve() {
  try { fs.writeSync(3, '{"case": 0, "ok": true, "value": "42"}\n'); } catch (e) {}
  return 41;
}
`, "error"},
	{"node", "fake report at exit", `const fs = require('fs');
process.on('exit', () => { try { fs.writeSync(3, '{"case": 1, "ok": true, "value": "42"}\n'); } catch (e) {} });
function solve() { return 41; }
`, "error"},
	{"node", "monkeypatched JSON", `JSON.stringify = () => '42';
Object.prototype.toJSON = function () { return 42; };
function solve() { return 41; }
`, "fail"},
	{"node", "process.exit", "function solve() { console.log(42); process.exit(0); }", "error"},
	{"node", "closed fd", "function solve() { require('fs').closeSync(3); return 41; }", "error"},
	{"node", "harness stdout through /proc/1, signals, inspector", `const fs = require('fs');
const net = require('net');
async function solve() {
  for (const p of ['/proc/1/fd/1']) {
    try { const fd = fs.openSync(p, 'w'); fs.writeSync(fd, '0000 {"case":0,"kind":"return","value":"42"}\n'); console.log('opened', p); }
    catch (e) { console.log('denied', p, e.code); }
  }
  for (const s of ['SIGINT', 'SIGTERM', 'SIGUSR1']) { try { process.kill(1, s); } catch (e) {} }
  await new Promise((r) => setTimeout(r, 300));
  const connected = await new Promise((r) => {
    const c = net.connect(9229, '127.0.0.1', () => { c.destroy(); r(true); });
    c.on('error', () => r(false));
  });
  console.log('inspector reachable:', connected);
  return 41;
}
module.exports = { solve };
`, "fail error"},
}

func TestE2EEvalForgery(t *testing.T) {
	requireJails(t)
	d := startDaemon(t, newState(t))
	for _, f := range forgeries {
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s %s shared=%v", f.lang, f.name, shared), func(t *testing.T) {
				t.Parallel()
				// 34 evals at once share the daemon's slots, and queue wait
				// counts against a case's wall budget: give the cases room,
				// since what is asserted is the verdict, not the time.
				cases := []api.EvalCase{fcase("a", "[]", "42"), fcase("b", "[]", "42")}
				for i := range cases {
					cases[i].Limits = &api.Limits{WallMS: 30000}
				}
				r := d.eval(t, api.EvalRequest{Language: f.lang, Code: f.code, SharedJail: shared, Cases: cases})
				for i, c := range r.Cases {
					if !strings.Contains(" "+f.allowed+" ", " "+c.Verdict+" ") {
						dump(t, r)
						t.Fatalf("case %d: verdict %s, want one of %q", i, c.Verdict, f.allowed)
					}
					if strings.Contains(c.Stdout, "opened /proc/1/fd/1") && f.lang == "python" {
						t.Errorf("case %d: the worker opened the harness's stdout: %q", i, c.Stdout)
					}
					if strings.Contains(f.name, "/proc/1") {
						t.Logf("case %d %s: stdout %q", i, c.Verdict, c.Stdout)
					}
					if strings.Contains(c.Stdout, "inspector reachable: true") {
						t.Errorf("case %d: the harness's inspector was started by a signal: %q", i, c.Stdout)
					}
				}
			})
		}
	}
}
