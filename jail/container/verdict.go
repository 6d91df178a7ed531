package container

import (
	"os"
	"syscall"

	"github.com/jaild/jaild/jail"
	"golang.org/x/sys/unix"
)

// killReason records why the runner itself killed a jail.
type killReason int

const (
	killNone killReason = iota
	killWall
	killCPU
	killCancel
)

// verdict derives the Status from how the main process ended, why (if at
// all) the runner killed it and what the kernel's OOM accounting says.
// Precedence: the runner's own kill reason, then a kernel OOM kill (read
// from the cgroup, never guessed from SIGKILL), then SIGXCPU, then signals
// and exit codes.
func verdict(ws *syscall.WaitStatus, reason killReason, oomKills uint64, cpuOver bool) (jail.Status, int, string) {
	sig := ""
	code := -1
	signaled := false
	if ws != nil {
		if ws.Signaled() {
			signaled = true
			sig = unix.SignalName(ws.Signal())
		} else if ws.Exited() {
			code = ws.ExitStatus()
		}
	}
	switch {
	case reason == killCPU:
		return jail.StatusCPULimit, -1, sig
	case reason == killWall:
		return jail.StatusTimeout, -1, sig
	case oomKills > 0 && (signaled || code != 0):
		return jail.StatusOOM, -1, sig
	case sig == "SIGXCPU" || (cpuOver && signaled):
		return jail.StatusCPULimit, -1, sig
	case signaled:
		return jail.StatusSignaled, -1, sig
	case code == 0:
		return jail.StatusOK, 0, ""
	case code > 0:
		return jail.StatusExitNonzero, code, ""
	}
	return jail.StatusInternalError, -1, sig
}

// waitStatus is how ps ended; nil when it did not (or is nil).
func waitStatus(ps *os.ProcessState) *syscall.WaitStatus {
	if ps == nil {
		return nil
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
		return &ws
	}
	return nil
}
