package container

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/jaild/jaild/jail"
)

// int80Probe issues getpid through the 32-bit int 0x80 entry and prints
// the result.
const int80Probe = `
import ctypes, mmap
code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax,20; int 0x80; ret
buf = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
buf.write(code)
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
print("int80 returned", ctypes.CFUNCTYPE(ctypes.c_long)(addr)(), flush=True)
`

var (
	int80Once sync.Once
	int80OK   bool
	int80Err  error
)

// hostHasInt80 reports whether this host's kernel serves the 32-bit
// int 0x80 entry at all, probed outside any jail: the test rootfs's
// python, chrooted, with no seccomp filter. A kernel without IA32
// emulation (or one that has it turned off, as the PVM guest kernel of
// some machines here does: int 0x80 raises a general protection fault)
// kills the prober with SIGSEGV before any filter could see the call. The
// int 0x80 tests then expect SIGSEGV and say loudly that the filter's
// architecture check went unexercised on this host; `make test-vm` runs
// them on a guest kernel that has the entry.
func hostHasInt80(t *testing.T) bool {
	t.Helper()
	img := testImage(t, jail.Python)
	int80Once.Do(func() {
		// The interpreter's path is absolute and resolved after the chroot.
		cmd := exec.Command(img.Interpreter, "-c", int80Probe)
		cmd.Env = []string{"PATH=/usr/bin"}
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: img.Path}
		out, err := cmd.Output()
		var exit *exec.ExitError
		switch {
		case err == nil && strings.HasPrefix(string(out), "int80 returned "):
			int80OK = true
		case errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signaled() &&
			exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGSEGV && len(out) == 0:
			int80OK = false
		default:
			int80Err = fmt.Errorf("int 0x80 probe outside the jail: %v, printed %q", err, out)
		}
	})
	if int80Err != nil {
		t.Fatal(int80Err)
	}
	if !int80OK {
		t.Logf("HOST KERNEL REFUSES int 0x80 (SIGSEGV outside any jail): expecting SIGSEGV; " +
			"the seccomp filter's architecture check is NOT exercised on this host (make test-vm does)")
	}
	return int80OK
}
