package daemon

import (
	"context"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// TestNoGoroutineOrFDLeaks drives a server through its error paths (bad
// requests, 404/405, 429, a client that hangs up, a stream, a failing run),
// shuts it down, and wants goroutines and descriptors back where they were.
func TestNoGoroutineOrFDLeaks(t *testing.T) {
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	settle := func() {
		for i := 0; i < 50; i++ {
			runtime.GC()
			time.Sleep(20 * time.Millisecond)
		}
	}
	settle()
	g0, f0 := runtime.NumGoroutine(), fds()

	release := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		if spec.Output != nil {
			spec.Output(jail.Stdout, []byte("chunk\n"))
		}
		select {
		case <-release:
		case <-ctx.Done():
			return jail.Result{Status: jail.StatusInternalError, Error: "cancelled"}, ctx.Err()
		}
		if len(spec.Argv) > 0 && strings.Contains(strings.Join(spec.Argv, " "), "fail") {
			return jail.Result{Status: jail.StatusInternalError, Error: "boom"}, context.DeadlineExceeded
		}
		return jail.Result{Status: jail.StatusOK}, nil
	}}
	func() {
		ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1; c.QueueSize = 1 })
		defer ts.http.CloseIdleConnections()
		for _, body := range []string{`{`, `{"language":"ruby","code":"x"}`, `{"language":"python","code":"x","limits":{"wall_ms":999999}}`} {
			ts.do(t, "POST", api.PathRuns, body)
		}
		ts.do(t, "GET", "/nope", nil)
		ts.do(t, "DELETE", api.PathRuns, nil)
		busy := ts.postAsync(`{"language":"python","code":"x"}`)
		queued := ts.postAsync(`{"language":"python","code":"x","args":["fail"]}`)
		waitFor(t, func() bool { r, q := ts.srv.adm.counts(); return r == 1 && q == 1 })
		if status, _, _ := ts.do(t, "POST", api.PathRuns, api.RunRequest{Language: "python", Code: "x"}); status != 429 {
			t.Errorf("flooded queue = %d, want 429", status)
		}
		close(release)
		<-busy
		<-queued
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://jaild"+api.PathRuns+"?stream=1", strings.NewReader(`{"language":"python","code":"x","args":["hang"]}`))
		if resp, err := ts.http.Do(req); err == nil {
			resp.Body.Close()
		}
		cancel()
		ts.run(t, api.RunRequest{Language: "python", Code: "x"})
		ts.cancel()
		<-ts.done
		ts.done <- nil // for the harness's cleanup
	}()

	var g1, f1 int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		settle()
		if g1, f1 = runtime.NumGoroutine(), fds(); g1 <= g0 && f1 <= f0 {
			return
		}
	}
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	t.Errorf("after shutdown: %d goroutines (was %d), %d fds (was %d)\n%s", g1, g0, f1, f0, buf[:n])
}
