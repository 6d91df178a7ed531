package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

func (d *daemonProc) eval(t *testing.T, req api.EvalRequest) api.EvalResult {
	t.Helper()
	resp, err := d.post(context.Background(), api.PathEvals, req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var res api.EvalResult
	if resp.StatusCode != 200 || json.Unmarshal(body, &res) != nil {
		t.Fatalf("POST /v1/evals = %d %s", resp.StatusCode, body)
	}
	return res
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func fcase(name, args, expected string) api.EvalCase {
	return api.EvalCase{Name: name, Function: "solve", Args: raw(args), Expected: raw(expected)}
}

func scase(name, stdin, want string) api.EvalCase {
	return api.EvalCase{Name: name, Stdin: stdin, ExpectedStdout: &want}
}

// verdicts lists each case's verdict, for one-line comparisons.
func verdicts(r api.EvalResult) string {
	var v []string
	for _, c := range r.Cases {
		v = append(v, c.Verdict)
	}
	return strings.Join(v, ",")
}

func dump(t *testing.T, r api.EvalResult) {
	t.Helper()
	b, _ := json.MarshalIndent(r, "", "  ")
	t.Logf("%s", b)
}

const pyFunc = `import ctypes, os, signal, sys, time
def solve(kind, x=0):
    print("running", kind)
    if kind == "pass": return x * 2
    if kind == "fail": return x * 2 + 1
    if kind == "error": raise ValueError("bad input %d" % x)
    if kind == "timeout":
        while True: pass
    if kind == "oom":
        b = []
        while True: b.append(bytearray(1 << 24))
    if kind == "signaled": ctypes.string_at(0)
    if kind == "exit": os._exit(7)
    if kind == "sysexit": sys.exit(0)
    if kind == "nan": return float("nan")
    if kind == "kw": return {"x": x, "sum": x + 0.5}
`

const nodeFunc = `function solve(kind, x = 0) {
  console.log('running', kind);
  switch (kind) {
    case 'pass': return x * 2;
    case 'fail': return x * 2 + 1;
    case 'error': throw new RangeError('bad input ' + x);
    case 'timeout': for (;;) {}
    case 'oom': { const b = []; for (;;) b.push(Buffer.alloc(1 << 24, 1)); }
    case 'signaled': process.kill(process.pid, 'SIGSEGV'); for (;;) {}
    case 'exit': process.exit(7);
    case 'nan': return NaN;
    case 'async': return new Promise((r) => setTimeout(() => r(x * 2), 10));
    case 'kw': return { x, sum: x + 0.5 };
  }
}
module.exports = { solve };
`

func kcase(kind, x, expected string, lim *api.Limits) api.EvalCase {
	c := fcase(kind, `["`+kind+`", `+x+`]`, expected)
	c.Limits = lim
	return c
}

// TestE2EEvalFunctionVerdicts covers every verdict of a function case in
// both languages, each case in its own jail and all in one shared jail.
func TestE2EEvalFunctionVerdicts(t *testing.T) {
	requireJails(t)
	d := startDaemon(t, newState(t))
	short := &api.Limits{WallMS: 700}
	small := &api.Limits{MemoryBytes: 64 << 20}
	cpu := &api.Limits{WallMS: 20000, CPUMS: 300}
	for _, lang := range []string{"python", "node"} {
		code := pyFunc
		if lang == "node" {
			code = nodeFunc
		}
		cases := []api.EvalCase{
			kcase("pass", "21", "42", nil), kcase("fail", "21", "42", nil), kcase("error", "3", "0", nil),
			kcase("timeout", "0", "0", short), kcase("pass", "1", "2", nil), kcase("oom", "0", "0", small),
			kcase("signaled", "0", "0", nil), kcase("exit", "0", "0", nil), kcase("nan", "0", "0", nil),
			kcase("kw", "1", `{"sum": 1.5, "x": 1.0}`, nil), kcase("cpu", "0", "0", cpu),
		}
		// The cpu case is the timeout loop under a CPU limit; a shared jail
		// keeps only its wall limit, so it runs in isolated jails only.
		cases[10].Args = raw(`["timeout", 0]`)
		want := "pass,fail,error,timeout,pass,oom,signaled,error,error,pass,cpu_limit"
		for _, shared := range []bool{false, true} {
			cs, w := cases, want
			if shared {
				cs, w = cases[:10], strings.TrimSuffix(want, ",cpu_limit")
			}
			t.Run(fmt.Sprintf("%s shared=%v", lang, shared), func(t *testing.T) {
				t.Parallel()
				r := d.eval(t, api.EvalRequest{Language: lang, Code: code, SharedJail: shared, Cases: cs,
					Limits: &api.Limits{MemoryBytes: 64 << 20, WallMS: 15000}})
				if got := verdicts(r); got != w {
					dump(t, r)
					t.Fatalf("verdicts %s\nwant     %s", got, w)
				}
				s := r.Summary
				if s.Passed != 3 || s.Failed != len(cs)-3 || s.Total != len(cs) {
					t.Errorf("summary %+v", s)
				}
				c := r.Cases
				wantErr := map[string]string{"python": "ValueError", "node": "RangeError"}[lang]
				if c[2].Error == nil || c[2].Error.Type != wantErr || !strings.Contains(c[2].Error.Message, "bad input 3") ||
					!strings.Contains(c[2].Error.Traceback, "solve") {
					t.Errorf("error case: %+v", c[2].Error)
				}
				if c[0].Stdout != "running pass\n" || string(c[0].Got) != "42" || c[1].Reason == "" {
					t.Errorf("pass case stdout %q got %s; fail reason %q", c[0].Stdout, c[0].Got, c[1].Reason)
				}
				if c[6].Signal != "SIGSEGV" || c[7].Error == nil || c[7].Error.Type != "Exit" || c[8].Error == nil {
					t.Errorf("signaled %+v, exit %+v, nan %+v", c[6], c[7].Error, c[8].Error)
				}
				if c[4].Stdout != "running pass\n" {
					t.Errorf("case after a timeout: stdout %q (a fresh worker must run it)", c[4].Stdout)
				}
				if !shared && c[0].RunID == c[1].RunID || shared && c[0].RunID != c[9].RunID {
					t.Errorf("run ids %s %s %s (shared=%v)", c[0].RunID, c[1].RunID, c[9].RunID, shared)
				}
				var stored api.EvalResult
				if code := d.get(t, api.PathEval+r.ID, &stored); code != 200 || verdicts(stored) != w {
					t.Errorf("stored eval: %d %s", code, verdicts(stored))
				}
			})
		}
	}
}

const pyStdio = `import ctypes, sys
kind, x = sys.stdin.read().split()
x = int(x)
if kind == "pass": print(x * 2, "  ")
elif kind == "fail": print(x * 2 + 1)
elif kind == "error": raise ValueError("bad")
elif kind == "timeout":
    while True: pass
elif kind == "oom":
    b = []
    while True: b.append(bytearray(1 << 24))
elif kind == "signaled": ctypes.string_at(0)
elif kind == "float": print(x / 3)
elif kind == "args": print(*sys.argv[1:])
`

const nodeStdio = `const [kind, xs] = require('fs').readFileSync(0, 'utf8').split(/\s+/);
const x = Number(xs);
switch (kind) {
  case 'pass': console.log(x * 2, '  '); break;
  case 'fail': console.log(x * 2 + 1); break;
  case 'error': throw new Error('bad');
  case 'timeout': for (;;) {}
  case 'oom': { const b = []; for (;;) b.push(Buffer.alloc(1 << 24, 1)); }
  case 'signaled': process.abort(); break;
  case 'float': console.log(x / 3); break;
  case 'args': console.log(process.argv.slice(2).join(' ')); break;
}
`

// TestE2EEvalStdioVerdicts covers every verdict of a stdin/stdout case in
// both languages, isolated and shared, and the compare modes.
func TestE2EEvalStdioVerdicts(t *testing.T) {
	requireJails(t)
	d := startDaemon(t, newState(t))
	lim := func(c api.EvalCase, l *api.Limits) api.EvalCase { c.Limits = l; return c }
	trimmed := scase("pass", "pass 21", "42\n")
	trimmed.Compare = api.CompareTrimmed
	exact := scase("pass exact", "pass 21", "42\n")
	float := scase("float", "float 2", "0.6666667")
	float.Compare, float.FloatTolerance = api.CompareFloat, 1e-6
	args := scase("args", "args 0", "a b\n")
	args.Args = raw(`["a", "b"]`)
	cases := []api.EvalCase{
		trimmed, exact, scase("fail", "fail 21", "42\n"), scase("error", "error 0", ""),
		lim(scase("timeout", "timeout 0", ""), &api.Limits{WallMS: 700}),
		lim(scase("oom", "oom 0", ""), &api.Limits{MemoryBytes: 64 << 20}),
		scase("signaled", "signaled 0", ""), float, args,
	}
	want := "pass,fail,fail,error,timeout,oom,signaled,pass,pass"
	for _, lang := range []string{"python", "node"} {
		code := pyStdio
		if lang == "node" {
			code = nodeStdio
		}
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s shared=%v", lang, shared), func(t *testing.T) {
				t.Parallel()
				// A shared jail has the largest limits of its cases: the
				// memory limit is set for all of them. The wall limit is
				// generous: CI machines can be loaded, and a case's clock
				// includes the worker's start.
				r := d.eval(t, api.EvalRequest{Language: lang, Code: code, SharedJail: shared, Cases: cases,
					Limits: &api.Limits{MemoryBytes: 64 << 20, WallMS: 15000}})
				if got := verdicts(r); got != want {
					dump(t, r)
					t.Fatalf("verdicts %s\nwant     %s", got, want)
				}
				c := r.Cases
				if string(c[1].Got) != `"42   \n"` || c[1].Reason == "" {
					t.Errorf("exact compare: got %s reason %q", c[1].Got, c[1].Reason)
				}
				if c[3].Error == nil || c[3].Error.Type != "ExitNonzero" || !strings.Contains(c[3].Error.Traceback, "bad") {
					t.Errorf("error case: %+v", c[3].Error)
				}
				if c[6].Signal == "" {
					t.Errorf("signaled case without a signal: %+v", c[6])
				}
			})
		}
	}
}

