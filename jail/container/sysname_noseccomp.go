//go:build !seccomp

package container

import "strconv"

// syscallName without libseccomp: only the number.
func syscallName(nr int) string { return "syscall " + strconv.Itoa(nr) }
