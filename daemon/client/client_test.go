package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var sampleResult = api.RunResult{
	ID: "01HZX", Status: api.StatusExitNonzero, ExitCode: 3, Stdout: "hi\n", Stderr: "oops\n",
	WallMS: 12, CPUMS: 8, MemoryPeak: 3 << 20, Language: "python", Rootfs: "python@sha256:ab",
	Limits:    api.Limits{WallMS: 5000, CPUMS: 5000, MemoryBytes: 256 << 20, Pids: 64, OutputBytes: 1 << 20, TmpBytes: 64 << 20},
	CreatedAt: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC), Caller: &api.Caller{UID: 1000, GID: 1000, PID: 42},
}

// TestRoutes checks that each method sends its route's method, path, query
// and body, and decodes the route's answer.
func TestRoutes(t *testing.T) {
	req := api.RunRequest{Language: "python", Code: "print(1)", Args: []string{"a"},
		Env: map[string]string{"K": "V"}, Limits: &api.Limits{WallMS: 2000}}
	list := api.RunList{Runs: []api.RunResult{sampleResult}, Next: "01HZW"}
	info := api.Info{Version: "1.2.3", Languages: []api.LanguageInfo{{Name: "python", Rootfs: "python@sha256:ab"}},
		CgroupVersion: "v2", Seccomp: true, MaxConcurrent: 4, QueueSize: 16}
	tests := []struct {
		name       string
		call       func(context.Context, *Client) (any, error)
		method     string
		path       string // as sent, escaped
		query      string
		accept     string
		wantBody   *api.RunRequest
		respCT     string
		respBody   string
		want       any
		wantChunks []api.StreamEvent
	}{{
		name:   "run",
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Run(ctx, req) },
		method: "POST", path: "/v1/runs", accept: "application/json", wantBody: &req,
		respBody: mustJSON(t, sampleResult), want: &sampleResult,
	}, {
		name: "run stream",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.RunStream(ctx, req, func(api.StreamEvent) error { return nil })
		},
		method: "POST", path: "/v1/runs", query: "stream=1", accept: api.ContentNDJSON, wantBody: &req,
		respCT: api.ContentNDJSON, respBody: `{"stdout":"hi\n"}` + "\n" + mustJSON(t, api.StreamEvent{Result: &sampleResult}) + "\n",
		want: &sampleResult,
	}, {
		name:   "get",
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Get(ctx, "01HZX") },
		method: "GET", path: "/v1/runs/01HZX", accept: "application/json",
		respBody: mustJSON(t, sampleResult), want: &sampleResult,
	}, {
		name:   "get escapes the id",
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Get(ctx, "a/b c?d") },
		method: "GET", path: "/v1/runs/a%2Fb%20c%3Fd", accept: "application/json",
		respBody: mustJSON(t, sampleResult), want: &sampleResult,
	}, {
		name:   "list without options",
		call:   func(ctx context.Context, c *Client) (any, error) { return c.List(ctx, ListOptions{}) },
		method: "GET", path: "/v1/runs", accept: "application/json",
		respBody: mustJSON(t, list), want: &list,
	}, {
		name: "list with options",
		call: func(ctx context.Context, c *Client) (any, error) {
			return c.List(ctx, ListOptions{Limit: 20, Before: "01HZY", Status: "timeout", Language: "node"})
		},
		method: "GET", path: "/v1/runs", query: "before=01HZY&language=node&limit=20&status=timeout", accept: "application/json",
		respBody: mustJSON(t, list), want: &list,
	}, {
		name:   "info",
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Info(ctx) },
		method: "GET", path: "/v1/info", accept: "application/json",
		respBody: mustJSON(t, info), want: &info,
	}, {
		name:   "health",
		call:   func(ctx context.Context, c *Client) (any, error) { return c.Health(ctx) },
		method: "GET", path: "/healthz", accept: "application/json",
		respBody: `{"status":"ok","history":"ok"}`, want: &api.Health{Status: "ok", History: "ok"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var gotMethod, gotPath, gotQuery, gotAccept, gotCT string
			var gotBody []byte
			sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotMethod, gotPath, gotQuery = r.Method, r.URL.EscapedPath(), r.URL.RawQuery
				gotAccept, gotCT = r.Header.Get("Accept"), r.Header.Get("Content-Type")
				gotBody, _ = io.ReadAll(r.Body)
				w.Header().Set("Content-Type", "application/json")
				if tt.respCT != "" {
					w.Header().Set("Content-Type", tt.respCT)
				}
				_, _ = io.WriteString(w, tt.respBody)
			}))
			got, err := tt.call(t.Context(), New(sock))
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			if gotMethod != tt.method || gotPath != tt.path || gotQuery != tt.query {
				t.Errorf("request = %s %s?%s, want %s %s?%s", gotMethod, gotPath, gotQuery, tt.method, tt.path, tt.query)
			}
			if gotAccept != tt.accept {
				t.Errorf("Accept = %q, want %q", gotAccept, tt.accept)
			}
			if tt.wantBody == nil {
				if len(gotBody) != 0 || gotCT != "" {
					t.Errorf("body = %q (Content-Type %q), want none", gotBody, gotCT)
				}
			} else {
				if gotCT != "application/json" {
					t.Errorf("Content-Type = %q, want application/json", gotCT)
				}
				var body api.RunRequest
				dec := json.NewDecoder(strings.NewReader(string(gotBody)))
				dec.DisallowUnknownFields()
				if err := dec.Decode(&body); err != nil || !reflect.DeepEqual(&body, tt.wantBody) {
					t.Errorf("body = %s (%v), want %+v", gotBody, err, tt.wantBody)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("result = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestGetRejectsEmptyID(t *testing.T) {
	for _, id := range []string{"", ".", ".."} {
		if _, err := New("/nonexistent.sock").Get(t.Context(), id); err == nil || !strings.Contains(err.Error(), "invalid id") {
			t.Errorf("Get(%q) = %v, want an invalid id error", id, err)
		}
	}
}

func TestNewTCP(t *testing.T) {
	ts := httptest.NewServer(canned(200, "application/json", `{"version":"9"}`))
	defer ts.Close()
	info, err := NewTCP(strings.TrimPrefix(ts.URL, "http://")).Info(t.Context())
	if err != nil || info.Version != "9" {
		t.Fatalf("Info over TCP = %+v, %v; want version 9", info, err)
	}
}

func TestDialError(t *testing.T) {
	sock := t.TempDir() + "/missing.sock"
	_, err := New(sock).Info(t.Context())
	if err == nil {
		t.Fatal("Info on a missing socket succeeded")
	}
	if _, ok := asError(err); ok {
		t.Errorf("err = %#v: a dial failure must not be an *Error", err)
	}
	for _, want := range []string{"GET /v1/info", sock} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %q, want it to mention %q", err, want)
		}
	}
}

