package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

func TestRunOK(t *testing.T) {
	ts := startServer(t, nil, nil)
	res := ts.run(t, api.RunRequest{Language: "python", Code: "print('hi')", Args: []string{"a"},
		Env: map[string]string{"FOO": "bar"}, Limits: &api.Limits{WallMS: 2000}})
	if res.Status != api.StatusOK || res.Stdout != "hi\n" || res.ExitCode != 0 {
		t.Errorf("result = %s %q exit %d, want ok \"hi\\n\" 0", res.Status, res.Stdout, res.ExitCode)
	}
	if len(res.ID) != 24 || res.Rootfs != "python@"+testImages["python"].Digest || res.Language != "python" {
		t.Errorf("id %q rootfs %q language %q", res.ID, res.Rootfs, res.Language)
	}
	want := Default().DefaultLimits
	want.WallMS = 2000
	if res.Limits != want {
		t.Errorf("effective limits = %+v, want %+v", res.Limits, want)
	}
	if res.Caller == nil || res.Caller.UID != uint32(os.Getuid()) || res.Caller.PID != int32(os.Getpid()) {
		t.Errorf("caller = %+v, want this process (uid %d pid %d)", res.Caller, os.Getuid(), os.Getpid())
	}
	if len(res.CodeSHA256) != 64 || res.WallMS != 12 || res.CPUMS != 10 || res.MemoryPeak != 4<<20 {
		t.Errorf("hash %q wall %d cpu %d peak %d", res.CodeSHA256, res.WallMS, res.CPUMS, res.MemoryPeak)
	}
	spec := ts.runner.calls[0]
	if got := strings.Join(spec.Argv, " "); got != "/usr/bin/python3 -B -E -s /work/main.py a" {
		t.Errorf("argv = %q", got)
	}
	if spec.Env[len(spec.Env)-1] != "FOO=bar" || spec.Limits.Wall > 2*time.Second || spec.Limits.Memory != 128<<20 {
		t.Errorf("spec env %v wall %v memory %d", spec.Env, spec.Limits.Wall, spec.Limits.Memory)
	}
}

func TestBadRequestsRunNothing(t *testing.T) {
	ts := startServer(t, nil, func(c *Config) { c.MaxBodyBytes = 4096; c.MaxFiles = 3 })
	big := strings.Repeat("x", 5000)
	for _, tc := range []struct {
		name   string
		body   string
		status int
		code   string
	}{
		{"not json", `{`, 400, api.CodeInvalidRequest},
		{"empty body", ``, 400, api.CodeInvalidRequest},
		{"trailing data", `{"language":"python","code":"print(1)"} {}`, 400, api.CodeInvalidRequest},
		{"unknown field", `{"language":"python","code":"print(1)","timeout":3}`, 400, api.CodeInvalidRequest},
		{"unknown language", `{"language":"ruby","code":"puts 1"}`, 400, api.CodeUnknownLanguage},
		{"no language", `{"code":"print(1)"}`, 400, api.CodeUnknownLanguage},
		{"empty code", `{"language":"python","code":""}`, 400, api.CodeInvalidRequest},
		{"blank code", `{"language":"python","code":"  \n"}`, 400, api.CodeInvalidRequest},
		{"code and files", `{"language":"python","code":"x","files":[{"name":"a.py","content":"x"}],"entrypoint":"a.py"}`, 400, api.CodeInvalidRequest},
		{"absolute file", `{"language":"python","files":[{"name":"/etc/x.py","content":"x"}],"entrypoint":"/etc/x.py"}`, 400, api.CodeInvalidRequest},
		{"dotdot file", `{"language":"python","files":[{"name":"../x.py","content":"x"}],"entrypoint":"../x.py"}`, 400, api.CodeInvalidRequest},
		{"nul file", `{"language":"python","files":[{"name":"a\u0000.py","content":"x"}],"entrypoint":"a.py"}`, 400, api.CodeInvalidRequest},
		{"file and directory collide", `{"language":"python","files":[{"name":"pkg","content":"x"},{"name":"pkg/a.py","content":"y"}],"entrypoint":"pkg/a.py"}`, 400, api.CodeInvalidRequest},
		{"directory and file collide", `{"language":"python","files":[{"name":"pkg/a.py","content":"y"},{"name":"pkg","content":"x"}],"entrypoint":"pkg/a.py"}`, 400, api.CodeInvalidRequest},
		{"colliding files", `{"language":"python","files":[{"name":"a.py","content":"x"},{"name":"a.py","content":"y"}],"entrypoint":"a.py"}`, 400, api.CodeInvalidRequest},
		{"too many files", `{"language":"python","files":[{"name":"a","content":"x"},{"name":"b","content":"x"},{"name":"c","content":"x"},{"name":"d","content":"x"}],"entrypoint":"a"}`, 400, api.CodeInvalidRequest},
		{"missing entrypoint", `{"language":"python","files":[{"name":"a.py","content":"x"}]}`, 400, api.CodeInvalidRequest},
		{"entrypoint not a file", `{"language":"python","files":[{"name":"a.py","content":"x"}],"entrypoint":"b.py"}`, 400, api.CodeInvalidRequest},
		{"bad base64", `{"language":"python","files":[{"name":"a.py","content":"!!","encoding":"base64"}],"entrypoint":"a.py"}`, 400, api.CodeInvalidRequest},
		{"bad encoding", `{"language":"python","files":[{"name":"a.py","content":"x","encoding":"rot13"}],"entrypoint":"a.py"}`, 400, api.CodeInvalidRequest},
		{"limit above max", `{"language":"python","code":"x","limits":{"wall_ms":999999}}`, 400, api.CodeLimitOutOfRange},
		{"negative limit", `{"language":"python","code":"x","limits":{"memory_bytes":-1}}`, 400, api.CodeLimitOutOfRange},
		{"limit below minimum", `{"language":"python","code":"x","limits":{"memory_bytes":1024}}`, 400, api.CodeLimitOutOfRange},
		{"bad env name", `{"language":"python","code":"x","env":{"A=B":"c"}}`, 400, api.CodeInvalidRequest},
		{"nul in arg", `{"language":"python","code":"x","args":["a\u0000b"]}`, 400, api.CodeInvalidRequest},
		{"body too large", `{"language":"python","code":"` + big + `"}`, 413, api.CodeBodyTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := ts.do(t, "POST", api.PathRuns, tc.body)
			if status != tc.status {
				t.Fatalf("status = %d (%s), want %d", status, body, tc.status)
			}
			if e := decodeErr(t, body); e.Code != tc.code {
				t.Errorf("code = %q (%s), want %q", e.Code, e.Message, tc.code)
			}
		})
	}
	if n := ts.runner.count(); n != 0 {
		t.Errorf("runner called %d times for bad requests, want 0", n)
	}
	status, body, _ := ts.do(t, "POST", api.PathRuns, `{"language":"python","code":"x","limits":{"wall_ms":999999}}`)
	if status != 400 || !strings.Contains(string(body), "60000") || !strings.Contains(string(body), "wall_ms") {
		t.Errorf("limit error %s: want it to name wall_ms and the maximum 60000", body)
	}
}

