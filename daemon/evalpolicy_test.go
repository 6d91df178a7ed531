package daemon

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// TestEvalPolicy: evals and Piston requests go through the same policy as
// runs: caller → profile, the profile's limits and env rules, static checks.
func TestEvalPolicy(t *testing.T) {
	ts := startServerPolicy(t, analyzerRunner(nil), nil, uidPolicy(""))
	fn := `"cases":[{"function":"solve","expected":1}]`
	for _, tc := range []struct {
		name, body string
		status     int
		code       string
	}{
		{"ungranted language", `{"language":"node","code":"function solve(){}",` + fn + `}`, 403, api.CodePolicyDenied},
		{"ungranted profile", `{"language":"python","profile":"nope","code":"x=1",` + fn + `}`, 403, api.CodePolicyDenied},
		{"env not allowed", `{"language":"python","code":"x=1","env":{"OTHER":"1"},` + fn + `}`, 400, api.CodeEnvNotAllowed},
		{"over the profile's maximum", `{"language":"python","code":"x=1","limits":{"wall_ms":4000},` + fn + `}`, 400, api.CodeLimitOutOfRange},
		{"case over the profile's maximum", `{"language":"python","code":"x=1","cases":[{"function":"solve","expected":1,"limits":{"wall_ms":4000}}]}`, 400, api.CodeLimitOutOfRange},
		{"static checks enforced", `{"profile":"checked","code":"def solve(): return eval('1')",` + fn + `}`, 422, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := ts.do(t, "POST", api.PathEvals, tc.body)
			if status != tc.status || (tc.code != "" && decodeErr(t, body).Code != tc.code) {
				t.Fatalf("= %d %s, want %d %s", status, body, tc.status, tc.code)
			}
		})
	}
	status, body, _ := ts.do(t, "POST", api.PathEvals, `{"profile":"reported","code":"def solve(): return eval('1')",`+fn+`}`)
	var res api.EvalResult
	if status != 200 || json.Unmarshal(body, &res) != nil || len(res.Findings) != 1 || res.Profile != "reported" ||
		res.PolicyDigest != ts.srv.Policy().Digest {
		t.Fatalf("report mode = %d %s", status, body)
	}
	for _, tc := range []struct {
		body    string
		status  int
		message string
	}{
		{`{"language":"js","version":"*","files":[{"content":"1"}]}`, 403, "no node profile is granted"},
		{`{"language":"py","version":"*","files":[{"content":"1"}],"run_timeout":4000}`, 400, "run_timeout cannot exceed the configured limit of 3000"},
	} {
		req, _ := http.NewRequest("POST", "http://jaild"+api.PathPistonExecute, strings.NewReader(tc.body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := ts.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e api.PistonError
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(e.Message, tc.message) {
			t.Errorf("piston %s = %d %q, want %d %q", tc.body, resp.StatusCode, e.Message, tc.status, tc.message)
		}
	}
}
