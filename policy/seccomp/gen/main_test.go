package main

import (
	"os"
	"path/filepath"
	"testing"
)

// strace 6.x pads the pid column of `strace -f -o` with several spaces;
// scan must read both forms and follow forked children, also a vfork
// child whose lines come before its parent's return.
func TestScanPaddedPids(t *testing.T) {
	trace := `800   seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, NULL) = -1 EFAULT (Bad address)
823   getpid()                          = 1
823   seccomp(SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, {len=347, filter=0x72b5c0ff000} <unfinished ...>
823   <... seccomp resumed>)            = 0
823   vfork( <unfinished ...>
830 chdir("/tmp")                       = 0
823   <... vfork resumed>)              = 5 /* 830 in strace's PID NS */
800   mount("a", "b", NULL, 0, NULL)    = 0
823   setuid(1)                         = -1 EPERM (Operation not permitted)
`
	p := filepath.Join(t.TempDir(), "t")
	if err := os.WriteFile(p, []byte(trace), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[string]*count{}
	if err := scan(p, seen); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]count{"seccomp": {1, 0}, "vfork": {1, 0}, "chdir": {1, 0}, "setuid": {0, 1}} {
		if c := seen[name]; c == nil || *c != want {
			t.Errorf("%s: got %+v, want %+v", name, c, want)
		}
	}
	for _, name := range []string{"mount", "getpid"} {
		if seen[name] != nil {
			t.Errorf("%s counted, but it ran outside the filter", name)
		}
	}
}
