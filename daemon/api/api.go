package api

import "time"

// Paths and defaults.
const (
	DefaultSocket = "/run/jaild/jaild.sock"
	PathRuns      = "/v1/runs"  // POST: run; GET: history
	PathRun       = "/v1/runs/" // GET /v1/runs/{id}
	PathInfo      = "/v1/info"
	PathHealth    = "/healthz"
	PathValidate  = "/v1/validate" // POST: static checks of code, nothing runs it
	PathMetrics   = "/metrics"
	// ContentNDJSON is the media type of a streamed run (?stream=1).
	ContentNDJSON = "application/x-ndjson"
	// Query parameters: POST /v1/runs?stream=1; GET /v1/runs?limit=&before=&status=&language=.
	QueryStream   = "stream"
	QueryLimit    = "limit"
	QueryBefore   = "before"
	QueryStatus   = "status"
	QueryLanguage = "language"
)

// File encodings.
const (
	EncodingUTF8   = "utf8"
	EncodingBase64 = "base64"
)

// File is one file placed in the run's work directory.
type File struct {
	Name     string `json:"name"`               // relative path, no "..", not absolute
	Content  string `json:"content"`            // text, or base64 when Encoding is "base64"
	Encoding string `json:"encoding,omitempty"` // "utf8" (default) or "base64"
}

// Limits of one run. In a request, zero or omitted fields take the
// daemon's defaults; in a result, every field is the effective value.
type Limits struct {
	WallMS      int64 `json:"wall_ms,omitempty" toml:"wall_ms"`
	CPUMS       int64 `json:"cpu_ms,omitempty" toml:"cpu_ms"`
	MemoryBytes int64 `json:"memory_bytes,omitempty" toml:"memory_bytes"`
	Pids        int64 `json:"pids,omitempty" toml:"pids"`
	OutputBytes int64 `json:"output_bytes,omitempty" toml:"output_bytes"`
	TmpBytes    int64 `json:"tmp_bytes,omitempty" toml:"tmp_bytes"`
}

