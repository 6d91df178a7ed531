package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jaild/jaild/daemon/api"
)

// ErrNoResult is returned by RunStream when the stream ends before its
// final result line: the connection broke or the daemon died mid-run, and
// the run's outcome is unknown to the caller.
var ErrNoResult = errors.New("stream ended without a result")

// Error is a non-2xx response from the daemon. Code and Message come from
// the api.Error body; when the body is not one (a proxy, a panic page, an
// older daemon), Code is empty and Message is the start of the body.
type Error struct {
	StatusCode int           // HTTP status
	Code       string        // api.Code*, or "" when the body was not an api.Error
	Message    string        // the daemon's sentence, or a trimmed snippet of the body
	RetryAfter time.Duration // from Retry-After (429, 503); 0 when absent
}

// ValidationError is a 422 validation_failed: the profile's static checks
// refused the code before any jail ran it. errors.As finds it; it also
// unwraps to the *Error.
type ValidationError struct {
	Err      *Error
	Findings []api.Finding
}

func (e *ValidationError) Error() string { return e.Err.Error() }
func (e *ValidationError) Unwrap() error { return e.Err }

// Findings returns the static-check findings carried by err (422), or nil.
func Findings(err error) []api.Finding {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Findings
	}
	return nil
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	b.WriteString(" (")
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(", ")
	}
	fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, ", retry after %v", e.RetryAfter)
	}
	b.WriteString(")")
	return b.String()
}

// IsQueueFull reports whether err is the daemon refusing a run because its
// queue is full (429); Error.RetryAfter says when to try again.
func IsQueueFull(err error) bool {
	e, ok := asError(err)
	return ok && (e.StatusCode == http.StatusTooManyRequests || e.Code == api.CodeQueueFull)
}

// IsNotFound reports whether err is a 404, such as an unknown run ID.
func IsNotFound(err error) bool {
	e, ok := asError(err)
	return ok && (e.StatusCode == http.StatusNotFound || e.Code == api.CodeNotFound)
}

// IsForbidden reports whether err is the daemon refusing this caller (403).
func IsForbidden(err error) bool {
	e, ok := asError(err)
	return ok && (e.StatusCode == http.StatusForbidden || e.Code == api.CodeForbidden)
}

// IsPolicyDenied reports whether the operator policy refused the request
// (403 policy_denied): the caller may not use that profile, or at all.
func IsPolicyDenied(err error) bool {
	e, ok := asError(err)
	return ok && e.Code == api.CodePolicyDenied
}

// IsValidationFailed reports whether the profile's static checks refused
// the code (422 validation_failed); the findings are in err's Findings.
func IsValidationFailed(err error) bool {
	e, ok := asError(err)
	return ok && (e.Code == api.CodeValidationFailed || e.StatusCode == http.StatusUnprocessableEntity)
}

// IsInvalid reports whether err is the daemon rejecting the request itself
// (400, 413, 415, 422): retrying it unchanged cannot succeed.
func IsInvalid(err error) bool {
	e, ok := asError(err)
	if !ok {
		return false
	}
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		return true
	}
	switch e.Code {
	case api.CodeInvalidRequest, api.CodeUnknownLanguage, api.CodeLimitOutOfRange, api.CodeBodyTooLarge,
		api.CodeEnvNotAllowed, api.CodeValidationFailed:
		return true
	}
	return false
}

// IsUnavailable reports whether err is the daemon unable to run jails or
// shutting down (503).
func IsUnavailable(err error) bool {
	e, ok := asError(err)
	return ok && (e.StatusCode == http.StatusServiceUnavailable || e.Code == api.CodeUnavailable)
}

func asError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// responseError reads a non-2xx response into an *Error, or a
// *ValidationError around it for 422 with findings.
func responseError(res *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(res.Body, maxErrorBytes))
	e := bodyError(res, b)
	var ae api.Error
	if e.Code == api.CodeValidationFailed && json.Unmarshal(b, &ae) == nil && len(ae.Findings) > 0 {
		return &ValidationError{Err: e, Findings: ae.Findings}
	}
	return e
}

func bodyError(res *http.Response, body []byte) *Error {
	e := &Error{StatusCode: res.StatusCode, RetryAfter: retryAfter(res.Header.Get("Retry-After"), time.Now())}
	var ae api.Error
	if json.Unmarshal(body, &ae) == nil && (ae.Code != "" || ae.Message != "") {
		e.Code, e.Message = ae.Code, ae.Message
	} else {
		e.Message = snippet(body)
	}
	if e.Message == "" {
		e.Message = strings.ToLower(http.StatusText(res.StatusCode))
	}
	return e
}

// snippet is the start of a body that is not an api.Error, trimmed and
// made printable enough for an error message.
func snippet(b []byte) string {
	const max = 256
	// One line, whatever the page looked like.
	s := strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "\uFFFD")), " ")
	if len(s) > max {
		cut := max
		for !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}

// retryAfter parses a Retry-After header: delay-seconds, as jaild sends,
// or an HTTP date (RFC 9110 §10.2.3).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(s, 0)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now).Round(time.Second)
	}
	return 0
}
