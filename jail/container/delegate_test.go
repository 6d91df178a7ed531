package container

import (
	"strings"
	"testing"
)

func TestPlanV2(t *testing.T) {
	all := []string{"cpuset", "cpu", "io", "memory", "pids"}
	const me = 42
	tests := []struct {
		name       string
		st         cgroupV2State
		wantParent string
		wantBase   string
	}{
		{"systemd service with Delegate=yes, alone in its cgroup",
			cgroupV2State{own: "/system.slice/jaild.service", procs: []int{me}, controllers: all},
			"/system.slice/jaild.service/jaild", "/system.slice/jaild.service"},
		{"already moved into the supervisor leaf (second Runner)",
			cgroupV2State{own: "/system.slice/jaild.service/supervisor", procs: nil, controllers: all},
			"/system.slice/jaild.service/jaild", "/system.slice/jaild.service"},
		{"a child of a process that took the subtree",
			cgroupV2State{own: "/system.slice/x.service/supervisor", procs: nil, controllers: all},
			"/system.slice/x.service/jaild", "/system.slice/x.service"},
		{"shares its cgroup with a shell: not ours, root placement",
			cgroupV2State{own: "/user.slice/user-0.slice/session-1.scope", procs: []int{7, me}, controllers: all},
			"/jaild", ""},
		{"root cgroup (no systemd, or a container's namespace root)",
			cgroupV2State{own: "/", procs: []int{me}, controllers: all},
			"/jaild", ""},
		{"memory not delegated",
			cgroupV2State{own: "/system.slice/jaild.service", procs: []int{me}, controllers: []string{"cpu", "pids"}},
			"/jaild", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := planV2("/jaild", tt.st, me)
			if got.parent != tt.wantParent || got.base != tt.wantBase || ok != (tt.wantBase != "") {
				t.Errorf("planV2 = %+v, %v; want parent %q base %q", got, ok, tt.wantParent, tt.wantBase)
			}
		})
	}
}

func TestParseOwnCgroupV2(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{"0::/system.slice/jaild.service\n", "/system.slice/jaild.service", false},
		// Hybrid v1 host: the v2 line comes last, next to named hierarchies.
		{"12:memory:/user.slice\n1:name=systemd:/user.slice\n0::/user.slice\n", "/user.slice", false},
		{"12:memory:/x\n", "", true},
	}
	for _, tt := range tests {
		got, err := parseOwnCgroupV2(strings.NewReader(tt.in))
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("parseOwnCgroupV2(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
