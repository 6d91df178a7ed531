package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

const (
	// maxResponseBytes caps a decoded response body and each line of a run
	// stream. A result carries two output streams, each at most the daemon's
	// output limit and a third larger when base64-encoded; 64 MiB covers any
	// sane limit while keeping a broken or hostile peer from exhausting memory.
	maxResponseBytes = 64 << 20
	// maxErrorBytes caps what is read of a non-2xx body: api.Error is a
	// sentence and a code.
	maxErrorBytes = 64 << 10
)

// Client talks to one jaild daemon. It is safe for concurrent use. Calls
// have no timeout of their own: a run takes as long as its wall limit
// (plus queueing), so bound them with the context instead.
type Client struct {
	base    string // scheme and host that every path is appended to
	hc      *http.Client
	maxBody int64 // per body, and per stream line
}

// New returns a client of the daemon listening on the Unix socket at
// socketPath, or api.DefaultSocket when socketPath is empty.
func New(socketPath string) *Client {
	if socketPath == "" {
		socketPath = api.DefaultSocket
	}
	var d net.Dialer
	return newClient("http://jaild", &http.Transport{
		// The URL's host is a placeholder: every connection goes to the socket.
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socketPath)
		},
	})
}

// NewTCP returns a client of the daemon's loopback TCP listener at addr,
// such as "127.0.0.1:7070".
func NewTCP(addr string) *Client {
	var d net.Dialer
	return newClient("http://"+addr, &http.Transport{DialContext: d.DialContext})
}

func newClient(base string, tr *http.Transport) *Client {
	// Proxy stays nil: run requests carry source code and must never be
	// sent to an HTTP_PROXY from the environment.
	tr.MaxIdleConnsPerHost = 4
	tr.IdleConnTimeout = 30 * time.Second
	return &Client{base: base, hc: &http.Client{Transport: tr}, maxBody: maxResponseBytes}
}

// send makes one request and returns the response whatever its status.
// Errors name the route, not the placeholder URL.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any, accept string) (*http.Response, error) {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	res, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // drop the placeholder URL; the route says where
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return res, nil
}

// call makes one JSON request and decodes a 2xx body into out; any other
// status is an *Error.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	res, err := c.send(ctx, method, path, query, in, "application/json")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if !success(res.StatusCode) {
		return fmt.Errorf("%s %s: %w", method, path, responseError(res))
	}
	if err := decodeBody(res.Body, c.maxBody, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

func success(status int) bool { return status >= 200 && status < 300 }

// decodeBody decodes one JSON value of at most limit bytes.
func decodeBody(r io.Reader, limit int64, out any) error {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	if int64(len(b)) > limit {
		return fmt.Errorf("read response: body is larger than %d bytes", limit)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}
