package daemon

import (
	"net/http"
	"slices"
	"testing"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// TestPoolSpecsMatchRequests: a request with default limits, its own env
// and args must map onto the warm pool key of its language's template, or
// the pool would never serve it.
func TestPoolSpecsMatchRequests(t *testing.T) {
	ts := startServer(t, nil, nil)
	tmpl := map[jail.Language]jail.Spec{}
	for _, ps := range ts.srv.PoolSpecs() {
		if _, ok := tmpl[ps.Language]; !ok { // the language's default profile sorts first
			tmpl[ps.Language] = ps.Spec
		}
	}
	if len(tmpl) != 2 {
		t.Fatalf("pool specs for %d languages, want 2: %+v", len(tmpl), ts.srv.PoolSpecs())
	}
	for _, tc := range []struct {
		req  api.RunRequest
		same bool
	}{
		{api.RunRequest{Language: "python", Code: "print(1)", Args: []string{"a"}, Env: map[string]string{"MODE": "x"}}, true},
		{api.RunRequest{Language: "node", Code: "1", Limits: &api.Limits{WallMS: 100, OutputBytes: 10}}, true},
		{api.RunRequest{Language: "python", Code: "print(1)", Limits: &api.Limits{MemoryBytes: 64 << 20}}, false},
		{api.RunRequest{Language: "node", Code: "1", Env: map[string]string{"TZ": "UTC"}}, false},
	} {
		n := ts.runner.count()
		if status, body, _ := ts.do(t, "POST", api.PathRuns, tc.req); status != http.StatusOK {
			t.Fatalf("POST = %d %s", status, body)
		}
		ts.runner.mu.Lock()
		got := ts.runner.calls[n]
		ts.runner.mu.Unlock()
		lang := jail.Language(tc.req.Language)
		want := tmpl[lang]
		if (poolKey(lang, &got) == poolKey(lang, &want)) != tc.same {
			t.Errorf("%+v: same key as the template = %v, want %v", tc.req, !tc.same, tc.same)
		}
	}
}

// poolKey takes the interpreter options as what lies between argv[0] and
// the script in the work dir, as the pool does.
func poolKey(lang jail.Language, s *jail.Spec) jail.PoolKey {
	i := slices.IndexFunc(s.Argv, func(a string) bool { return len(a) > 6 && a[:6] == jail.WorkDir+"/" })
	return jail.NewPoolKey(lang, s, s.Argv[1:i])
}
