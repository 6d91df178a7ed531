package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// evalDaemon answers POST /v1/evals with result and keeps the request.
func evalDaemon(t *testing.T, result api.EvalResult, got *api.EvalRequest) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jce")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "jaild.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if r.URL.Path != api.PathEvals || dec.Decode(got) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(result)
	}))
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)
	return sock
}

func TestEvalCommand(t *testing.T) {
	result := api.EvalResult{ID: "e1", Summary: api.EvalSummary{Passed: 1, Failed: 1, Total: 2, WallMS: 120},
		Cases: []api.CaseResult{{Name: "one", Verdict: "pass", WallMS: 50},
			{Name: "two", Verdict: "fail", Got: json.RawMessage("5"), Expected: json.RawMessage("4"), Reason: "differs at $"}}}
	var got api.EvalRequest
	sock := evalDaemon(t, result, &got)
	dir := t.TempDir()
	prog := writeFile(t, dir, "sol.py", "def solve(a, b): return a + b\n")
	cases := writeFile(t, dir, "cases.json", `{"shared_jail": true, "compare": "float", "cases": [
		{"name": "one", "function": "solve", "args": [1, 1], "expected": 2},
		{"name": "two", "function": "solve", "args": [2, 3], "expected": 4}]}`)
	code, out, errOut := jailctl(t, sock, "", "eval", "--stop", "--wall", "2s", "--profile", "checked", prog, cases)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a case failed); stderr %q", code, errOut)
	}
	if got.Language != "python" || got.Profile != "checked" || got.Entrypoint != "sol.py" || len(got.Files) != 1 || !got.SharedJail ||
		!got.StopOnFirstFailure || got.Compare != "float" || got.Limits == nil || got.Limits.WallMS != 2000 || len(got.Cases) != 2 {
		t.Errorf("request %+v", got)
	}
	for _, want := range []string{"one   pass", "two   fail", "got 5, want 4 (differs at $)", "1/2 passed, 1 failed, 0 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// An array of cases; everything passed: exit 0.
	result.Summary.Passed, result.Cases = 2, result.Cases[:1]
	result.Summary = api.EvalSummary{Passed: 1, Total: 1}
	sock = evalDaemon(t, result, &got)
	arr := writeFile(t, dir, "arr.json", `[{"stdin": "1", "expected_stdout": "1\n"}]`)
	if code, _, errOut := jailctl(t, sock, "", "eval", prog, arr); code != 0 || got.Cases[0].ExpectedStdout == nil {
		t.Errorf("exit %d stderr %q request %+v", code, errOut, got)
	}
	bad := writeFile(t, dir, "bad.json", `{"language": "node", "cases": []}`)
	if code, _, errOut := jailctl(t, sock, "", "eval", prog, bad); code != exitFailed || !strings.Contains(errOut, "comes from FILE") {
		t.Errorf("cases with a language: exit %d stderr %q", code, errOut)
	}
	if code, _, _ := jailctl(t, sock, "", "eval", prog); code != exitUsage {
		t.Errorf("one argument: exit %d, want %d", code, exitUsage)
	}
}
