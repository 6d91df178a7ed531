package jail

import (
	"context"
	"errors"
	"time"
)

// Status is the verdict of a run.
type Status string

// Verdicts. A script that fails, times out or is killed produces a Result
// with one of these, not a Go error.
const (
	StatusOK            Status = "ok"             // exited 0
	StatusExitNonzero   Status = "exit_nonzero"   // exited with a non-zero code
	StatusTimeout       Status = "timeout"        // wall-clock limit reached
	StatusCPULimit      Status = "cpu_limit"      // CPU time limit reached
	StatusOOM           Status = "oom"            // the kernel's OOM killer fired in the jail's cgroup
	StatusSignaled      Status = "signaled"       // killed by a signal (SIGSEGV, SIGSYS from seccomp, …)
	StatusInternalError Status = "internal_error" // the jail could not be built or run
)

// Result is what one run produced.
type Result struct {
	Status   Status
	ExitCode int    // valid for ok and exit_nonzero; -1 otherwise
	Signal   string // "SIGKILL", "SIGSYS" … when the main process died of a signal
	// Syscall names the syscall a seccomp kill (SIGSYS) was for, when the
	// kernel's audit log said; "" otherwise.
	Syscall string
	Stdout  []byte
	Stderr  []byte
	// StdoutDropped and StderrDropped count bytes discarded past Limits.Output.
	StdoutDropped int64
	StderrDropped int64
	Wall          time.Duration // process start to exit
	CPU           time.Duration // user+system of all the jail's processes, from the cgroup
	MemoryPeak    int64         // peak RAM(+swap where accounted) of the cgroup in bytes
	RootfsDigest  string
	// Error explains internal_error; empty otherwise.
	Error string
}

// Runner executes a Spec in a fresh, single-use jail and tears it down.
//
// Run returns a Result for every run that started, whatever the script did.
// It returns a non-nil error (and a Result with StatusInternalError) only
// when the jail could not be built or observed; nothing is left behind in
// either case. Cancelling ctx kills the jail at once.
type Runner interface {
	Run(ctx context.Context, spec Spec) (Result, error)
}

// Sentinel errors.
var (
	ErrInvalidSpec = errors.New("invalid spec")
	ErrUnavailable = errors.New("jails unavailable") // the host cannot run jails (no root, no cgroups, …)
)