func TestRoutingErrors(t *testing.T) {
	ts := startServer(t, nil, nil)
	for _, tc := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/nope", 404, api.CodeNotFound},
		{"DELETE", api.PathRuns, 405, api.CodeMethodNotAllowed},
		{"POST", api.PathInfo, 405, api.CodeMethodNotAllowed},
		{"GET", api.PathRun + "0000000000000000deadbeef", 404, api.CodeNotFound},
		{"GET", api.PathRuns + "?limit=0", 400, api.CodeInvalidRequest},
		{"GET", api.PathRuns + "?colour=red", 400, api.CodeInvalidRequest},
		{"POST", api.PathRuns + "?stream=yes", 400, api.CodeInvalidRequest},
	} {
		status, body, _ := ts.do(t, tc.method, tc.path, nil)
		if status != tc.status || decodeErr(t, body).Code != tc.code {
			t.Errorf("%s %s = %d %s, want %d %s", tc.method, tc.path, status, body, tc.status, tc.code)
		}
	}
}

func TestQueueFullGets429(t *testing.T) {
	release := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		<-release
		return jail.Result{Status: jail.StatusOK}, nil
	}}
	ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1; c.QueueSize = 1 })
	// One runs, one queues.
	admitted := []<-chan int{ts.postAsync(`{"language":"python","code":"x"}`), ts.postAsync(`{"language":"python","code":"x"}`)}
	waitFor(t, func() bool { r, q := ts.srv.adm.counts(); return r == 1 && q == 1 })
	status, body, hdr := ts.do(t, "POST", api.PathRuns, api.RunRequest{Language: "python", Code: "x"})
	if status != 429 || decodeErr(t, body).Code != api.CodeQueueFull || hdr.Get("Retry-After") == "" {
		t.Errorf("third request = %d %s Retry-After %q, want 429 queue_full with Retry-After", status, body, hdr.Get("Retry-After"))
	}
	close(release)
	for _, c := range admitted {
		if s := <-c; s != 200 {
			t.Errorf("admitted request got %d, want 200", s)
		}
	}
}