func TestNewDefaultSocket(t *testing.T) {
	if _, err := os.Stat(api.DefaultSocket); err == nil {
		t.Skipf("a daemon may be listening on %s", api.DefaultSocket)
	}
	_, err := New("").Info(t.Context())
	if err == nil || !strings.Contains(err.Error(), api.DefaultSocket) {
		t.Errorf("New(\"\").Info = %v, want a dial error naming %s", err, api.DefaultSocket)
	}
}

func TestResponseTooLarge(t *testing.T) {
	sock := serveUnix(t, canned(200, "application/json", `{"version":"`+strings.Repeat("x", 1000)+`"}`))
	c := New(sock)
	c.maxBody = 64
	if _, err := c.Info(t.Context()); err == nil || !strings.Contains(err.Error(), "larger than 64 bytes") {
		t.Errorf("Info with a 1 KB body and a 64 B cap = %v, want a size error", err)
	}
}

// TestCancel checks that cancelling the context aborts a slow call at once
// and closes the connection, which is what makes the daemon kill the jail.
func TestCancel(t *testing.T) {
	tests := []struct {
		name string
		call func(context.Context, *Client) error
	}{
		{"run", func(ctx context.Context, c *Client) error { _, err := c.Run(ctx, api.RunRequest{}); return err }},
		{"run stream", func(ctx context.Context, c *Client) error {
			_, err := c.RunStream(ctx, api.RunRequest{}, func(api.StreamEvent) error { return nil })
			return err
		}},
		{"get", func(ctx context.Context, c *Client) error { _, err := c.Get(ctx, "x"); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gone := make(chan struct{})
			sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Like the daemon, read the whole request first: net/http only
				// watches for the peer going away once the body is consumed.
				_, _ = io.ReadAll(r.Body)
				if r.URL.Query().Get("stream") == "1" { // a run that has started talking
					w.Header().Set("Content-Type", api.ContentNDJSON)
					_, _ = io.WriteString(w, `{"stdout":"tick\n"}`+"\n")
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
					close(gone)
				case <-time.After(10 * time.Second):
				}
			}))
			ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
			defer cancel()
			start := time.Now()
			err := tt.call(ctx, New(sock))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("err = %v, want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("call returned after %v, want well under 2s", d)
			}
			select {
			case <-gone:
			case <-time.After(2 * time.Second):
				t.Error("server never saw the client go away")
			}
		})
	}
}
