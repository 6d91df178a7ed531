package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

func uidPolicy(extra string) string {
	return fmt.Sprintf(`
[profile.python]
language = "python"
env = ["MODE"]
[profile.python.max_limits]
wall_ms = 3000
[profile.checked]
language = "python"
[profile.checked.validation]
mode = "enforce"
deny_imports = ["os"]
[profile.reported]
language = "python"
[profile.reported.validation]
mode = "report"
[profile.node]
language = "node"
[[rule]]
uid = %d
profiles = ["python", "checked", "reported"]
max_concurrent = 1
%s`, os.Getuid(), extra)
}

// analyzerRunner answers analyzer jails with one finding when the code
// under check contains "eval", and runs everything else like fakeRunner.
func analyzerRunner(block chan struct{}) *fakeRunner {
	return &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		if strings.Contains(strings.Join(spec.Argv, " "), "jaild-analyze") {
			out := `{"findings":[]}`
			if bytes.Contains(spec.Stdin, []byte("eval")) {
				out = `{"findings":[{"file":"main.py","line":1,"column":1,"rule":"dynamic_code","message":"use of eval"}]}`
			}
			return jail.Result{Status: jail.StatusOK, Stdout: []byte(out)}, nil
		}
		if block != nil {
			select {
			case <-block:
			case <-ctx.Done():
			}
		}
		return jail.Result{Status: jail.StatusOK, Stdout: []byte("ran\n")}, nil
	}}
}

func TestPolicyAdmission(t *testing.T) {
	ts := startServerPolicy(t, analyzerRunner(nil), nil, uidPolicy(""))
	digest := ts.srv.Policy().Digest
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
		msg    string
	}{
		{"ungranted profile", `{"language":"node","code":"1"}`, 403, api.CodePolicyDenied, "no node profile is granted"},
		{"unknown profile", `{"language":"python","profile":"nope","code":"1"}`, 403, api.CodePolicyDenied, `profile "nope" is not granted`},
		{"language mismatch", `{"language":"node","profile":"python","code":"1"}`, 400, api.CodeInvalidRequest, "runs python, not node"},
		{"env refused", `{"language":"python","code":"1","env":{"HOME2":"x"}}`, 400, api.CodeEnvNotAllowed, "env HOME2 is not allowed by profile python"},
		{"over profile max", `{"language":"python","code":"1","limits":{"wall_ms":4000}}`, 400, api.CodeLimitOutOfRange, "limits.wall_ms = 4000 exceeds the maximum 3000"},
		{"enforce refuses", `{"profile":"checked","code":"eval('1')"}`, 422, api.CodeValidationFailed, "static checks found 1 problem"},
	} {
		status, body, _ := ts.do(t, "POST", api.PathRuns, tc.body)
		e := decodeErr(t, body)
		if status != tc.status || e.Code != tc.code || !strings.Contains(e.Message, tc.msg) {
			t.Errorf("%s: got %d %s, want %d %s containing %q", tc.name, status, body, tc.status, tc.code, tc.msg)
		}
		if tc.code == api.CodeValidationFailed && (len(e.Findings) != 1 || e.Findings[0].Rule != "dynamic_code") {
			t.Errorf("%s: findings %+v, want the analyzer's one", tc.name, e.Findings)
		}
	}
	if n := ts.runner.count(); n != 1 {
		t.Errorf("%d jails ran, want 1 (the analyzer of the refused code only)", n)
	}
	res := ts.run(t, api.RunRequest{Language: "python", Code: "print(1)", Env: map[string]string{"MODE": "x"}})
	if res.Profile != "python" || res.PolicyDigest != digest || res.Limits.WallMS != 3000 {
		t.Errorf("result profile %q digest %q wall %d; want python, %s, 3000 (default capped by the profile max)",
			res.Profile, res.PolicyDigest, res.Limits.WallMS, digest)
	}
	_, hb, _ := ts.do(t, "GET", api.PathRun+res.ID, nil)
	var got api.RunResult
	_ = json.Unmarshal(hb, &got)
	if got.Profile != "python" || got.PolicyDigest != digest {
		t.Errorf("history profile %q digest %q", got.Profile, got.PolicyDigest)
	}
	rep := ts.run(t, api.RunRequest{Profile: "reported", Code: "eval('1')"})
	if rep.Status != api.StatusOK || len(rep.Findings) != 1 {
		t.Errorf("report mode: status %s findings %+v; want ok with one finding", rep.Status, rep.Findings)
	}
	clean := ts.run(t, api.RunRequest{Profile: "checked", Code: "print(1)"})
	if clean.Status != api.StatusOK || len(clean.Findings) != 0 {
		t.Errorf("enforce mode, clean code: %+v", clean)
	}
}

