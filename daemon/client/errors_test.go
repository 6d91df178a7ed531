package client

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// predicates are the helpers a caller branches on, by name.
var predicates = map[string]func(error) bool{
	"IsQueueFull":   IsQueueFull,
	"IsNotFound":    IsNotFound,
	"IsForbidden":   IsForbidden,
	"IsInvalid":     IsInvalid,
	"IsUnavailable": IsUnavailable,
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		ct     string
		body   string
		header []string
		want   Error
		is     string // the one predicate that must hold, or ""
	}{
		{"queue full", 429, "application/json", `{"error":"too many runs waiting","code":"queue_full"}`, []string{"Retry-After", "1"},
			Error{429, api.CodeQueueFull, "too many runs waiting", time.Second}, "IsQueueFull"},
		{"not found", 404, "application/json", `{"error":"no such run","code":"not_found"}`, nil,
			Error{404, api.CodeNotFound, "no such run", 0}, "IsNotFound"},
		{"forbidden", 403, "application/json", `{"error":"caller not allowed","code":"forbidden"}`, nil,
			Error{403, api.CodeForbidden, "caller not allowed", 0}, "IsForbidden"},
		{"unknown language", 400, "application/json", `{"error":"unknown language \"ruby\"","code":"unknown_language"}`, nil,
			Error{400, api.CodeUnknownLanguage, `unknown language "ruby"`, 0}, "IsInvalid"},
		{"body too large", 413, "application/json", `{"error":"request body is larger than 10 bytes","code":"body_too_large"}`, nil,
			Error{413, api.CodeBodyTooLarge, "request body is larger than 10 bytes", 0}, "IsInvalid"},
		{"unsupported media type", 415, "application/json", `{"error":"content type \"text/plain\": want application/json","code":"invalid_request"}`, nil,
			Error{415, api.CodeInvalidRequest, `content type "text/plain": want application/json`, 0}, "IsInvalid"},
		{"unprocessable, plain text", 422, "text/plain", "bad thing\n", nil,
			Error{422, "", "bad thing", 0}, "IsInvalid"},
		{"unavailable", 503, "application/json", `{"error":"daemon is shutting down","code":"unavailable"}`, []string{"Retry-After", "5"},
			Error{503, api.CodeUnavailable, "daemon is shutting down", 5 * time.Second}, "IsUnavailable"},
		{"internal", 500, "application/json", `{"error":"internal error: disk full","code":"internal"}`, nil,
			Error{500, api.CodeInternal, "internal error: disk full", 0}, ""},
		{"html from a proxy", 502, "text/html", "<html>\n  <h1>Bad Gateway</h1>\n</html>\n", nil,
			Error{502, "", "<html> <h1>Bad Gateway</h1> </html>", 0}, ""},
		{"empty body", 500, "", "", nil,
			Error{500, "", "internal server error", 0}, ""},
		{"JSON that is not an api.Error", 500, "application/json", `{"oops":1}`, nil,
			Error{500, "", `{"oops":1}`, 0}, ""},
		{"long body is cut", 500, "text/plain", strings.Repeat("x", 1000), nil,
			Error{500, "", strings.Repeat("x", 256) + "…", 0}, ""},
		{"cut falls inside a rune", 500, "text/plain", "x" + strings.Repeat("é", 300), nil,
			Error{500, "", "x" + strings.Repeat("é", 127) + "…", 0}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := serveUnix(t, canned(tt.status, tt.ct, tt.body, tt.header...))
			_, err := New(sock).Info(t.Context())
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("err = %v (%T), want an *Error", err, err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("error = %#v, want %#v", *got, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "GET /v1/info: ") {
				t.Errorf("err = %q, want it to name the route", err)
			}
			for name, is := range predicates {
				if got, want := is(err), name == tt.is; got != want {
					t.Errorf("%s(err) = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{429, "queue_full", "too many runs waiting", 2 * time.Second}, "too many runs waiting (queue_full, HTTP 429, retry after 2s)"},
		{Error{404, "not_found", "no such run", 0}, "no such run (not_found, HTTP 404)"},
		{Error{502, "", "bad gateway", 0}, "bad gateway (HTTP 502)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestPredicatesOnOtherErrors(t *testing.T) {
	for _, err := range []error{nil, errors.New("dial unix: no such file"), ErrNoResult} {
		for name, is := range predicates {
			if is(err) {
				t.Errorf("%s(%v) = true, want false", name, err)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 30 ", 30 * time.Second},
		{"-4", 0},
		{"soon", 0},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.header, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %v, want %v", tt.header, got, tt.want)
		}
	}
}

// TestRunErrors checks that the run routes map errors the same way.
func TestRunErrors(t *testing.T) {
	sock := serveUnix(t, canned(429, "application/json", `{"error":"too many runs waiting","code":"queue_full"}`, "Retry-After", "1"))
	c := New(sock)
	if _, err := c.Run(t.Context(), api.RunRequest{}); !IsQueueFull(err) {
		t.Errorf("Run: err = %v, want queue full", err)
	}
	_, err := c.RunStream(t.Context(), api.RunRequest{}, func(api.StreamEvent) error {
		t.Error("fn called for an error response")
		return nil
	})
	if !IsQueueFull(err) {
		t.Errorf("RunStream: err = %v, want queue full", err)
	}
}

func TestHealthErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantHealth *api.Health
		wantErr    *Error
	}{
		{"healthy", 200, `{"status":"ok","history":"ok"}`, &api.Health{Status: "ok", History: "ok"}, nil},
		{"unhealthy returns both", 503, `{"status":"unavailable","reason":"no cgroup v2","history":"ok"}`,
			&api.Health{Status: "unavailable", Reason: "no cgroup v2", History: "ok"},
			&Error{503, api.CodeUnavailable, "daemon is unavailable: no cgroup v2", 0}},
		{"unhealthy without a reason", 503, `{"status":"unavailable"}`,
			&api.Health{Status: "unavailable"}, &Error{503, api.CodeUnavailable, "daemon is unavailable", 0}},
		{"503 with an api.Error body", 503, `{"error":"daemon is shutting down","code":"unavailable"}`,
			nil, &Error{503, api.CodeUnavailable, "daemon is shutting down", 0}},
		{"other status", 500, "boom", nil, &Error{500, "", "boom", 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock := serveUnix(t, canned(tt.status, "application/json", tt.body))
			h, err := New(sock).Health(t.Context())
			if !reflect.DeepEqual(h, tt.wantHealth) {
				t.Errorf("health = %+v, want %+v", h, tt.wantHealth)
			}
			var got *Error
			errors.As(err, &got)
			if !reflect.DeepEqual(got, tt.wantErr) {
				t.Errorf("error = %#v (%v), want %#v", got, err, tt.wantErr)
			}
			if tt.status == 503 && !IsUnavailable(err) {
				t.Errorf("IsUnavailable(%v) = false, want true", err)
			}
		})
	}
}
