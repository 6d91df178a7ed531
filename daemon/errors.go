package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

// Sentinel errors of the daemon; toHTTP maps each to a status and code.
var (
	ErrQueueFull    = errors.New("too many runs waiting")
	ErrShuttingDown = errors.New("daemon is shutting down")
	ErrNotFound     = errors.New("no such run")
	ErrForbidden    = errors.New("caller not allowed")
	ErrNoRootfs     = errors.New("no rootfs for language")
)

// requestError is a bad request: its code and sentence go to the client.
type requestError struct {
	status int
	code   string
	msg    string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(code, format string, args ...any) error {
	return &requestError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

// toHTTP is the one place errors become HTTP statuses and API codes.
func toHTTP(err error) (int, api.Error) {
	var re *requestError
	var mbe *http.MaxBytesError
	var ve *validationError
	switch {
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity, api.Error{Code: api.CodeValidationFailed, Message: ve.Error(), Findings: ve.findings}
	case errors.Is(err, policy.ErrDenied):
		return http.StatusForbidden, api.Error{Code: api.CodePolicyDenied, Message: err.Error()}
	case errors.Is(err, policy.ErrLanguageMismatch):
		return http.StatusBadRequest, api.Error{Code: api.CodeInvalidRequest, Message: err.Error()}
	case errors.Is(err, ErrQuotaExceeded):
		return http.StatusTooManyRequests, api.Error{Code: api.CodeQuotaExceeded, Message: err.Error()}
	case errors.As(err, &re):
		return re.status, api.Error{Message: re.msg, Code: re.code}
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, api.Error{Code: api.CodeBodyTooLarge,
			Message: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)}
	case errors.Is(err, jail.ErrInvalidSpec):
		return http.StatusBadRequest, api.Error{Code: api.CodeInvalidRequest, Message: err.Error()}
	case errors.Is(err, ErrQueueFull):
		return http.StatusTooManyRequests, api.Error{Code: api.CodeQueueFull, Message: err.Error()}
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: err.Error()}
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden, api.Error{Code: api.CodeForbidden, Message: err.Error()}
	case errors.Is(err, ErrShuttingDown), errors.Is(err, ErrNoRootfs), errors.Is(err, jail.ErrUnavailable):
		return http.StatusServiceUnavailable, api.Error{Code: api.CodeUnavailable, Message: err.Error()}
	}
	return http.StatusInternalServerError, api.Error{Code: api.CodeInternal, Message: "internal error: " + err.Error()}
}

// writeError sends err as a JSON API error.
func writeError(w http.ResponseWriter, err error) {
	status, body := toHTTP(err)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
	// On the wire before the handler returns: shutdown closes connections
	// right after the last run's handler is done.
	_ = http.NewResponseController(w).Flush()
}