func TestQueueWaitCountsAgainstDeadline(t *testing.T) {
	release := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		<-release
		return jail.Result{Status: jail.StatusOK}, nil
	}}
	ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1 })
	first := ts.postAsync(`{"language":"python","code":"x"}`)
	waitFor(t, func() bool { r, _ := ts.srv.adm.counts(); return r == 1 })
	res := ts.run(t, api.RunRequest{Language: "python", Code: "x", Limits: &api.Limits{WallMS: 200}})
	close(release)
	if s := <-first; s != 200 {
		t.Errorf("first run = %d, want 200", s)
	}
	if res.Status != api.StatusTimeout || res.QueueMS < 200 || !strings.Contains(res.Error, "queued") {
		t.Errorf("queued run = %s queue_ms %d error %q, want timeout after ≥200ms in the queue", res.Status, res.QueueMS, res.Error)
	}
	if n := runner.count(); n != 1 {
		t.Errorf("runner called %d times, want only the first run", n)
	}
}

func TestClientDisconnectCancelsRun(t *testing.T) {
	cancelled := make(chan time.Duration, 1)
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		start := time.Now()
		<-ctx.Done()
		cancelled <- time.Since(start)
		return jail.Result{Status: jail.StatusInternalError, Error: "run cancelled"}, ctx.Err()
	}}
	ts := startServer(t, runner, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://jaild"+api.PathRuns, strings.NewReader(`{"language":"python","code":"x"}`))
	if _, err := ts.http.Do(req); err == nil {
		t.Fatal("request finished; want it cut off by the client")
	}
	select {
	case d := <-cancelled:
		if d > time.Second {
			t.Errorf("runner saw the cancel after %v, want promptly", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("runner context not cancelled 3s after the client went away")
	}
}

func TestStreaming(t *testing.T) {
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		spec.Output(jail.Stdout, []byte("one\n"))
		spec.Output(jail.Stderr, []byte("warn\n"))
		spec.Output(jail.Stdout, []byte("caf\xc3")) // é split across chunks
		spec.Output(jail.Stdout, []byte("\xa9 \xff\n"))
		return jail.Result{Status: jail.StatusOK, Stdout: []byte("one\ncaf\xc3\xa9 \xff\n"), Stderr: []byte("warn\n")}, nil
	}}
	ts := startServer(t, runner, nil)
	req, _ := http.NewRequest("POST", "http://jaild"+api.PathRuns+"?stream=1", strings.NewReader(`{"language":"python","code":"x"}`))
	resp, err := ts.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != api.ContentNDJSON {
		t.Errorf("content type %q, want %q", ct, api.ContentNDJSON)
	}
	var lines []api.StreamEvent
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		var ev api.StreamEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, ev)
	}
	if len(lines) != 6 {
		t.Fatalf("got %d lines %+v, want the id, 4 chunks and a result", len(lines), lines)
	}
	if len(lines[0].ID) != 24 || lines[5].Result == nil || lines[0].ID != lines[5].Result.ID {
		t.Errorf("first line %+v: want the run's id, matching the result", lines[0])
	}
	lines = lines[1:]
	want := []api.StreamEvent{{Stdout: "one\n"}, {Stderr: "warn\n"}, {Stdout: "caf"}, {StdoutBase64: "w6kg/wo="}}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d = %+v, want %+v", i, lines[i], w)
		}
	}
	res := lines[4].Result
	if res == nil || res.Status != api.StatusOK || res.StdoutBase64 == "" || !strings.Contains(res.Stdout, "\uFFFD") {
		t.Errorf("final line = %+v, want the ok result with stdout_base64 alongside", res)
	}
}

