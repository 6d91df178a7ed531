package api

import (
	"encoding/json"
	"time"
)

// Paths of the eval API.
const (
	PathEvals = "/v1/evals"  // POST: run a program against test cases
	PathEval  = "/v1/evals/" // GET /v1/evals/{id}
)

// Compare modes of a case. Function cases compare JSON values (numbers
// by value, objects without regard to key order); stdin/stdout cases
// compare the program's standard output.
const (
	CompareExact   = "exact"   // byte for byte (stdout) or JSON-equal (function)
	CompareTrimmed = "trimmed" // stdout: trailing whitespace of every line and trailing empty lines ignored
	CompareFloat   = "float"   // numbers equal within float_tolerance (absolute or relative); stdout: per whitespace-separated token
)

// DefaultFloatTolerance is used by CompareFloat when no tolerance is given.
const DefaultFloatTolerance = 1e-6

// EvalRequest is the body of POST /v1/evals: one program and the cases to
// run it against. Either every case is a function case (Function set) or
// every case is a stdin/stdout case (ExpectedStdout set).
type EvalRequest struct {
	Language string `json:"language"` // may be left out when Profile is given
	// Profile names the operator policy's profile, as for RunRequest.
	Profile    string            `json:"profile,omitempty"`
	Code       string            `json:"code,omitempty"`
	Files      []File            `json:"files,omitempty"`
	Entrypoint string            `json:"entrypoint,omitempty"`
	Env        map[string]string `json:"env,omitempty"`
	// Limits apply to each case (a case's own Limits override them).
	Limits *Limits `json:"limits,omitempty"`
	// TotalWallMS is the wall-clock budget of the whole eval; cases that
	// no longer fit are skipped. 0: the sum of the cases' wall limits.
	TotalWallMS int64 `json:"total_wall_ms,omitempty"`
	// SharedJail runs every case in one jail and one harness process
	// tree: faster, but a case can see a previous case's side effects
	// (files in /tmp and /work, and in-memory state of the module).
	SharedJail         bool       `json:"shared_jail,omitempty"`
	StopOnFirstFailure bool       `json:"stop_on_first_failure,omitempty"`
	Compare            string     `json:"compare,omitempty"`         // default for every case; "exact" when empty
	FloatTolerance     float64    `json:"float_tolerance,omitempty"` // for "float"; DefaultFloatTolerance when 0
	Cases              []EvalCase `json:"cases"`
}

// EvalCase is one test case.
type EvalCase struct {
	Name string `json:"name,omitempty"`
	// Function cases: the harness calls Function(*Args, **Kwargs) with the
	// JSON-decoded arguments and the daemon compares its JSON-encoded
	// return value with Expected. Expected never enters the jail.
	Function string          `json:"function,omitempty"`
	Kwargs   json.RawMessage `json:"kwargs,omitempty"`
	Expected json.RawMessage `json:"expected,omitempty"`
	// Args are the function's positional arguments (any JSON values) for
	// a function case, the program's command-line arguments (strings) for
	// a stdin/stdout case.
	Args json.RawMessage `json:"args,omitempty"`
	// Stdin/stdout cases: the program runs with Stdin and its standard
	// output is compared with ExpectedStdout.
	Stdin          string  `json:"stdin,omitempty"`
	ExpectedStdout *string `json:"expected_stdout,omitempty"`

	Compare        string  `json:"compare,omitempty"`
	FloatTolerance float64 `json:"float_tolerance,omitempty"`
	Limits         *Limits `json:"limits,omitempty"`
}

// Verdicts of a case.
const (
	VerdictPass     = "pass"
	VerdictFail     = "fail"    // ran to completion, wrong answer
	VerdictError    = "error"   // raised, exited early or non-zero, returned something not JSON
	VerdictTimeout  = "timeout" // wall-clock limit of the case (or of the eval) reached
	VerdictCPULimit = "cpu_limit"
	VerdictOOM      = "oom"
	VerdictSignaled = "signaled" // killed by Signal
	VerdictSkipped  = "skipped"  // not run (or, in a shared jail, not judged): stop_on_first_failure or total budget
)

// EvalError describes an error verdict: the exception's type, message and
// traceback, or why the process ended without an answer.
type EvalError struct {
	Type      string `json:"type"`
	Message   string `json:"message"`
	Traceback string `json:"traceback,omitempty"`
}

// CaseResult is the outcome of one case. Got and Expected are JSON values:
// the return value and the expected one (function cases), or the standard
// output and the expected one as JSON strings (stdin/stdout cases).
type CaseResult struct {
	Name          string          `json:"name,omitempty"`
	Verdict       string          `json:"verdict"`
	Got           json.RawMessage `json:"got,omitempty"`
	Expected      json.RawMessage `json:"expected,omitempty"`
	Error         *EvalError      `json:"error,omitempty"`
	Reason        string          `json:"reason,omitempty"` // why skipped, or what differed
	ExitCode      *int            `json:"exit_code,omitempty"`
	Signal        string          `json:"signal,omitempty"`
	Stdout        string          `json:"stdout"`
	Stderr        string          `json:"stderr"`
	StdoutDropped int64           `json:"stdout_dropped_bytes,omitempty"`
	StderrDropped int64           `json:"stderr_dropped_bytes,omitempty"`
	WallMS        int64           `json:"wall_ms"`
	CPUMS         int64           `json:"cpu_ms"`
	MemoryPeak    int64           `json:"memory_peak_bytes"`
	RunID         string          `json:"run_id,omitempty"` // the jail run that held the case (GET /v1/runs/{id})
}

// EvalSummary counts the verdicts; Failed is every case that ran and did
// not pass.
type EvalSummary struct {
	Passed  int   `json:"passed"`
	Failed  int   `json:"failed"`
	Skipped int   `json:"skipped"`
	Total   int   `json:"total"`
	WallMS  int64 `json:"wall_ms"`
}

// EvalResult is the body of a 200 from POST /v1/evals and GET /v1/evals/{id}.
type EvalResult struct {
	ID         string       `json:"id"`
	Language   string       `json:"language"`
	Rootfs     string       `json:"rootfs"`
	SharedJail bool         `json:"shared_jail"`
	Summary    EvalSummary  `json:"summary"`
	Cases      []CaseResult `json:"cases"`
	CreatedAt  time.Time    `json:"created_at"`
	Caller     *Caller      `json:"caller,omitempty"`
	CodeSHA256 string       `json:"code_sha256"`
	// Profile and PolicyDigest say which policy profile ran the cases;
	// Findings are the static checks' when the profile's mode is "report".
	Profile      string    `json:"profile,omitempty"`
	PolicyDigest string    `json:"policy_digest,omitempty"`
	Findings     []Finding `json:"findings,omitempty"`
}
