package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// fakeDaemon answers the API v1 routes with canned bodies and records the
// requests it saw. Set its fields before the first request.
type fakeDaemon struct {
	result   api.RunResult     // answer to runs, streamed or not, and to GET /v1/runs/{id}
	chunks   []api.StreamEvent // streamed before the result
	noResult bool              // end the stream without its result line
	list     api.RunList
	info     api.Info
	health   api.Health
	fail     int    // answer everything with this status and failBody
	failBody string // a JSON api.Error, or anything else
	hold     bool   // block until the client goes away, then close gone
	gone     chan struct{}

	mu  sync.Mutex
	got []request
}

type request struct {
	Method, Path, Query string // Path as sent, escaped
	Run                 *api.RunRequest
}

func (d *fakeDaemon) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Read the whole body first, like the daemon: net/http only notices a
	// client going away once it has.
	body, _ := io.ReadAll(r.Body)
	rq := request{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery}
	if len(body) > 0 {
		rq.Run = new(api.RunRequest)
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(rq.Run); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	d.mu.Lock()
	d.got = append(d.got, rq)
	d.mu.Unlock()
	switch {
	case d.hold:
		<-r.Context().Done()
		close(d.gone)
	case d.fail != 0:
		if d.fail == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(d.fail)
		_, _ = io.WriteString(w, d.failBody)
	case r.Method == http.MethodPost && r.URL.Path == api.PathRuns && r.URL.Query().Get("stream") == "1":
		w.Header().Set("Content-Type", api.ContentNDJSON)
		enc := json.NewEncoder(w)
		for _, ev := range d.chunks {
			_ = enc.Encode(ev)
			w.(http.Flusher).Flush()
		}
		if !d.noResult {
			_ = enc.Encode(api.StreamEvent{Result: &d.result})
		}
	case r.Method == http.MethodPost && r.URL.Path == api.PathRuns:
		writeJSONResponse(w, http.StatusOK, d.result)
	case r.Method == http.MethodGet && r.URL.Path == api.PathRuns:
		writeJSONResponse(w, http.StatusOK, d.list)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, api.PathRun):
		writeJSONResponse(w, http.StatusOK, d.result)
	case r.Method == http.MethodGet && r.URL.Path == api.PathInfo:
		writeJSONResponse(w, http.StatusOK, d.info)
	case r.Method == http.MethodGet && r.URL.Path == api.PathHealth:
		status := http.StatusOK
		if d.health.Status != "ok" {
			status = http.StatusServiceUnavailable
		}
		writeJSONResponse(w, status, d.health)
	default:
		writeJSONResponse(w, http.StatusNotFound, api.Error{Message: "no route", Code: api.CodeNotFound})
	}
}

func writeJSONResponse(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// requests returns what the daemon saw so far.
func (d *fakeDaemon) requests() []request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]request(nil), d.got...)
}

// start serves d on a Unix socket, as jaild does, and returns its path.
func (d *fakeDaemon) start(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 80 { // sun_path holds 108 bytes; long test names overflow it
		tmp, err := os.MkdirTemp("", "jc")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(tmp) })
		dir = tmp
	}
	sock := filepath.Join(dir, "jaild.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatalf("listen on %s: %v", sock, err)
	}
	ts := httptest.NewUnstartedServer(d)
	ts.Listener.Close()
	ts.Listener = l
	ts.Start()
	t.Cleanup(ts.Close)
	return sock
}

// jailctl runs the command against the daemon at sock, with stdin as its
// standard input, and returns its exit code and output.
func jailctl(t *testing.T, sock, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"--socket", sock}, args...), strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