// RunRequest is the body of POST /v1/runs. Exactly one of Code or Files is
// given; with Files, Entrypoint names the file to run.
type RunRequest struct {
	Language string `json:"language"` // "python" or "node"; may be left out when Profile is given
	// Profile names the operator policy's profile; "" picks the one named
	// like the language when the caller may use it.
	Profile    string `json:"profile,omitempty"`
	Code       string `json:"code,omitempty"`
	Files      []File `json:"files,omitempty"`
	Entrypoint string `json:"entrypoint,omitempty"`
	Stdin      string `json:"stdin,omitempty"`
	// StdinBase64 carries binary standard input; give Stdin or this.
	StdinBase64 string            `json:"stdin_base64,omitempty"`
	Args        []string          `json:"args,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Limits      *Limits           `json:"limits,omitempty"`
}

// Run statuses: the engine's verdicts plus aborted, given to runs that were
// in flight when the daemon died.
const (
	StatusOK            = "ok"
	StatusExitNonzero   = "exit_nonzero"
	StatusTimeout       = "timeout"
	StatusCPULimit      = "cpu_limit"
	StatusOOM           = "oom"
	StatusSignaled      = "signaled"
	StatusInternalError = "internal_error"
	StatusAborted       = "aborted"
	StatusRunning       = "running" // only in history, while the run is in flight
)

// Caller is the peer that submitted a run, from SO_PEERCRED.
type Caller struct {
	UID uint32 `json:"uid"`
	GID uint32 `json:"gid"`
	PID int32  `json:"pid"`
}

// RunResult is the outcome of one run, returned with 200 whatever the
// script did. Output that is not valid UTF-8 is given exactly in the
// *_base64 field alongside the plain one (which has U+FFFD replacements),
// never mangled silently.
type RunResult struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	ExitCode int    `json:"exit_code"`
	Signal   string `json:"signal,omitempty"`
	// Syscall is the syscall a seccomp kill (SIGSYS) was for, when the
	// kernel logged it.
	Syscall       string    `json:"syscall,omitempty"`
	Stdout        string    `json:"stdout"`
	Stderr        string    `json:"stderr"`
	StdoutBase64  string    `json:"stdout_base64,omitempty"`
	StderrBase64  string    `json:"stderr_base64,omitempty"`
	StdoutDropped int64     `json:"stdout_dropped_bytes"`
	StderrDropped int64     `json:"stderr_dropped_bytes"`
	WallMS        int64     `json:"wall_ms"`
	CPUMS         int64     `json:"cpu_ms"`
	MemoryPeak    int64     `json:"memory_peak_bytes"`
	Language      string    `json:"language"`
	Rootfs        string    `json:"rootfs"` // name@sha256:…
	Limits        Limits    `json:"limits"`
	CreatedAt     time.Time `json:"created_at"`
	QueueMS       int64     `json:"queue_ms"`
	Caller        *Caller   `json:"caller,omitempty"`
	CodeSHA256    string    `json:"code_sha256,omitempty"`
	Error         string    `json:"error,omitempty"` // why, for internal_error and aborted
	// Profile and PolicyDigest ("sha256:…" of the policy file) say which
	// operator rules the run was admitted under.
	Profile      string `json:"profile,omitempty"`
	PolicyDigest string `json:"policy_digest,omitempty"`
	// Findings of the static checks when the profile's mode is "report".
	Findings []Finding `json:"findings,omitempty"`
}

// Finding is one static-check result; Line and Column are 1-based (0 when
// unknown).
type Finding struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// ValidateRequest is the body of POST /v1/validate: the code part of a
// RunRequest.
type ValidateRequest struct {
	Language   string `json:"language"`
	Profile    string `json:"profile,omitempty"`
	Code       string `json:"code,omitempty"`
	Files      []File `json:"files,omitempty"`
	Entrypoint string `json:"entrypoint,omitempty"`
}

// ValidateResult is the answer of POST /v1/validate (200 whatever the
// findings; a syntax error is a finding).
type ValidateResult struct {
	OK           bool      `json:"ok"`
	Findings     []Finding `json:"findings"`
	Profile      string    `json:"profile"`
	PolicyDigest string    `json:"policy_digest"`
}

// StreamEvent is one line of a streamed run: first the run's ID alone (so
// a client whose stream breaks can fetch the outcome), then output chunks,
// then the final result (always the last line).
type StreamEvent struct {
	ID           string     `json:"id,omitempty"`
	Stdout       string     `json:"stdout,omitempty"`
	Stderr       string     `json:"stderr,omitempty"`
	StdoutBase64 string     `json:"stdout_base64,omitempty"`
	StderrBase64 string     `json:"stderr_base64,omitempty"`
	Result       *RunResult `json:"result,omitempty"`
}

// RunList is the body of GET /v1/runs. Results in a list carry no
// stdout/stderr; fetch one run for its output. Next, when set, is the
// "before" cursor of the next page.
type RunList struct {
	Runs []RunResult `json:"runs"`
	Next string      `json:"next,omitempty"`
}

// LanguageInfo describes one runnable language.
type LanguageInfo struct {
	Name   string `json:"name"`
	Rootfs string `json:"rootfs"` // name@sha256:…
}

// Info is the body of GET /v1/info.
type Info struct {
	Version       string         `json:"version"`
	Languages     []LanguageInfo `json:"languages"`
	DefaultLimits Limits         `json:"default_limits"`
	MaxLimits     Limits         `json:"max_limits"`
	CgroupVersion string         `json:"cgroup_version"`
	Seccomp       bool           `json:"seccomp"`
	MaxConcurrent int            `json:"max_concurrent"`
	QueueSize     int            `json:"queue_size"`
	Running       int            `json:"running"`
	Queued        int            `json:"queued"`
	// PolicyDigest is the running policy's; Profiles are the ones this
	// caller may use.
	PolicyDigest string        `json:"policy_digest,omitempty"`
	Profiles     []ProfileInfo `json:"profiles,omitempty"`
	// Pool describes the warm pool; absent when the daemon runs cold only.
	Pool *PoolInfo `json:"pool,omitempty"`
	// Zygote describes the python zygotes; absent unless pool.zygote is on.
	Zygote *ZygoteInfo `json:"zygote,omitempty"`
}

// ZygoteInfo is the python zygotes in /v1/info: one long-lived
// interpreter per pooled key that forks a single-use jail per run. Runs
// fell back when the zygote could not fork (they ran in a parked or cold
// jail instead); ineligible runs match no zygote's key.
type ZygoteInfo struct {
	Zygotes     int    `json:"zygotes"`
	Runs        uint64 `json:"runs"`
	Fallbacks   uint64 `json:"fallbacks"`
	Ineligible  uint64 `json:"ineligible"`
	Starts      uint64 `json:"starts"`
	StartErrors uint64 `json:"start_errors"`
}

// PoolInfo is the warm pool in /v1/info: jails built and started ahead,
// each serving one run. Misses are runs of a pooled profile that found
// no parked jail; ineligible runs match no pooled profile (other limits).
type PoolInfo struct {
	Parked       int           `json:"parked"`
	MemoryBytes  int64         `json:"memory_bytes"`
	BudgetBytes  int64         `json:"budget_bytes"`
	Hits         uint64        `json:"hits"`
	Misses       uint64        `json:"misses"`
	Ineligible   uint64        `json:"ineligible"`
	Refills      uint64        `json:"refills"`
	RefillErrors uint64        `json:"refill_errors"`
	Keys         []PoolKeyInfo `json:"keys"`
}

// PoolKeyInfo is one pooled profile.
type PoolKeyInfo struct {
	Language     string   `json:"language"`
	Rootfs       string   `json:"rootfs"`   // digest
	Profiles     []string `json:"profiles"` // the policy profiles it is kept for
	Parked       int      `json:"parked"`
	Target       int      `json:"target"`
	Hits         uint64   `json:"hits"`
	Misses       uint64   `json:"misses"`
	RefillLastMS float64  `json:"refill_last_ms"`
	RefillMeanMS float64  `json:"refill_mean_ms"`
	JailBytes    int64    `json:"jail_bytes"` // mean cgroup memory of one parked jail
}

// ProfileInfo describes a policy profile granted to the caller.
type ProfileInfo struct {
	Name          string `json:"name"`
	Language      string `json:"language"`
	Rootfs        string `json:"rootfs"`     // as the policy names it
	Validation    string `json:"validation"` // off, report or enforce
	DefaultLimits Limits `json:"default_limits"`
	MaxLimits     Limits `json:"max_limits"`
}

// Health is the body of GET /healthz (200 when Status is "ok", else 503).
// A 503 body also carries the Error fields, like every non-2xx response.
type Health struct {
	Status  string `json:"status"` // "ok" or "unavailable"
	Reason  string `json:"reason,omitempty"`
	History string `json:"history,omitempty"` // "ok" or why history is degraded
	Error   string `json:"error,omitempty"`   // = Reason on 503
	Code    string `json:"code,omitempty"`    // "unavailable" on 503
}

// Error is the body of every non-2xx response.
type Error struct {
	Message string `json:"error"`
	Code    string `json:"code"`
	// Findings come with 422 validation_failed.
	Findings []Finding `json:"findings,omitempty"`
}

// Error codes.
const (
	CodeInvalidRequest   = "invalid_request"    // 400: malformed JSON, unknown field, bad value
	CodeUnknownLanguage  = "unknown_language"   // 400
	CodeLimitOutOfRange  = "limit_out_of_range" // 400
	CodeBodyTooLarge     = "body_too_large"     // 413
	CodeForbidden        = "forbidden"          // 403: caller not allowed
	CodePolicyDenied     = "policy_denied"      // 403: the operator policy grants no such thing
	CodeEnvNotAllowed    = "env_not_allowed"    // 400: env name not allowed by the profile
	CodeValidationFailed = "validation_failed"  // 422: static checks found something (enforce mode)
	CodeQuotaExceeded    = "quota_exceeded"     // 429: the caller's max_concurrent runs are in flight
	CodeNotFound         = "not_found"          // 404
	CodeMethodNotAllowed = "method_not_allowed" // 405
	CodeQueueFull        = "queue_full"         // 429, with Retry-After
	CodeUnavailable      = "unavailable"        // 503: cannot run jails, or shutting down
	CodeInternal         = "internal"           // 500
)
