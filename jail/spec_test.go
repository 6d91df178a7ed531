package jail

import (
	"errors"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestValidFileName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"main.py", true}, {"pkg/helper.py", true}, {"a/b/c.js", true},
		{"", false}, {"/etc/passwd", false}, {"../x", false}, {"a/../../x", false}, {"..", false},
		{".", false}, {"a//b", false}, {"a/./b", false}, {"a/", false}, {"x\x00y", false},
		{string(make([]byte, 256)), false},
	} {
		err := ValidFileName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidFileName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidSpec) {
			t.Errorf("ValidFileName(%q) error %v does not wrap ErrInvalidSpec", tc.name, err)
		}
	}
}

func TestSpecValidate(t *testing.T) {
	good := func() Spec {
		return Spec{Rootfs: Rootfs{Path: "/r"}, Argv: []string{"/usr/bin/python3"},
			Limits: DefaultLimits(), Seccomp: &specs.LinuxSeccomp{}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Spec)
		ok     bool
	}{
		{"good", func(*Spec) {}, true},
		{"relative rootfs", func(s *Spec) { s.Rootfs.Path = "r" }, false},
		{"no argv", func(s *Spec) { s.Argv = nil }, false},
		{"relative argv0", func(s *Spec) { s.Argv = []string{"python3"} }, false},
		{"no seccomp", func(s *Spec) { s.Seccomp = nil }, false},
		{"bad env", func(s *Spec) { s.Env = []string{"NOEQUALS"} }, false},
		{"duplicate file", func(s *Spec) { s.Files = []File{{Name: "a"}, {Name: "a"}} }, false},
		{"zero wall", func(s *Spec) { s.Limits.Wall = 0 }, false},
		{"tiny memory", func(s *Spec) { s.Limits.Memory = 1 << 20 }, false},
		{"negative output", func(s *Spec) { s.Limits.Output = -1 }, false},
		{"huge wall", func(s *Spec) { s.Limits.Wall = 25 * time.Hour }, false},
		{"too few pids", func(s *Spec) { s.Limits.Pids = 1 }, false},
	} {
		s := good()
		tc.mutate(&s)
		if err := s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestDefaultLimitsAreTheSeeds(t *testing.T) {
	l := DefaultLimits()
	if l.Wall != 5*time.Second || l.Memory != 128<<20 || l.CPUs != 1 || l.Pids != 64 || l.Output != 1<<20 || l.Tmp != 64<<20 {
		t.Errorf("DefaultLimits() = %+v, want wall 5s, memory 128MiB, 1 cpu, 64 pids, 1MiB output, 64MiB tmp", l)
	}
	if err := l.Validate(); err != nil {
		t.Errorf("defaults invalid: %v", err)
	}
}

func TestFileDirCollision(t *testing.T) {
	files := func(names ...string) []File {
		var fs []File
		for _, n := range names {
			fs = append(fs, File{Name: n})
		}
		return fs
	}
	for _, tc := range []struct {
		names []string
		want  bool
	}{
		{[]string{"main.py", "pkg/a.py", "pkg/b.py"}, false},
		{[]string{"pkg", "pkg/a.py"}, true},
		{[]string{"pkg/a.py", "pkg"}, true},
		{[]string{"a/b/c.py", "a/b"}, true},
		{[]string{"a/b/c.py", "a"}, true},
		{[]string{"pkg.py", "pkg/a.py"}, false},
		{[]string{"ab", "a/b"}, false},
	} {
		if _, _, got := FileDirCollision(files(tc.names...)); got != tc.want {
			t.Errorf("FileDirCollision(%v) = %v, want %v", tc.names, got, tc.want)
		}
	}
	s := Spec{Rootfs: Rootfs{Path: "/r"}, Argv: []string{"/x"}, Seccomp: &specs.LinuxSeccomp{}, Limits: DefaultLimits(),
		Files: files("pkg", "pkg/a.py")}
	if err := s.Validate(); !errors.Is(err, ErrInvalidSpec) {
		t.Errorf("Validate with a file/directory collision = %v, want ErrInvalidSpec", err)
	}
}

func TestSeccompMayAllow(t *testing.T) {
	rule := func(a specs.LinuxSeccompAction, names ...string) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: names, Action: a}
	}
	for _, tc := range []struct {
		name  string
		def   specs.LinuxSeccompAction
		rules []specs.LinuxSyscall
		want  bool
	}{
		{"allowed by a rule", specs.ActErrno, []specs.LinuxSyscall{rule(specs.ActAllow, "read", "keyctl")}, true},
		{"logged is run too", specs.ActErrno, []specs.LinuxSyscall{rule(specs.ActLog, "keyctl")}, true},
		{"a tracer decides", specs.ActErrno, []specs.LinuxSyscall{rule(specs.ActTrace, "keyctl")}, true},
		{"refused by a rule", specs.ActErrno, []specs.LinuxSyscall{rule(specs.ActErrno, "keyctl")}, false},
		{"not named, default errno", specs.ActErrno, []specs.LinuxSyscall{rule(specs.ActAllow, "read")}, false},
		{"not named, default allow", specs.ActAllow, []specs.LinuxSyscall{rule(specs.ActErrno, "read")}, true},
		{"named, default allow", specs.ActAllow, []specs.LinuxSyscall{rule(specs.ActKill, "keyctl")}, false},
		{"one rule refuses, another allows", specs.ActErrno, []specs.LinuxSyscall{rule(specs.ActErrno, "keyctl"), rule(specs.ActAllow, "keyctl")}, true},
	} {
		f := &specs.LinuxSeccomp{DefaultAction: tc.def, Syscalls: tc.rules}
		if got := SeccompMayAllow(f, "keyctl"); got != tc.want {
			t.Errorf("%s: SeccompMayAllow = %v, want %v", tc.name, got, tc.want)
		}
	}
}