func TestHistoryRoundTrip(t *testing.T) {
	n := 0
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		n++
		if n%2 == 0 {
			return jail.Result{Status: jail.StatusExitNonzero, ExitCode: 3, Stderr: []byte("boom")}, nil
		}
		return jail.Result{Status: jail.StatusOK, Stdout: []byte("out")}, nil
	}}
	ts := startServer(t, runner, nil)
	var ids []string
	for i := 0; i < 5; i++ {
		lang := []string{"python", "node"}[i%2]
		ids = append(ids, ts.run(t, api.RunRequest{Language: lang, Code: "x"}).ID)
	}
	status, body, _ := ts.do(t, "GET", api.PathRun+ids[1], nil)
	var got api.RunResult
	if status != 200 || json.Unmarshal(body, &got) != nil {
		t.Fatalf("GET run = %d %s", status, body)
	}
	if got.ID != ids[1] || got.Status != api.StatusExitNonzero || got.ExitCode != 3 || got.Stderr != "boom" || got.Language != "node" {
		t.Errorf("history run = %+v", got)
	}
	if got.Caller == nil || got.Caller.UID != uint32(os.Getuid()) || got.Limits.WallMS != 5000 {
		t.Errorf("history caller %+v limits %+v", got.Caller, got.Limits)
	}
	list := func(q string) api.RunList {
		status, body, _ := ts.do(t, "GET", api.PathRuns+q, nil)
		var l api.RunList
		if status != 200 || json.Unmarshal(body, &l) != nil {
			t.Fatalf("GET %s = %d %s", q, status, body)
		}
		return l
	}
	page := list("?limit=2")
	if len(page.Runs) != 2 || page.Runs[0].ID != ids[4] || page.Runs[1].ID != ids[3] || page.Next != ids[3] {
		t.Errorf("first page = %v next %q, want the two newest", runIDs(page), page.Next)
	}
	page = list("?limit=2&before=" + page.Next)
	if len(page.Runs) != 2 || page.Runs[0].ID != ids[2] {
		t.Errorf("second page = %v", runIDs(page))
	}
	if l := list("?status=exit_nonzero"); len(l.Runs) != 2 || l.Runs[0].Stdout != "" {
		t.Errorf("status filter = %v (list entries carry no output)", runIDs(l))
	}
	if l := list("?language=python"); len(l.Runs) != 3 {
		t.Errorf("language filter = %v, want 3 python runs", runIDs(l))
	}
}

func runIDs(l api.RunList) []string {
	var ids []string
	for _, r := range l.Runs {
		ids = append(ids, r.ID[16:]+":"+r.Status)
	}
	return ids
}

func TestInfoAndHealth(t *testing.T) {
	ts := startServer(t, nil, nil)
	status, body, _ := ts.do(t, "GET", api.PathInfo, nil)
	var info api.Info
	if status != 200 || json.Unmarshal(body, &info) != nil {
		t.Fatalf("info = %d %s", status, body)
	}
	if len(info.Languages) != 2 || info.CgroupVersion != "v1" || !info.Seccomp || info.Version != "test" {
		t.Errorf("info = %+v", info)
	}
	wantLangs := []api.LanguageInfo{{Name: "python", Rootfs: "python@" + testImages["python"].Digest},
		{Name: "node", Rootfs: "node@" + testImages["node"].Digest}}
	for i, l := range wantLangs {
		if i >= len(info.Languages) || info.Languages[i] != l {
			t.Errorf("languages = %+v, want %+v", info.Languages, wantLangs)
			break
		}
	}
	d := Default()
	if info.DefaultLimits != d.DefaultLimits || info.MaxLimits != d.MaxLimits || info.MaxConcurrent != d.MaxConcurrent ||
		info.QueueSize != d.QueueSize || info.Running != 0 || info.Queued != 0 {
		t.Errorf("info limits/admission = %+v, want the configured %+v / %+v", info, d.DefaultLimits, d.MaxLimits)
	}
	status, body, _ = ts.do(t, "GET", api.PathHealth, nil)
	if status != 200 || !bytes.Contains(body, []byte(`"status":"ok"`)) || !bytes.Contains(body, []byte(`"history":"ok"`)) {
		t.Errorf("health = %d %s", status, body)
	}
}

func TestHealthWithoutRootfs(t *testing.T) {
	dir := t.TempDir()
	cfg := Default()
	cfg.StateDir, cfg.Socket = dir, dir+"/s.sock"
	srv, err := New(Options{Config: cfg, Runner: &fakeRunner{}, Images: fakeImages{}, Host: HostInfo{Seccomp: true}})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	srv.handleHealth(rec, nil)
	if rec.status != 503 || !strings.Contains(rec.body.String(), "no rootfs for python") || !strings.Contains(rec.body.String(), `"code":"unavailable"`) {
		t.Errorf("health = %d %s, want 503 naming the missing rootfs", rec.status, rec.body.String())
	}
}

func TestBrowserRequestsRefused(t *testing.T) {
	ts := startServer(t, nil, nil)
	for _, h := range []struct{ k, v string }{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		req, _ := http.NewRequest("POST", "http://jaild"+api.PathRuns, strings.NewReader(`{"language":"python","code":"x"}`))
		req.Header.Set(h.k, h.v)
		resp, err := ts.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 403 {
			t.Errorf("request with %s = %d, want 403", h.k, resp.StatusCode)
		}
	}
	if ts.runner.count() != 0 {
		t.Error("a browser-originated request ran")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not reached in 5s")
}

type recorder struct {
	status int
	hdr    http.Header
	body   bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{hdr: http.Header{}} }
func (r *recorder) Header() http.Header         { return r.hdr }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(s int)           { r.status = s }
