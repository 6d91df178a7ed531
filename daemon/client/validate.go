package client

import (
	"context"
	"net/http"

	"github.com/jaild/jaild/daemon/api"
)

// Validate runs the static checks of a profile on code without running
// it (POST /v1/validate). Findings, a syntax error included, come in the
// result with OK false; an error means the request itself failed.
func (c *Client) Validate(ctx context.Context, req api.ValidateRequest) (*api.ValidateResult, error) {
	var res api.ValidateResult
	if err := c.call(ctx, http.MethodPost, api.PathValidate, nil, req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
