package policy

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// allows evaluates p the way the kernel filter libseccomp compiles from it
// would for one call: any Allow rule for name whose argument conditions all
// hold lets the call through; otherwise a non-Allow rule or the default
// action refuses it. Only the operators the profiles use are modelled; an
// unknown one fails the test so the model cannot silently fall behind.
func allows(t *testing.T, p *specs.LinuxSeccomp, name string, args ...uint64) bool {
	t.Helper()
	for _, r := range p.Syscalls {
		if r.Action != specs.ActAllow || !contains(r.Names, name) {
			continue
		}
		match := true
		for _, a := range r.Args {
			v := args[a.Index]
			switch a.Op {
			case specs.OpEqualTo:
				match = match && v == a.Value
			case specs.OpMaskedEqual:
				match = match && v&a.Value == a.ValueTwo
			default:
				t.Fatalf("model does not know seccomp operator %s", a.Op)
			}
		}
		if match {
			return true
		}
	}
	return p.DefaultAction == specs.ActAllow
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// FuzzSeccompCloneAndPersonality checks the argument-filtered rules of the
// built profile for every flag word: clone passes exactly when it asks for
// no new namespace, personality only for the query and PER_LINUX, clone3
// never (its flags are in memory seccomp cannot read).
func FuzzSeccompCloneAndPersonality(f *testing.F) {
	p := DefaultSeccomp()
	f.Fuzz(func(t *testing.T, flags, persona uint64) {
		wantClone := flags&namespaceCloneFlags == 0
		if got := allows(t, p, "clone", flags, 0, 0, 0, 0, 0); got != wantClone {
			t.Errorf("clone(%#x) allowed = %v, want %v", flags, got, wantClone)
		}
		wantPers := persona == 0 || persona == 0xffffffff
		if got := allows(t, p, "personality", persona); got != wantPers {
			t.Errorf("personality(%#x) allowed = %v, want %v", persona, got, wantPers)
		}
		if allows(t, p, "clone3", flags) {
			t.Error("clone3 allowed")
		}
		for _, name := range ForbiddenSyscalls {
			if allows(t, p, name, flags, persona, 0, 0, 0, 0) {
				t.Errorf("forbidden %s allowed with args %#x %#x", name, flags, persona)
			}
		}
	})
}
