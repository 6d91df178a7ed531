package main

import "golang.org/x/sys/unix"

// signalNumber maps "SIGKILL" back to 9; unknown names map to 0.
func signalNumber(name string) int {
	return int(unix.SignalNum(name))
}
