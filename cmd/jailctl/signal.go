package main

import (
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// signalNumber maps a signal name such as "SIGSEGV" (or "SEGV", or "11")
// to its number, 0 when unknown. The jail runs on the daemon's host, which
// is this one: the Unix socket is local, so the numbering is the same.
func signalNumber(name string) int {
	if n, err := strconv.Atoi(name); err == nil {
		if n > 0 && n < 128 {
			return n
		}
		return 0
	}
	name = strings.ToUpper(name)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	return int(unix.SignalNum(name))
}
