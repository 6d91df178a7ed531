package container

import (
	"bytes"
	"errors"
	"os"
	"regexp"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// auditSeccomp matches the kernel's audit record of a seccomp kill
// (AUDIT_SECCOMP, type 1326). With no audit daemon running, kauditd prints
// it to the kernel log: "audit: type=1326 … pid=3955 … sig=31 arch=c000003e
// syscall=79 …" (pid as seen from the host).
var auditSeccomp = regexp.MustCompile(`type=1326 .* pid=(\d+) .* sig=31 arch=([0-9a-f]+) syscall=(\d+) `)

// seccompSyscall returns the name of the syscall that got host pid killed
// by the filter, from the kernel log; "" when the kernel did not say
// (an audit daemon takes the records, the log is rate limited or
// unreadable, the filter's kill action is not logged). kauditd prints
// asynchronously, so it looks a few times.
func seccompSyscall(pid int) string {
	for try := 0; try < 5; try++ {
		if nr, ok := findAuditSyscall(pid); ok {
			return syscallName(nr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}

// findAuditSyscall reads /dev/kmsg from its start (each read returns one
// record; EAGAIN at the end) and returns the last record's syscall number.
func findAuditSyscall(pid int) (int, bool) {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	f := os.NewFile(uintptr(fd), "/dev/kmsg")
	defer f.Close()
	want := []byte(" pid=" + strconv.Itoa(pid) + " ")
	nr, found := 0, false
	buf := make([]byte, 8192)
	for i := 0; i < 1<<16; i++ {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) { // records overwritten while reading: skip on
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		rec := buf[:n]
		if !bytes.Contains(rec, want) {
			continue
		}
		if m := auditSeccomp.FindSubmatch(rec); m != nil && string(m[1]) == strconv.Itoa(pid) {
			nr, _ = strconv.Atoi(string(m[3]))
			found = true
		}
	}
	return nr, found
}
