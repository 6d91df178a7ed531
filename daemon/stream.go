package daemon

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
	"unicode/utf8"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// streamer writes a run as NDJSON: output chunks as the jail writes them,
// then the result. Chunks are cut at UTF-8 boundaries (an incomplete
// sequence at a chunk's end waits for the next), and bytes that are not
// UTF-8 travel base64-encoded, never replaced.
type streamer struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	rc      *http.ResponseController
	pending [3][]byte // per stream: the start of an incomplete rune
	broken  bool      // the client stopped reading
}

// newStreamer sends the 200 and the run's ID as the first line.
func newStreamer(w http.ResponseWriter, id string) *streamer {
	w.Header().Set("Content-Type", api.ContentNDJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	s := &streamer{w: w, enc: json.NewEncoder(w), rc: http.NewResponseController(w)}
	if err := s.enc.Encode(api.StreamEvent{ID: id}); err != nil {
		s.broken = true
	}
	_ = s.rc.Flush()
	return s
}

// chunk is the jail.Spec.Output callback.
func (s *streamer) chunk(st jail.Stream, p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := append(s.pending[st], p...)
	cut := len(b)
	// Hold back a trailing incomplete rune (at most 3 bytes).
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				cut = len(b) - i
			}
			break
		}
	}
	s.pending[st] = append([]byte(nil), b[cut:]...)
	s.emit(st, b[:cut])
}

func (s *streamer) emit(st jail.Stream, b []byte) {
	if len(b) == 0 || s.broken {
		return
	}
	var ev api.StreamEvent
	text, b64 := string(b), ""
	if !utf8.Valid(b) {
		text, b64 = "", base64.StdEncoding.EncodeToString(b)
	}
	if st == jail.Stdout {
		ev.Stdout, ev.StdoutBase64 = text, b64
	} else {
		ev.Stderr, ev.StderrBase64 = text, b64
	}
	if err := s.enc.Encode(ev); err != nil {
		s.broken = true
		return
	}
	_ = s.rc.Flush()
}

// finish flushes held-back bytes and writes the final result line.
func (s *streamer) finish(res *api.RunResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range []jail.Stream{jail.Stdout, jail.Stderr} {
		s.emit(st, s.pending[st])
		s.pending[st] = nil
	}
	if !s.broken {
		_ = s.enc.Encode(api.StreamEvent{Result: res})
		_ = s.rc.Flush()
	}
}
