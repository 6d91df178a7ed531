package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/jaild/jaild/daemon/api"
)

// Run runs a script and waits for its result (POST /v1/runs). A script that
// fails, times out or is killed is a result, not an error: check
// RunResult.Status.
func (c *Client) Run(ctx context.Context, req api.RunRequest) (*api.RunResult, error) {
	var res api.RunResult
	if err := c.call(ctx, http.MethodPost, api.PathRuns, nil, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RunStream runs a script and streams its output (POST /v1/runs?stream=1).
// fn is called with each output chunk, in the order the daemon sent them;
// the final result line is returned, not passed to fn, which may be nil to
// wait for the result alone. If fn returns an
// error, the run is abandoned (the daemon kills the jail) and RunStream
// returns that error unchanged. A stream that ends before its result is
// ErrNoResult.
func (c *Client) RunStream(ctx context.Context, req api.RunRequest, fn func(api.StreamEvent) error) (*api.RunResult, error) {
	const method, path = http.MethodPost, api.PathRuns
	res, err := c.send(ctx, method, path, url.Values{"stream": {"1"}}, req, api.ContentNDJSON)
	if err != nil {
		return nil, err
	}
	// Closing the body early, when fn fails, closes the connection rather
	// than draining it: that is what tells the daemon to kill the jail.
	defer res.Body.Close()
	if !success(res.StatusCode) {
		return nil, fmt.Errorf("%s %s: %w", method, path, responseError(res))
	}
	if mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type")); mt != api.ContentNDJSON {
		return nil, fmt.Errorf("%s %s: response is %q, not a stream (%s)", method, path,
			res.Header.Get("Content-Type"), api.ContentNDJSON)
	}
	sc := bufio.NewScanner(res.Body)
	// The line cap is the larger of max and the initial buffer's capacity.
	sc.Buffer(make([]byte, 0, min(64<<10, c.maxBody)), int(c.maxBody))
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var ev api.StreamEvent
		if err := json.Unmarshal(line, &ev); err != nil {
			return nil, fmt.Errorf("%s %s: decode stream line %d: %w", method, path, n, err)
		}
		if ev.Result != nil {
			return ev.Result, nil
		}
		if fn == nil {
			continue
		}
		if err := fn(ev); err != nil {
			return nil, err
		}
	}
	err = sc.Err()
	switch {
	case ctx.Err() != nil:
		err = ctx.Err()
	case errors.Is(err, bufio.ErrTooLong):
		err = fmt.Errorf("stream line is larger than %d bytes", c.maxBody)
	case err == nil:
		err = ErrNoResult
	default:
		err = fmt.Errorf("%w: %w", ErrNoResult, err)
	}
	return nil, fmt.Errorf("%s %s: %w", method, path, err)
}

// Get returns one run from history, with its output (GET /v1/runs/{id}).
// An unknown ID is an error for which IsNotFound is true.
func (c *Client) Get(ctx context.Context, id string) (*api.RunResult, error) {
	if id == "" || id == "." || id == ".." {
		// These would name another route, or be cleaned away by the server's mux.
		return nil, fmt.Errorf("get run: invalid id %q", id)
	}
	var res api.RunResult
	if err := c.call(ctx, http.MethodGet, api.PathRun+url.PathEscape(id), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ListOptions filter a page of history. Zero fields are left out of the
// query and take the daemon's defaults.
type ListOptions struct {
	Limit    int    // at most this many runs
	Before   string // only runs older than this ID: RunList.Next of the previous page
	Status   string // only runs with this status, one of api.Status*
	Language string // only runs of this language
}

// List returns one page of history, newest first (GET /v1/runs). Runs in a
// list carry no output; Get one for it.
func (c *Client) List(ctx context.Context, opts ListOptions) (*api.RunList, error) {
	q := url.Values{}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	for k, v := range map[string]string{"before": opts.Before, "status": opts.Status, "language": opts.Language} {
		if v != "" {
			q.Set(k, v)
		}
	}
	var list api.RunList
	if err := c.call(ctx, http.MethodGet, api.PathRuns, q, nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}
