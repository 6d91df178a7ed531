package daemon

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestHarnessFilter(t *testing.T) {
	base := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "clone"}, Action: specs.ActAllow}}}
	got := harnessFilter(base)
	if len(base.Syscalls) != 1 {
		t.Fatalf("the profile's filter was modified: %+v", base.Syscalls)
	}
	if got.DefaultAction != base.DefaultAction || len(got.Syscalls) != 3 {
		t.Fatalf("filter = %+v", got)
	}
	prctl, clone3 := got.Syscalls[1], got.Syscalls[2]
	if prctl.Names[0] != "prctl" || prctl.Action != specs.ActAllow || len(prctl.Args) != 1 ||
		prctl.Args[0].Value != unix.PR_SET_DUMPABLE || prctl.Args[0].Op != specs.OpEqualTo {
		t.Errorf("prctl rule %+v: want allow for PR_SET_DUMPABLE only", prctl)
	}
	if clone3.Names[0] != "clone3" || clone3.Action != specs.ActErrno || clone3.ErrnoRet == nil || *clone3.ErrnoRet != uint(unix.ENOSYS) {
		t.Errorf("clone3 rule %+v: want ENOSYS", clone3)
	}
	// A profile that rules on them already keeps its rules.
	own := &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: []specs.LinuxSyscall{
		{Names: []string{"clone3"}, Action: specs.ActErrno}, {Names: []string{"prctl"}, Action: specs.ActAllow}}}
	if got := harnessFilter(own); len(got.Syscalls) != 2 {
		t.Errorf("rules added over the profile's own: %+v", got.Syscalls)
	}
	if harnessFilter(nil) != nil {
		t.Error("a missing filter must stay missing (Spec.Validate refuses it)")
	}
}
