package daemon

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// TestForbiddenCaller connects as an unprivileged uid no policy rule grants
// (the socket mode is widened by hand, as a misconfiguration would)
// and must get 403 policy_denied, while root gets 200 on the same socket.
func TestForbiddenCaller(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("SKIP: needs root to connect as another uid (CI runs as root)")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir's are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cfg := Default()
	cfg.StateDir, cfg.Socket, cfg.SocketGroup = dir, filepath.Join(dir, "jaild.sock"), "no-such-group-jaild-test"
	srv, err := New(Options{Config: cfg, Runner: &fakeRunner{}, Images: testImages, Host: HostInfo{Seccomp: true}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenUnix(cfg.Socket, cfg.SocketGroup)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	if err := os.Chmod(cfg.Socket, 0o666); err != nil {
		t.Fatal(err)
	}
	helper := func(asNobody bool) string {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), dialHelperEnv+"="+cfg.Socket)
		if asNobody {
			cmd.Env = append(cmd.Env, dialAsEnv+"=1")
		}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("helper (as nobody: %v): %v (%s)", asNobody, err, out)
		}
		return string(out)
	}
	if out := helper(false); !strings.HasPrefix(out, "200 ") {
		t.Errorf("root: %s, want 200", out)
	}
	out := helper(true)
	var e api.Error
	status, body, _ := strings.Cut(out, " ")
	if status != "403" || json.Unmarshal([]byte(body), &e) != nil || e.Code != api.CodePolicyDenied || !strings.Contains(e.Message, "uid 65534") {
		t.Errorf("uid 65534: %s, want 403 policy_denied naming the uid", out)
	}
}

// TestTCPListener: the optional TCP listener binds loopback only, refuses
// non-loopback Host names (DNS rebinding) and records no caller identity.
func TestTCPListener(t *testing.T) {
	for _, bad := range []string{"0.0.0.0:0", "[::]:0", "192.0.2.1:0", "example.com:0"} {
		if ln, err := ListenTCP(bad); err == nil {
			ln.Close()
			t.Errorf("ListenTCP(%q) accepted", bad)
		}
	}
	dir := t.TempDir()
	cfg := Default()
	cfg.StateDir, cfg.Socket = dir, filepath.Join(dir, "jaild.sock")
	runner := &fakeRunner{}
	srv, err := New(Options{Config: cfg, Runner: runner, Images: testImages, Host: HostInfo{Seccomp: true},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := ListenTCP("localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Errorf("localhost bound to %v", ip)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	base := "http://" + ln.Addr().String()
	do := func(req *http.Request) (int, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	req, _ := http.NewRequest("POST", base+api.PathRuns, strings.NewReader(`{"language":"python","code":"x"}`))
	status, body := do(req)
	var res api.RunResult
	if status != 200 || json.Unmarshal([]byte(body), &res) != nil || res.Caller != nil || res.Status != api.StatusOK {
		t.Errorf("run over TCP = %d %s, want 200 with no caller", status, body)
	}
	req, _ = http.NewRequest("GET", base+api.PathInfo, nil)
	req.Host = "evil.example"
	if status, body := do(req); status != 403 || !strings.Contains(body, api.CodeForbidden) {
		t.Errorf("Host evil.example over TCP = %d %s, want 403", status, body)
	}
	if runner.count() != 1 {
		t.Errorf("runner called %d times, want 1", runner.count())
	}
}