// TestE2EEvalStopAndBudget: stop_on_first_failure skips what follows the
// first failure; a total budget skips the cases that no longer fit.
func TestE2EEvalStopAndBudget(t *testing.T) {
	requireJails(t)
	d := startDaemon(t, newState(t))
	// Room for a loaded host: queue wait counts against a case's wall budget.
	roomy := &api.Limits{WallMS: 30000}
	cases := []api.EvalCase{kcase("pass", "1", "2", roomy), kcase("fail", "1", "2", roomy), kcase("pass", "2", "4", roomy)}
	for _, shared := range []bool{false, true} {
		r := d.eval(t, api.EvalRequest{Language: "python", Code: pyFunc, SharedJail: shared, StopOnFirstFailure: true, Cases: cases})
		if got := verdicts(r); got != "pass,fail,skipped" || r.Summary.Skipped != 1 || r.Cases[2].Reason == "" {
			dump(t, r)
			t.Errorf("shared=%v: stop on first failure: %s %+v", shared, got, r.Summary)
		}
	}
	slow := []api.EvalCase{kcase("timeout", "0", "0", &api.Limits{WallMS: 1500}), kcase("pass", "1", "2", nil), kcase("pass", "2", "4", nil)}
	for _, shared := range []bool{false, true} {
		r := d.eval(t, api.EvalRequest{Language: "python", Code: pyFunc, SharedJail: shared, TotalWallMS: 1000, Cases: slow})
		// The first case is cut to the budget and times out; the second
		// may start with the last milliseconds of it (and time out) or
		// find it spent; the third never runs.
		if got := verdicts(r); got != "timeout,skipped,skipped" && got != "timeout,timeout,skipped" {
			dump(t, r)
			t.Errorf("shared=%v: total budget: %s", shared, got)
		}
	}
}

// TestE2EEvalSharedSideEffects: in a shared jail a case sees what an
// earlier one left behind; in isolated jails it does not.
func TestE2EEvalSharedSideEffects(t *testing.T) {
	requireJails(t)
	d := startDaemon(t, newState(t))
	code := "import os\nseen = []\ndef solve(x):\n    seen.append(x)\n    open('/tmp/mark', 'a').write('x')\n    return [len(seen), len(open('/tmp/mark').read())]\n"
	cases := []api.EvalCase{fcase("a", "[1]", "[1, 1]"), fcase("b", "[2]", "[1, 1]")}
	iso := d.eval(t, api.EvalRequest{Language: "python", Code: code, Cases: cases})
	sh := d.eval(t, api.EvalRequest{Language: "python", Code: code, SharedJail: true, Cases: cases})
	if verdicts(iso) != "pass,pass" || verdicts(sh) != "pass,fail" || string(sh.Cases[1].Got) != "[2,2]" {
		t.Errorf("isolated %s, shared %s (got %s)", verdicts(iso), verdicts(sh), sh.Cases[1].Got)
	}
}
