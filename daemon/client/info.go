package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/jaild/jaild/daemon/api"
)

// Info returns the daemon's version, languages, limits and load
// (GET /v1/info).
func (c *Client) Info(ctx context.Context) (*api.Info, error) {
	var info api.Info
	if err := c.call(ctx, http.MethodGet, api.PathInfo, nil, nil, &info); err != nil {
		return nil, err
	}
	return &info, nil
}

// Health returns the daemon's health (GET /healthz). An unhealthy daemon
// answers 503 with a Health body: Health then returns that body AND an
// *Error for which IsUnavailable is true, so callers that only check err
// see the failure and callers that want the reason still get it.
func (c *Client) Health(ctx context.Context) (*api.Health, error) {
	const method, path = http.MethodGet, api.PathHealth
	res, err := c.send(ctx, method, path, nil, nil, "application/json")
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var h api.Health
	if success(res.StatusCode) {
		if err := decodeBody(res.Body, c.maxBody, &h); err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		return &h, nil
	}
	body, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
	e := bodyError(res, body)
	if res.StatusCode != http.StatusServiceUnavailable ||
		json.Unmarshal(body, &h) != nil || h.Status == "" {
		return nil, fmt.Errorf("%s %s: %w", method, path, e)
	}
	// The 503 body is a Health, not an api.Error: say what it says.
	if e.Code == "" {
		e.Code = api.CodeUnavailable
		e.Message = "daemon is " + h.Status
		if h.Reason != "" {
			e.Message += ": " + h.Reason
		}
	}
	return &h, fmt.Errorf("%s %s: %w", method, path, e)
}
