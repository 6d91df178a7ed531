package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

func evalBody(extra string, cases string) string {
	return `{"language":"python","code":"def solve(*a): return sum(a)"` + extra + `,"cases":[` + cases + `]}`
}

func TestEvalValidation(t *testing.T) {
	ts := startServer(t, nil, nil)
	fn := `{"function":"solve","args":[1],"expected":1}`
	for _, tc := range []struct {
		name, body, code string
	}{
		{"no cases", evalBody("", ""), api.CodeInvalidRequest},
		{"unknown language", `{"language":"ruby","code":"x","cases":[` + fn + `]}`, api.CodeUnknownLanguage},
		{"no code", `{"language":"python","cases":[` + fn + `]}`, api.CodeInvalidRequest},
		{"unknown field", evalBody(`,"sharedjail":true`, fn), api.CodeInvalidRequest},
		{"neither kind", evalBody("", `{"name":"x"}`), api.CodeInvalidRequest},
		{"both kinds", evalBody("", `{"function":"solve","expected":1,"expected_stdout":"1"}`), api.CodeInvalidRequest},
		{"mixed kinds", evalBody("", fn+`,{"expected_stdout":"1"}`), api.CodeInvalidRequest},
		{"bad function name", evalBody("", `{"function":"os.system","expected":1}`), api.CodeInvalidRequest},
		{"dollar in python name", evalBody("", `{"function":"$x","expected":1}`), api.CodeInvalidRequest},
		{"missing expected", evalBody("", `{"function":"solve","args":[1]}`), api.CodeInvalidRequest},
		{"args not an array", evalBody("", `{"function":"solve","args":{"a":1},"expected":1}`), api.CodeInvalidRequest},
		{"kwargs not an object", evalBody("", `{"function":"solve","kwargs":[1],"expected":1}`), api.CodeInvalidRequest},
		{"stdin in a function case", evalBody("", `{"function":"solve","stdin":"x","expected":1}`), api.CodeInvalidRequest},
		{"stdio args not strings", evalBody("", `{"expected_stdout":"1","args":[1]}`), api.CodeInvalidRequest},
		{"expected in a stdio case", evalBody("", `{"expected_stdout":"1","expected":1}`), api.CodeInvalidRequest},
		{"bad compare", evalBody(`,"compare":"fuzzy"`, fn), api.CodeInvalidRequest},
		{"trimmed on a function", evalBody("", `{"function":"solve","expected":1,"compare":"trimmed"}`), api.CodeInvalidRequest},
		{"negative tolerance", evalBody(`,"float_tolerance":-1`, fn), api.CodeInvalidRequest},
		{"limit above maximum", evalBody("", `{"function":"solve","expected":1,"limits":{"wall_ms":999999}}`), api.CodeLimitOutOfRange},
		{"negative case limit", evalBody("", `{"function":"solve","expected":1,"limits":{"memory_bytes":-1}}`), api.CodeLimitOutOfRange},
		{"negative total", evalBody(`,"total_wall_ms":-5`, fn), api.CodeLimitOutOfRange},
		{"reserved harness dir", `{"language":"python","entrypoint":"main.py","files":[{"name":"main.py","content":"x=1"},` +
			`{"name":".jaild/harness.py","content":"evil"}],"cases":[` + fn + `]}`, api.CodeInvalidRequest},
		{"too many cases", evalBody("", strings.TrimSuffix(strings.Repeat(fn+",", maxCases+1), ",")), api.CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := ts.do(t, "POST", api.PathEvals, tc.body)
			e := decodeErr(t, body)
			if status != http.StatusBadRequest || e.Code != tc.code {
				t.Fatalf("status %d code %s (%s), want 400 %s", status, e.Code, e.Message, tc.code)
			}
		})
	}
	if n := ts.runner.count(); n != 0 {
		t.Errorf("runner called %d times for invalid requests", n)
	}
}

