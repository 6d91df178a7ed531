package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/jaild/jaild/daemon/api"
)

// Eval runs a program against test cases (POST /v1/evals) and returns
// every case's verdict. Failing cases are results, not errors.
func (c *Client) Eval(ctx context.Context, req api.EvalRequest) (*api.EvalResult, error) {
	var res api.EvalResult
	if err := c.call(ctx, http.MethodPost, api.PathEvals, nil, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetEval returns a recorded eval (GET /v1/evals/{id}).
func (c *Client) GetEval(ctx context.Context, id string) (*api.EvalResult, error) {
	var res api.EvalResult
	if err := c.call(ctx, http.MethodGet, api.PathEval+url.PathEscape(id), nil, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
