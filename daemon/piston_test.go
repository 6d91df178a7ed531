package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/rootfs"
)

var pistonImages = fakeImages{
	"python": {Name: "python", Language: "python", Digest: testImages["python"].Digest, Path: "/nonexistent/python",
		Interpreter: "/usr/bin/python3", Packages: []string{"libpython3.11-minimal=3.11.2-6+deb12u6",
			"python3.11-minimal=3.11.2-6+deb12u6", "python3-minimal=3.11.2-1+b1"}},
	"node": {Name: "node", Language: "node", Digest: testImages["node"].Digest, Path: "/nonexistent/node",
		Interpreter: "/usr/bin/node", Packages: []string{"libnode108=18.20.4+dfsg-1~deb12u3", "nodejs=18.20.4+dfsg-1~deb12u3"}},
}

// pistonServer is a Server answering through its Handler, without a socket.
func pistonServer(t *testing.T, run func(context.Context, jail.Spec) (jail.Result, error)) (*Server, *fakeRunner) {
	t.Helper()
	cfg := Default()
	cfg.StateDir = t.TempDir()
	cfg.Socket = cfg.StateDir + "/jaild.sock"
	runner := &fakeRunner{run: run}
	srv, err := New(Options{Config: cfg, Runner: runner, Images: pistonImages, Host: HostInfo{Seccomp: true},
		Logger: slog.New(slog.DiscardHandler), Authorize: func(*api.Caller) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return srv, runner
}

func piston(t *testing.T, srv *Server, method, path, ctype, body string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Host = "localhost"
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func TestInterpreterVersion(t *testing.T) {
	for _, tc := range []struct {
		img  rootfs.Image
		want string
	}{
		{pistonImages["python"], "3.11.2"},
		{pistonImages["node"], "18.20.4"},
		{rootfs.Image{Language: "node", Packages: []string{"nodejs=1:20.1.0~dfsg-1"}}, "20.1.0"},
		{rootfs.Image{Language: "python", Path: "/nonexistent"}, "0.0.0"}, // an import without metadata
	} {
		if got := interpreterVersion(tc.img); got != tc.want {
			t.Errorf("interpreterVersion(%v) = %q, want %q", tc.img.Packages, got, tc.want)
		}
	}
}

func TestPistonResolve(t *testing.T) {
	vs := map[jail.Language]string{jail.Python: "3.11.2", jail.Node: "18.20.4"}
	for _, tc := range []struct {
		name, version string
		lang          jail.Language
		ok            bool
	}{
		{"python", "3.11.2", jail.Python, true},
		{"python3", "*", jail.Python, true},
		{"py", "3", jail.Python, true},
		{"py3", "3.11", jail.Python, true},
		{"python3.11", "3.11.x", jail.Python, true},
		{"python", "3.10.0", jail.Python, false},
		{"python", "3.11.2.1", jail.Python, false},
		{"javascript", "18.20.4", jail.Node, true},
		{"js", "^18", jail.Node, true},
		{"node-js", "18.x", jail.Node, true},
		{"node-javascript", "*", jail.Node, true},
		{"node", "v18.20.4", jail.Node, true},
		{"js", "15.10.0", jail.Node, false},
		{"ruby", "*", "", false},
	} {
		rt, ok := resolvePiston(tc.name, tc.version, vs)
		if ok != tc.ok || (tc.lang != "" && rt.lang != tc.lang) {
			t.Errorf("resolve(%q, %q) = %q %v, want %q %v", tc.name, tc.version, rt.lang, ok, tc.lang, tc.ok)
		}
	}
}

func TestPistonRuntimes(t *testing.T) {
	srv, _ := pistonServer(t, nil)
	for _, path := range []string{api.PathPistonRuntimes, api.PathPistonEMKCRuntime} {
		status, body := piston(t, srv, "GET", path, "", "")
		var got []api.PistonRuntime
		if status != 200 || json.Unmarshal(body, &got) != nil {
			t.Fatalf("GET %s = %d %s", path, status, body)
		}
		want := []api.PistonRuntime{
			{Language: "python", Version: "3.11.2", Aliases: []string{"py", "py3", "python3", "python3.11"}},
			{Language: "javascript", Version: "18.20.4", Aliases: []string{"node-javascript", "node-js", "javascript", "js", "node"}, Runtime: "node"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("GET %s = %+v, want %+v", path, got, want)
		}
	}
}

// The request body of Piston's documentation (README, "Execute
// Endpoint"), with the version this server has.
const pistonDocRequest = `{
    "language": "js",
    "version": "%s",
    "files": [
        {
            "name": "my_cool_code.js",
            "content": "console.log(process.argv)"
        }
    ],
    "stdin": "",
    "args": ["1", "2", "3"],
    "compile_timeout": 10000,
    "run_timeout": 3000,
    "compile_cpu_time": 10000,
    "run_cpu_time": 3000,
    "compile_memory_limit": -1,
    "run_memory_limit": -1
}`

func TestPistonExecute(t *testing.T) {
	srv, runner := pistonServer(t, func(_ context.Context, spec jail.Spec) (jail.Result, error) {
		spec.Output(jail.Stdout, []byte("out1\n"))
		spec.Output(jail.Stderr, []byte("err1\n"))
		spec.Output(jail.Stdout, []byte("out2\n"))
		return jail.Result{Status: jail.StatusOK, Stdout: []byte("out1\nout2\n"), Stderr: []byte("err1\n"),
			Wall: 30 * time.Millisecond, CPU: 20 * time.Millisecond, MemoryPeak: 5 << 20}, nil
	})
	status, body := piston(t, srv, "POST", api.PathPistonExecute, "application/json",
		strings.Replace(pistonDocRequest, "%s", "18.20.4", 1))
	var got map[string]any
	if status != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("execute = %d %s", status, body)
	}
	want := map[string]any{"language": "javascript", "version": "18.20.4", "run": map[string]any{
		"stdout": "out1\nout2\n", "stderr": "err1\n", "output": "out1\nerr1\nout2\n", "code": 0.0,
		"signal": nil, "message": nil, "status": nil, "cpu_time": 20.0, "wall_time": 30.0, "memory": float64(5 << 20)}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("execute =\n%v\nwant\n%v", got, want)
	}
	spec := runner.calls[0]
	if spec.Argv[len(spec.Argv)-4] != "/work/my_cool_code.js" || strings.Join(spec.Argv[len(spec.Argv)-3:], " ") != "1 2 3" ||
		spec.Limits.Wall > 3*time.Second || spec.Limits.Wall < 2*time.Second || spec.Limits.CPUTime != 3*time.Second || spec.Limits.Memory != 128<<20 {
		t.Errorf("spec argv %q limits %+v", spec.Argv, spec.Limits)
	}
}

func TestPistonStatuses(t *testing.T) {
	s := func(v string) *string { return &v }
	zero, three := 0, 3
	for _, tc := range []struct {
		res  api.RunResult
		want api.PistonRun
	}{
		{api.RunResult{Status: api.StatusOK, ExitCode: 0}, api.PistonRun{Code: &zero}},
		{api.RunResult{Status: api.StatusExitNonzero, ExitCode: 3}, api.PistonRun{Code: &three, Status: s("RE"), Message: s("Exited with error status 3")}},
		{api.RunResult{Status: api.StatusTimeout, ExitCode: -1}, api.PistonRun{Status: s("TO"), Signal: s("SIGKILL"), Message: s("Time limit exceeded (wall clock)")}},
		{api.RunResult{Status: api.StatusCPULimit, ExitCode: -1}, api.PistonRun{Status: s("TO"), Signal: s("SIGKILL"), Message: s("Time limit exceeded")}},
		{api.RunResult{Status: api.StatusOOM, ExitCode: -1}, api.PistonRun{Status: s("SG"), Signal: s("SIGKILL"), Message: s("Caught fatal signal 9 (out of memory)")}},
		{api.RunResult{Status: api.StatusSignaled, Signal: "SIGSEGV", ExitCode: -1}, api.PistonRun{Status: s("SG"), Signal: s("SIGSEGV"), Message: s("Caught fatal signal 11")}},
		{api.RunResult{Status: api.StatusInternalError, Error: "no cgroup", ExitCode: -1}, api.PistonRun{Status: s("XX"), Message: s("no cgroup")}},
	} {
		if got := pistonRun(&tc.res, ""); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v, want %+v", tc.res.Status, got, tc.want)
		}
	}
}

func TestPistonErrors(t *testing.T) {
	srv, runner := pistonServer(t, nil)
	files := `"files":[{"content":"print(1)"}]`
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		message           string
	}{
		{"documented body, version not installed", "application/json", strings.Replace(pistonDocRequest, "%s", "15.10.0", 1),
			400, "js-15.10.0 runtime is unknown"},
		{"not json content type", "text/plain", `{}`, 415, "requests must be of type application/json"},
		{"no language", "application/json", `{"version":"*",` + files + `}`, 400, "language is required as a string"},
		{"language not a string", "application/json", `{"language":3,"version":"*",` + files + `}`, 400, "language is required as a string"},
		{"no version", "application/json", `{"language":"py",` + files + `}`, 400, "version is required as a string"},
		{"no files", "application/json", `{"language":"py","version":"*"}`, 400, "files is required as an array"},
		{"content not a string", "application/json", `{"language":"py","version":"*","files":[{"content":1}]}`, 400, "files[0].content is required as a string"},
		{"unknown language", "application/json", `{"language":"cobol","version":"*",` + files + `}`, 400, "cobol-* runtime is unknown"},
		{"only base64 files", "application/json", `{"language":"py","version":"*","files":[{"content":"eA==","encoding":"base64"}]}`, 400, "files must include at least one utf8 encoded file"},
		{"timeout not a number", "application/json", `{"language":"py","version":"*",` + files + `,"run_timeout":"1s"}`, 400, "If specified, run_timeout must be a number"},
		{"timeout over the limit", "application/json", `{"language":"py","version":"*",` + files + `,"run_timeout":9999999}`, 400, "run_timeout cannot exceed the configured limit of 60000"},
		{"negative cpu time", "application/json", `{"language":"py","version":"*",` + files + `,"run_cpu_time":-1}`, 400, "run_cpu_time must be non-negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := piston(t, srv, "POST", api.PathPistonExecute, tc.ctype, tc.body)
			var e map[string]any
			if err := json.Unmarshal(body, &e); err != nil || status != tc.status || e["message"] != tc.message || len(e) != 1 {
				t.Fatalf("= %d %s, want %d {\"message\": %q}", status, body, tc.status, tc.message)
			}
		})
	}
	if runner.count() != 0 {
		t.Errorf("runner called %d times", runner.count())
	}
	// The file name defaults to Piston's file<i>.code; hex files are decoded.
	status, body := piston(t, srv, "POST", api.PathPistonEMKCExecute, "application/json",
		`{"language":"python3","version":"3.x","files":[{"content":"print(1)"},{"name":"d.bin","content":"6869","encoding":"hex"}],"run_memory_limit":67108864}`)
	if status != 200 {
		t.Fatalf("execute = %d %s", status, body)
	}
	spec := runner.calls[0]
	if spec.Argv[len(spec.Argv)-1] != "/work/file0.code" || string(spec.Files[1].Content) != "hi" || spec.Limits.Memory != 64<<20 {
		t.Errorf("argv %q files %+v memory %d", spec.Argv, spec.Files, spec.Limits.Memory)
	}
	if !strings.Contains(string(body), `"language":"python"`) || !strings.Contains(string(body), `"version":"3.11.2"`) {
		t.Errorf("body %s", body)
	}
}
