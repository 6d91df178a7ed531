package jail

import (
	"reflect"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestStartupEnv(t *testing.T) {
	got := StartupEnv([]string{"PATH=/bin", "LANG=C.UTF-8", "LC_ALL=C", "HOME=/tmp", "TZ=UTC",
		"NODE_OPTIONS=--x", "PYTHONPATH=/x", "LD_PRELOAD=/x.so", "LANGX=1", "MODE=t"})
	want := []string{"LANG=C.UTF-8", "LC_ALL=C", "TZ=UTC", "NODE_OPTIONS=--x", "PYTHONPATH=/x", "LD_PRELOAD=/x.so"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("StartupEnv = %v, want %v", got, want)
	}
}

func TestPoolKey(t *testing.T) {
	base := func() Spec {
		return Spec{Rootfs: Rootfs{Digest: "sha256:1", Path: "/r"}, Argv: []string{"/usr/bin/python3", "-B", "/work/main.py"},
			Env: []string{"LANG=C.UTF-8"}, Limits: DefaultLimits(), Seccomp: &specs.LinuxSeccomp{DefaultAction: specs.ActErrno}}
	}
	b := base()
	k := NewPoolKey(Python, &b, []string{"-B"})
	for _, tc := range []struct {
		name   string
		mutate func(*Spec)
		same   bool
	}{
		{"wall", func(s *Spec) { s.Limits.Wall = time.Second }, true},
		{"output", func(s *Spec) { s.Limits.Output = 10 }, true},
		{"request env", func(s *Spec) { s.Env = append(s.Env, "MODE=x", "HOME=/work") }, true},
		{"args", func(s *Spec) { s.Argv = append(s.Argv, "a") }, true},
		{"cpu time, same second", func(s *Spec) { s.Limits.CPUTime = 4500 * time.Millisecond }, true},
		{"memory", func(s *Spec) { s.Limits.Memory++ }, false},
		{"pids", func(s *Spec) { s.Limits.Pids++ }, false},
		{"tmp", func(s *Spec) { s.Limits.Tmp++ }, false},
		{"cpus", func(s *Spec) { s.Limits.CPUs = 2 }, false},
		{"cpu time", func(s *Spec) { s.Limits.CPUTime = 10 * time.Second }, false},
		{"locale", func(s *Spec) { s.Env = []string{"LANG=C"} }, false},
		{"rootfs", func(s *Spec) { s.Rootfs.Digest = "sha256:2" }, false},
		{"seccomp", func(s *Spec) { s.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActKill} }, false},
		{"interpreter", func(s *Spec) { s.Argv[0] = "/usr/bin/python3.12" }, false},
		{"hostname", func(s *Spec) { s.Hostname = "x" }, false},
	} {
		s := base()
		tc.mutate(&s)
		if got := NewPoolKey(Python, &s, []string{"-B"}) == k; got != tc.same {
			t.Errorf("%s: same key = %v, want %v", tc.name, got, tc.same)
		}
	}
	if NewPoolKey(Node, &b, []string{"-B"}) == k || NewPoolKey(Python, &b, nil) == k {
		t.Error("language or interpreter options do not change the key")
	}
}