func postEval(t *testing.T, ts *testServer, req api.EvalRequest) api.EvalResult {
	t.Helper()
	status, body, _ := ts.do(t, "POST", api.PathEvals, req)
	if status != http.StatusOK {
		t.Fatalf("POST /v1/evals = %d %s", status, body)
	}
	var res api.EvalResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

func verdictList(r api.EvalResult) string {
	var v []string
	for _, c := range r.Cases {
		v = append(v, c.Verdict)
	}
	return strings.Join(v, ",")
}

// TestEvalFlow drives the eval flow with a runner that answers like the
// harness: one jail per case, or one for all, stop on first failure, and
// the expected values never reaching a jail.
func TestEvalFlow(t *testing.T) {
	var ctls []harnessCtl
	answer := fakeHarness(&ctls)
	runner := &fakeRunner{run: func(_ context.Context, spec jail.Spec) (jail.Result, error) { return answer(spec) }}
	ts := startServer(t, runner, nil)
	marker := `"expected-marker-7f3a"`
	cases := []api.EvalCase{
		{Function: "solve", Args: json.RawMessage("[1, 2]"), Expected: json.RawMessage("3")},
		{Function: "solve", Args: json.RawMessage("[1]"), Expected: json.RawMessage(marker)},
		{Function: "solve", Args: json.RawMessage("[2, 2]"), Expected: json.RawMessage("4.0")},
	}
	iso := postEval(t, ts, api.EvalRequest{Language: "python", Code: "def solve(*a): return sum(a)", Cases: cases})
	if verdictList(iso) != "pass,fail,pass" || iso.Summary.Passed != 2 || iso.Summary.Failed != 1 || runner.count() != 3 {
		t.Fatalf("isolated: %s %+v, %d jails", verdictList(iso), iso.Summary, runner.count())
	}
	sh := postEval(t, ts, api.EvalRequest{Language: "python", Code: "def solve(*a): return sum(a)", Cases: cases, SharedJail: true})
	if verdictList(sh) != "pass,fail,pass" || runner.count() != 4 || sh.Cases[0].RunID != sh.Cases[2].RunID {
		t.Fatalf("shared: %s, %d jails", verdictList(sh), runner.count())
	}
	stop := postEval(t, ts, api.EvalRequest{Language: "python", Code: "def solve(*a): return sum(a)", Cases: cases, StopOnFirstFailure: true})
	if verdictList(stop) != "pass,fail,skipped" || runner.count() != 6 {
		t.Fatalf("stop on first failure: %s, %d jails", verdictList(stop), runner.count())
	}
	for i, spec := range runner.calls {
		// Everything a jail receives: argv, env, files and stdin.
		all := [][]byte{spec.Stdin, []byte(strings.Join(spec.Argv, " ")), []byte(strings.Join(spec.Env, " "))}
		for _, f := range spec.Files {
			all = append(all, []byte(f.Name), f.Content)
		}
		if bytes.Contains(bytes.Join(all, nil), []byte("expected-marker")) {
			t.Fatalf("jail %d was given an expected value: %q", i, all)
		}
		if !bytes.Contains(spec.Stdin, []byte(`"function":"solve"`)) {
			t.Fatalf("jail %d: the check above sees no control document: %s", i, spec.Stdin)
		}
		if !strings.HasSuffix(spec.Argv[len(spec.Argv)-1], "/work/.jaild/harness.py") {
			t.Errorf("jail %d argv %q", i, spec.Argv)
		}
	}
	var stored api.EvalResult
	status, body, _ := ts.do(t, "GET", api.PathEval+iso.ID, nil)
	if status != 200 || json.Unmarshal(body, &stored) != nil || verdictList(stored) != "pass,fail,pass" {
		t.Fatalf("GET eval = %d %s", status, body)
	}
	if status, _, _ := ts.do(t, "GET", api.PathEval+"nope", nil); status != http.StatusNotFound {
		t.Errorf("GET unknown eval = %d, want 404", status)
	}
	if status, _, _ := ts.do(t, "GET", api.PathEvals, nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/evals = %d, want 405", status)
	}
}

func TestEvalStdioFlow(t *testing.T) {
	var ctls []harnessCtl
	answer := fakeHarness(&ctls)
	runner := &fakeRunner{run: func(_ context.Context, spec jail.Spec) (jail.Result, error) { return answer(spec) }}
	ts := startServer(t, runner, nil)
	want := func(s string) *string { return &s }
	cases := []api.EvalCase{{Stdin: "1 2\n", ExpectedStdout: want("1 2")}, {Stdin: "x", ExpectedStdout: want("y")},
		{Stdin: "0.3333333", ExpectedStdout: want("0.33333334"), Compare: api.CompareFloat}}
	for _, shared := range []bool{false, true} {
		r := postEval(t, ts, api.EvalRequest{Language: "node", Code: "x", Compare: api.CompareTrimmed, SharedJail: shared, Cases: cases})
		if verdictList(r) != "pass,fail,pass" {
			t.Errorf("shared=%v: %s", shared, verdictList(r))
		}
	}
	// Isolated stdin/stdout cases are plain runs of the program.
	if n := runner.count(); n != 4 || len(ctls) != 1 || ctls[0].Mode != "stdio" || runner.calls[0].Argv[1] != "/work/main.js" {
		t.Errorf("%d jails, %d harness runs, argv %q", n, len(ctls), runner.calls[0].Argv)
	}
}
