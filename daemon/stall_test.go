package daemon

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// A streaming client that keeps its connection open but stops reading
// must not hold the run (its output drain, teardown, slot) or the daemon's
// shutdown hostage: the stream is abandoned and the run completes.
func TestStalledStreamClientDoesNotBlockTheRun(t *testing.T) {
	finished := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		defer close(finished)
		chunk := []byte(strings.Repeat("x", 1<<20))
		for i := 0; i < 64; i++ { // far more than the socket buffers hold
			spec.Output(jail.Stdout, chunk)
		}
		return jail.Result{Status: jail.StatusOK, Stdout: chunk}, nil
	}}
	ts := startServer(t, runner, nil)
	ts.srv.streamTimeout = 200 * time.Millisecond
	conn, err := net.Dial("unix", ts.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"language":"python","code":"x"}`
	if _, err := conn.Write([]byte("POST " + api.PathRuns + "?stream=1 HTTP/1.1\r\nHost: jaild\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)); err != nil {
		t.Fatal(err)
	}
	// Read the status line, then stop reading for good.
	if line, err := bufio.NewReader(conn).ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("status line %q, %v", line, err)
	}
	select {
	case <-finished:
	case <-time.After(20 * time.Second):
		t.Fatal("the run is still blocked writing to a client that stopped reading")
	}
	// The run is recorded although its stream was abandoned.
	waitFor(t, func() bool {
		l, err := ts.srv.hist.list(context.Background(), listQuery{limit: 1})
		return err == nil && len(l.Runs) == 1 && l.Runs[0].Status == api.StatusOK
	})
}

// A client that never reads its (large) answer must not keep SIGTERM's
// shutdown from finishing.
func TestShutdownWithAnUnreadAnswer(t *testing.T) {
	answered := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		defer close(answered)
		return jail.Result{Status: jail.StatusOK, Stdout: []byte(strings.Repeat("x", 16<<20))}, nil
	}}
	ts := startServer(t, runner, nil)
	conn, err := net.Dial("unix", ts.socket)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"language":"python","code":"x"}`
	if _, err := conn.Write([]byte("POST " + api.PathRuns + " HTTP/1.1\r\nHost: jaild\r\nContent-Type: application/json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)); err != nil {
		t.Fatal(err)
	}
	<-answered
	waitFor(t, func() bool {
		l, err := ts.srv.hist.list(context.Background(), listQuery{limit: 1})
		return err == nil && len(l.Runs) == 1 && l.Runs[0].Status == api.StatusOK
	})
	ts.cancel() // SIGTERM
	select {
	case err := <-ts.done:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
		ts.done <- nil // for the harness's cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("shutdown still waiting for a client that does not read its answer")
	}
}
