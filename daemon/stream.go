package daemon

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// streamer writes a run as NDJSON: output chunks as the jail writes them,
// then the result. Chunks are cut at UTF-8 boundaries (an incomplete
// sequence at a chunk's end waits for the next), and bytes that are not
// UTF-8 travel base64-encoded, never replaced.
//
// Chunks are written from the runner's output-draining goroutine, so a
// client that keeps its connection open but stops reading would block that
// goroutine, and with it the jail's teardown, the run's admission slot and
// a SIGTERM drain, for as long as it likes. Each write therefore has a
// deadline; past it the stream is abandoned (the run goes on and is
// recorded in history with its whole output).
type streamer struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	enc     *json.Encoder
	rc      *http.ResponseController
	timeout time.Duration // per write
	pending [3][]byte     // per stream: the start of an incomplete rune
	broken  bool          // the client stopped reading
}

// streamWriteTimeout is how long one stream write may wait for a client
// to read: far longer than any reading client needs.
const streamWriteTimeout = 10 * time.Second

// newStreamer sends the 200 and the run's ID as the first line.
func newStreamer(w http.ResponseWriter, id string, timeout time.Duration) *streamer {
	w.Header().Set("Content-Type", api.ContentNDJSON)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	s := &streamer{w: w, enc: json.NewEncoder(w), rc: http.NewResponseController(w), timeout: timeout}
	s.send(api.StreamEvent{ID: id})
	return s
}

// send writes one line and flushes it, giving up on a client that does
// not take it within the timeout.
func (s *streamer) send(ev api.StreamEvent) {
	if s.broken {
		return
	}
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.timeout))
	if err := s.enc.Encode(ev); err != nil {
		s.broken = true
		return
	}
	if err := s.rc.Flush(); err != nil {
		s.broken = true
	}
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
	s.send(ev)
}

// finish flushes held-back bytes and writes the final result line.
func (s *streamer) finish(res *api.RunResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, st := range []jail.Stream{jail.Stdout, jail.Stderr} {
		s.emit(st, s.pending[st])
		s.pending[st] = nil
	}
	s.send(api.StreamEvent{Result: res})
}
