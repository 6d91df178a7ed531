package client

import (
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// streamOf answers with the given NDJSON lines, flushing after each like
// the daemon does as output arrives.
func streamOf(contentType string, lines ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", contentType)
		for _, l := range lines {
			_, _ = io.WriteString(w, l+"\n")
			w.(http.Flusher).Flush()
		}
	}
}

func TestRunStream(t *testing.T) {
	final := `{"result":{"id":"01A","status":"ok","exit_code":0,"stdout":"a\nb\n","stderr":"warn\n"}}`
	tests := []struct {
		name       string
		ct         string
		lines      []string
		maxBody    int64
		wantChunks []api.StreamEvent
		wantID     string
		wantErr    string // substring; "" for success
		wantIs     error
	}{{
		name: "chunks then result",
		ct:   api.ContentNDJSON,
		lines: []string{`{"stdout":"a\n"}`, `{"stderr":"warn\n"}`, ``, `{"stdout_base64":"/w=="}`, `{"stdout":"b\n"}`,
			final, `{"stdout":"after the result, ignored"}`},
		wantChunks: []api.StreamEvent{{Stdout: "a\n"}, {Stderr: "warn\n"}, {StdoutBase64: "/w=="}, {Stdout: "b\n"}},
		wantID:     "01A",
	}, {
		name:   "media type with parameters",
		ct:     api.ContentNDJSON + "; charset=utf-8",
		lines:  []string{final},
		wantID: "01A",
	}, {
		name:       "stream ends without a result",
		ct:         api.ContentNDJSON,
		lines:      []string{`{"stdout":"a\n"}`},
		wantChunks: []api.StreamEvent{{Stdout: "a\n"}},
		wantErr:    "stream ended without a result",
		wantIs:     ErrNoResult,
	}, {
		name:    "empty stream",
		ct:      api.ContentNDJSON,
		wantErr: "stream ended without a result",
		wantIs:  ErrNoResult,
	}, {
		name:       "bad line",
		ct:         api.ContentNDJSON,
		lines:      []string{`{"stdout":"a\n"}`, `{"stdout":`},
		wantChunks: []api.StreamEvent{{Stdout: "a\n"}},
		wantErr:    "decode stream line 2",
	}, {
		name:    "not a stream",
		ct:      "application/json",
		lines:   []string{`{"id":"01A","status":"ok"}`},
		wantErr: `response is "application/json", not a stream`,
	}, {
		name:    "line over the cap",
		ct:      api.ContentNDJSON,
		lines:   []string{`{"stdout":"` + strings.Repeat("x", 200) + `"}`, final},
		maxBody: 100,
		wantErr: "stream line is larger than 100 bytes",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(serveUnix(t, streamOf(tt.ct, tt.lines...)))
			if tt.maxBody > 0 {
				c.maxBody = tt.maxBody
			}
			var chunks []api.StreamEvent
			res, err := c.RunStream(t.Context(), api.RunRequest{Language: "python", Code: "x"}, func(ev api.StreamEvent) error {
				chunks = append(chunks, ev)
				return nil
			})
			if !reflect.DeepEqual(chunks, tt.wantChunks) {
				t.Errorf("chunks = %+v, want %+v", chunks, tt.wantChunks)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
				}
				if res != nil {
					t.Errorf("result = %+v with an error, want nil", res)
				}
				return
			}
			if err != nil {
				t.Fatalf("RunStream: %v", err)
			}
			if res.ID != tt.wantID {
				t.Errorf("result ID = %q, want %q", res.ID, tt.wantID)
			}
		})
	}
}

// TestRunStreamCallbackError checks that an error from fn abandons the run:
// it comes back unchanged and the connection closes, so the daemon kills
// the jail.
func TestRunStreamCallbackError(t *testing.T) {
	gone := make(chan struct{})
	sock := serveUnix(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", api.ContentNDJSON)
		_, _ = io.WriteString(w, `{"stdout":"a"}`+"\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
			close(gone)
		case <-time.After(10 * time.Second):
		}
	}))
	stop := errors.New("stop")
	_, err := New(sock).RunStream(t.Context(), api.RunRequest{}, func(api.StreamEvent) error { return stop })
	if err != stop {
		t.Errorf("err = %v, want fn's error unchanged", err)
	}
	select {
	case <-gone:
	case <-time.After(2 * time.Second):
		t.Error("server never saw the client go away")
	}
}

func TestRunStreamNilCallback(t *testing.T) {
	c := New(serveUnix(t, streamOf(api.ContentNDJSON, `{"stdout":"a"}`, `{"result":{"id":"01A","status":"ok"}}`)))
	res, err := c.RunStream(t.Context(), api.RunRequest{}, nil)
	if err != nil || res.ID != "01A" {
		t.Errorf("RunStream(nil fn) = %+v, %v; want the result", res, err)
	}
}
