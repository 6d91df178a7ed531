package container

import (
	"errors"
	"io"
	"sync"
)

// capture drains r to EOF, keeping the first max bytes and counting the
// rest. It never stops reading before EOF so a chatty jail cannot block on
// a full pipe; the jail is not killed for talking too much.
type capture struct {
	max     int64
	notify  func([]byte) // receives each kept chunk; may be nil
	mu      sync.Mutex
	buf     []byte
	dropped int64
	done    chan struct{}
	err     error
}

func newCapture(r io.Reader, max int64, notify func([]byte)) *capture {
	c := &capture{max: max, notify: notify, done: make(chan struct{})}
	go c.drain(r)
	return c
}

func (c *capture) drain(r io.Reader) {
	defer close(c.done)
	chunk := make([]byte, 64<<10)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			if kept := c.write(chunk[:n]); len(kept) > 0 && c.notify != nil {
				c.notify(kept)
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.err = err
			}
			return
		}
	}
}

// write keeps what fits under max and returns the kept part (aliasing
// the buffer: callers must not retain it past the next write).
func (c *capture) write(p []byte) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.max - int64(len(c.buf))
	if room < 0 {
		room = 0
	}
	keep := int64(len(p))
	if keep > room {
		keep = room
	}
	start := len(c.buf)
	c.buf = append(c.buf, p[:keep]...)
	c.dropped += int64(len(p)) - keep
	return c.buf[start:]
}

// wait blocks until EOF and returns what was kept and the dropped count.
func (c *capture) wait() ([]byte, int64, error) {
	<-c.done
	return c.buf, c.dropped, c.err
}
