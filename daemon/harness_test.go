package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// fakeRunner stands in for the libcontainer runner in tests of the API
// layer; the real runner is exercised by jail/container and e2e tests.
type fakeRunner struct {
	mu    sync.Mutex
	calls []jail.Spec
	run   func(ctx context.Context, spec jail.Spec) (jail.Result, error)
}

func (f *fakeRunner) Run(ctx context.Context, spec jail.Spec) (jail.Result, error) {
	f.mu.Lock()
	f.calls = append(f.calls, spec)
	f.mu.Unlock()
	if f.run != nil {
		return f.run(ctx, spec)
	}
	return jail.Result{Status: jail.StatusOK, Stdout: []byte("hi\n"), Wall: 12 * time.Millisecond,
		CPU: 10 * time.Millisecond, MemoryPeak: 4 << 20, RootfsDigest: spec.Rootfs.Digest}, nil
}

func (f *fakeRunner) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

type fakeImages map[string]rootfs.Image

func (f fakeImages) Lookup(ref string) (rootfs.Image, error) {
	if img, ok := f[ref]; ok {
		return img, nil
	}
	return rootfs.Image{}, rootfs.ErrNotFound
}

var testImages = fakeImages{
	"python": {Name: "python", Language: "python", Digest: "sha256:" + string(bytes.Repeat([]byte("a"), 64)),
		Path: "/nonexistent/python", Interpreter: "/usr/bin/python3"},
	"node": {Name: "node", Language: "node", Digest: "sha256:" + string(bytes.Repeat([]byte("b"), 64)),
		Path: "/nonexistent/node", Interpreter: "/usr/bin/node"},
}

// testServer is a Server on a real Unix socket and a client for it.
type testServer struct {
	srv    *Server
	runner *fakeRunner
	socket string
	http   *http.Client
	cancel context.CancelFunc
	done   chan error
}

func startServer(t *testing.T, runner *fakeRunner, mutate func(*Config)) *testServer {
	t.Helper()
	return startServerPolicy(t, runner, mutate, "")
}

// startServerPolicy starts a server under the policy text; "" is a
// policy granting the test's own uid every profile of the default policy.
func startServerPolicy(t *testing.T, runner *fakeRunner, mutate func(*Config), policyText string) *testServer {
	t.Helper()
	if policyText == "" {
		policyText = strings.Replace(string(policy.DefaultFile()), "[[rule]]\nuid = 0\n",
			fmt.Sprintf("[[rule]]\nuid = %d\n", os.Getuid()), 1)
	}
	pol, err := policy.Parse([]byte(policyText), "test policy")
	if err != nil {
		t.Fatalf("test policy: %v", err)
	}
	dir := t.TempDir()
	cfg := Default()
	cfg.StateDir = dir
	cfg.Socket = filepath.Join(dir, "jaild.sock")
	cfg.SocketGroup = "no-such-group-jaild-test"
	cfg.ShutdownGrace = Duration{2 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	if runner == nil {
		runner = &fakeRunner{}
	}
	srv, err := New(Options{Config: cfg, Runner: runner, Images: testImages, Version: "test",
		Host: HostInfo{CgroupVersion: "v1", Seccomp: true}, Logger: slog.New(slog.DiscardHandler),
		Authorize: func(*api.Caller) error { return nil }, Policy: pol})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := ListenUnix(cfg.Socket, cfg.SocketGroup)
	if err != nil {
		t.Fatalf("ListenUnix: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ts := &testServer{srv: srv, runner: runner, socket: cfg.Socket, cancel: cancel, done: make(chan error, 1),
		http: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", cfg.Socket)
		}}}}
	go func() { ts.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not shut down in 10s")
		}
	})
	return ts
}

// do sends a request and returns the status and body.
func (ts *testServer) do(t *testing.T, method, path string, body any) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, "http://jaild"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out, resp.Header
}

// run posts a run request and decodes a 200 result.
func (ts *testServer) run(t *testing.T, req api.RunRequest) api.RunResult {
	t.Helper()
	status, body, _ := ts.do(t, "POST", api.PathRuns, req)
	if status != http.StatusOK {
		t.Fatalf("POST /v1/runs = %d %s, want 200", status, body)
	}
	var res api.RunResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return res
}

func decodeErr(t *testing.T, body []byte) api.Error {
	t.Helper()
	var e api.Error
	if err := json.Unmarshal(body, &e); err != nil || e.Code == "" || e.Message == "" {
		t.Fatalf("error body %s: want {error, code}, got decode err %v", body, err)
	}
	return e
}

// postAsync posts body from another goroutine and delivers the status
// (-1 on a transport error) without touching t.
func (ts *testServer) postAsync(body string) <-chan int {
	c := make(chan int, 1)
	go func() {
		resp, err := ts.http.Post("http://jaild"+api.PathRuns, "application/json", bytes.NewBufferString(body))
		if err != nil {
			c <- -1
			return
		}
		resp.Body.Close()
		c <- resp.StatusCode
	}()
	return c
}
