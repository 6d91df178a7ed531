//go:build seccomp

package container

import (
	"strconv"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// syscallName maps a native syscall number to its name with libseccomp.
func syscallName(nr int) string {
	if name, err := libseccomp.ScmpSyscall(nr).GetName(); err == nil {
		return name
	}
	return "syscall " + strconv.Itoa(nr)
}
