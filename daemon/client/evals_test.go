package client

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

func TestEval(t *testing.T) {
	var method, path string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method, path = r.Method, r.URL.Path
		canned(200, "application/json", `{"id":"e1","summary":{"passed":1,"failed":0,"skipped":0,"total":1,"wall_ms":9},`+
			`"cases":[{"verdict":"pass","got":3,"expected":3,"stdout":"","stderr":"","wall_ms":9,"cpu_ms":1,"memory_peak_bytes":1}]}`)(w, r)
	}))
	defer ts.Close()
	c := NewTCP(strings.TrimPrefix(ts.URL, "http://"))
	res, err := c.Eval(t.Context(), api.EvalRequest{Language: "python", Code: "x"})
	if err != nil || method != "POST" || path != api.PathEvals || res.Summary.Passed != 1 || string(res.Cases[0].Got) != "3" {
		t.Fatalf("Eval = %+v, %v (%s %s)", res, err, method, path)
	}
	if _, err := c.GetEval(t.Context(), "e1"); err != nil || method != "GET" || path != api.PathEval+"e1" {
		t.Fatalf("GetEval: %v (%s %s)", err, method, path)
	}
	bad := httptest.NewServer(canned(400, "application/json", `{"error":"cases[0]: expected is required","code":"invalid_request"}`))
	defer bad.Close()
	_, err = NewTCP(strings.TrimPrefix(bad.URL, "http://")).Eval(t.Context(), api.EvalRequest{})
	if !IsInvalid(err) || !strings.Contains(err.Error(), "expected is required") {
		t.Fatalf("Eval on 400 = %v, want an invalid-request error", err)
	}
}