func TestInfoListsGrantedProfiles(t *testing.T) {
	ts := startServerPolicy(t, analyzerRunner(nil), nil, uidPolicy(""))
	var info api.Info
	_, body, _ := ts.do(t, "GET", api.PathInfo, nil)
	if err := json.Unmarshal(body, &info); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range info.Profiles {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "checked,python,reported" || info.PolicyDigest != ts.srv.Policy().Digest ||
		info.Profiles[1].MaxLimits.WallMS != 3000 || info.Profiles[0].Validation != "enforce" {
		t.Errorf("info profiles %+v digest %q", info.Profiles, info.PolicyDigest)
	}
}

func TestValidateEndpoint(t *testing.T) {
	ts := startServerPolicy(t, analyzerRunner(nil), nil, uidPolicy(""))
	status, body, _ := ts.do(t, "POST", api.PathValidate, `{"language":"python","code":"eval('x')"}`)
	var vr api.ValidateResult
	if err := json.Unmarshal(body, &vr); status != 200 || err != nil || vr.OK || len(vr.Findings) != 1 || vr.Profile != "python" {
		t.Errorf("validate = %d %s", status, body)
	}
	status, body, _ = ts.do(t, "POST", api.PathValidate, `{"language":"python","code":"print(1)"}`)
	if err := json.Unmarshal(body, &vr); status != 200 || err != nil || !vr.OK || vr.Findings == nil {
		t.Errorf("validate clean = %d %s, want ok with an empty findings list", status, body)
	}
	if status, body, _ := ts.do(t, "POST", api.PathValidate, `{"language":"node","code":"1"}`); status != 403 {
		t.Errorf("validate ungranted = %d %s, want 403", status, body)
	}
}

// TestQuota: the caller's second run in flight gets 429 quota_exceeded at
// once; the first one is unaffected.
func TestQuota(t *testing.T) {
	block := make(chan struct{})
	ts := startServerPolicy(t, analyzerRunner(block), nil, uidPolicy(""))
	first := ts.postAsync(`{"language":"python","code":"1"}`)
	deadline := time.Now().Add(5 * time.Second)
	for ts.runner.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	status, body, hdr := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"2"}`)
	if e := decodeErr(t, body); status != http.StatusTooManyRequests || e.Code != api.CodeQuotaExceeded || hdr.Get("Retry-After") == "" {
		t.Errorf("second run = %d %s, want 429 quota_exceeded with Retry-After", status, body)
	}
	close(block)
	if s := <-first; s != 200 {
		t.Errorf("first run = %d, want 200", s)
	}
	if s, body, _ := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"3"}`); s != 200 {
		t.Errorf("run after the first finished = %d %s, want 200 (quota released)", s, body)
	}
}

func TestReloadPolicy(t *testing.T) {
	ts := startServerPolicy(t, analyzerRunner(nil), nil, uidPolicy(""))
	before := ts.srv.Policy().Digest
	bad, err := policy.Parse([]byte(uidPolicy("")+"\n[profile.huge]\nlanguage = \"python\"\n[profile.huge.max_limits]\npids = 999999\n"), "bad")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.ReloadPolicy(bad); err == nil || !strings.Contains(err.Error(), "max_limits.pids 999999 exceeds") {
		t.Errorf("reload over the config's ceiling: %v", err)
	}
	if ts.srv.Policy().Digest != before {
		t.Error("a refused reload replaced the policy")
	}
	good, err := policy.Parse([]byte(strings.Replace(uidPolicy(""), `"python", "checked", "reported"`, `"python", "checked", "reported", "node"`, 1)), "good")
	if err != nil {
		t.Fatal(err)
	}
	if err := ts.srv.ReloadPolicy(good); err != nil {
		t.Fatal(err)
	}
	res := ts.run(t, api.RunRequest{Language: "node", Code: "1"})
	if res.PolicyDigest != good.Digest || res.Profile != "node" {
		t.Errorf("after reload: profile %q digest %q, want node %s", res.Profile, res.PolicyDigest, good.Digest)
	}
}
