package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/jaild/jaild/jail"
)

func TestDefaultPolicyLoads(t *testing.T) {
	p, err := LoadDefault()
	if err != nil {
		t.Fatalf("default policy: %v", err)
	}
	for _, name := range []string{"python", "node", "python-strict", "node-strict"} {
		if p.Profiles[name] == nil || p.Profiles[name].Filter == nil {
			t.Errorf("profile %s missing or without a filter", name)
		}
	}
	if !strings.HasPrefix(p.Digest, "sha256:") || len(p.Digest) != 71 {
		t.Errorf("digest %q", p.Digest)
	}
	if err := p.Inherit(Limits{5000, 5000, 128 << 20, 64, 1 << 20, 64 << 20}, Limits{60000, 60000, 1 << 30, 256, 16 << 20, 512 << 20}); err != nil {
		t.Errorf("inherit: %v", err)
	}
	if got := p.Profiles["python-strict"].MaxLimits.WallMS; got != 10000 {
		t.Errorf("python-strict max wall %d, want 10000", got)
	}
	if got := p.Profiles["python"].DefaultLimits.Pids; got != 64 {
		t.Errorf("python default pids %d, want the inherited 64", got)
	}
}

const goodRule = "\n[[rule]]\nuid = 0\nprofiles = [\"*\"]\n"

// TestPolicyChecks: each bad file is refused with the line and a message
// naming the problem.
func TestPolicyChecks(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"syntax", "[profile.a\n", "to end table name"},
		{"unknown key", "[profile.a]\nlanguage = \"python\"\nlangauge = \"x\"\n" + goodRule, "line 3: unknown key profile.a.langauge"},
		{"unknown rule key", "[profile.a]\nlanguage = \"python\"\n[[rule]]\nuid = 0\nprofiles = [\"a\"]\nmax_concurent = 3\n", "line 6: unknown key rule.max_concurent"},
		{"bad language", "[profile.a]\nlanguage = \"ruby\"\n" + goodRule, "line 2: profile a: language \"ruby\""},
		{"bad rootfs", "[profile.a]\nlanguage = \"python\"\nrootfs = \"py@sha256:xyz\"\n" + goodRule, "line 3: profile a: rootfs"},
		{"default over max", "[profile.a]\nlanguage = \"python\"\n[profile.a.default_limits]\nwall_ms = 9\n[profile.a.max_limits]\nwall_ms = 5\n" + goodRule,
			"line 4: profile a: default_limits.wall_ms (9) exceeds max_limits.wall_ms (5)"},
		{"bad mode", "[profile.a]\nlanguage = \"python\"\n[profile.a.validation]\nmode = \"strict\"\n" + goodRule, "line 4: profile a: validation.mode \"strict\""},
		{"bad seccomp", "[profile.a]\nlanguage = \"python\"\nseccomp = \"docker\"\n" + goodRule, "line 3: profile a: seccomp \"docker\""},
		{"missing seccomp file", "[profile.a]\nlanguage = \"python\"\nseccomp = \"/nonexistent.json\"\n" + goodRule, "line 3: profile a: seccomp /nonexistent.json"},
		{"not dangerous", "[profile.a]\nlanguage = \"python\"\nallow_dangerous_syscalls = [\"read\"]\n" + goodRule, "line 3: profile a: allow_dangerous_syscalls: \"read\""},
		{"bad env", "[profile.a]\nlanguage = \"python\"\nenv = [\"A-B\"]\n" + goodRule, "line 3: profile a: env \"A-B\""},
		{"two selectors", "[profile.a]\nlanguage = \"python\"\n[[rule]]\nuid = 0\ngid = 0\nprofiles = [\"a\"]\n", "line 3: rule 1: give exactly one of"},
		{"no selector", "[profile.a]\nlanguage = \"python\"\n[[rule]]\nprofiles = [\"a\"]\n", "line 3: rule 1: give exactly one"},
		{"unknown profile", "[profile.a]\nlanguage = \"python\"\n[[rule]]\nuid = 0\nprofiles = [\"b\"]\n", "line 5: rule 1: no profile named \"b\""},
		{"second rule", "[profile.a]\nlanguage = \"python\"\n[[rule]]\nuid = 0\nprofiles = [\"a\"]\n[[rule]]\nuid = 1\nprofiles = []\n", "line 8: rule 2: profiles is empty"},
		{"negative quota", "[profile.a]\nlanguage = \"python\"\n[[rule]]\nuid = 0\nprofiles = [\"a\"]\nmax_concurrent = -1\n", "line 6: rule 1: max_concurrent"},
		{"no rules", "[profile.a]\nlanguage = \"python\"\n", "no [[rule]]"},
	} {
		_, err := Parse([]byte(tc.file), "test.toml")
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrInvalid containing %q", tc.name, err, tc.want)
		}
	}
}

func testPolicy(t *testing.T, text string) *Policy {
	t.Helper()
	p, err := Parse([]byte(text), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Group 100 has member uid 1000 in this fake user database.
	p.memberOf = func(uid, gid uint32) bool { return uid == 1000 && gid == 100 }
	return p
}

const rulesPolicy = `
[profile.python]
language = "python"
env = ["MODE", "APP_*"]
[profile.py2]
language = "python"
[profile.node]
language = "node"
[[rule]]
uid = 1000
profiles = ["python"]
max_concurrent = 2
[[rule]]
gid = 100
profiles = ["node"]
max_concurrent = 5
[[rule]]
uid = 2000
profiles = ["py2"]
[[rule]]
tcp = true
profiles = ["*"]
`

func TestAuthorize(t *testing.T) {
	p := testPolicy(t, rulesPolicy)
	for _, tc := range []struct {
		name     string
		c        Caller
		profiles []string
		quota    int
		denied   bool
	}{
		{"uid and group rules add up, largest cap", Caller{UID: 1000, GID: 1000}, []string{"node", "python"}, 5, false},
		{"primary gid", Caller{UID: 1500, GID: 100}, []string{"node"}, 5, false},
		{"root is not special", Caller{UID: 0, GID: 0}, nil, 0, true},
		{"stranger", Caller{UID: 4242, GID: 4242}, nil, 0, true},
		{"no cap", Caller{UID: 2000, GID: 2000}, []string{"py2"}, 0, false},
		{"tcp", Caller{TCP: true}, []string{"node", "py2", "python"}, 0, false},
	} {
		g, err := p.Authorize(tc.c)
		if tc.denied {
			if !errors.Is(err, ErrDenied) {
				t.Errorf("%s: got %v, %v; want ErrDenied", tc.name, g, err)
			}
			continue
		}
		if err != nil || !slices.Equal(g.Profiles, tc.profiles) || g.MaxConcurrent != tc.quota {
			t.Errorf("%s: got %+v, %v; want %v cap %d", tc.name, g, err, tc.profiles, tc.quota)
		}
	}
}

func TestSelect(t *testing.T) {
	p := testPolicy(t, rulesPolicy)
	g := Grant{Profiles: []string{"node", "py2", "python"}}
	for _, tc := range []struct {
		name    string
		g       Grant
		lang    jail.Language
		profile string
		want    string
		err     error
	}{
		{"by language name", g, jail.Python, "", "python", nil},
		{"explicit", g, jail.Python, "py2", "py2", nil},
		{"language from profile", g, "", "node", "node", nil},
		{"mismatch", g, jail.Node, "py2", "", ErrLanguageMismatch},
		{"not granted", Grant{Profiles: []string{"node"}}, jail.Python, "python", "", ErrDenied},
		{"unknown is denied the same way", g, jail.Python, "nope", "", ErrDenied},
		{"only one of the language", Grant{Profiles: []string{"py2"}}, jail.Python, "", "py2", nil},
		{"none of the language", Grant{Profiles: []string{"node"}}, jail.Python, "", "", ErrDenied},
	} {
		prof, err := p.Select(tc.g, tc.lang, tc.profile)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: got %v, want %v", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil || prof.Name != tc.want {
			t.Errorf("%s: got %v, %v; want %s", tc.name, prof, err, tc.want)
		}
	}
	prof := p.Profiles["python"]
	for name, want := range map[string]bool{"MODE": true, "APP_X": true, "LD_PRELOAD": false, "MODEX": false} {
		if got := prof.EnvAllowed(name); got != want {
			t.Errorf("EnvAllowed(%s) = %v, want %v", name, got, want)
		}
	}
}

func TestInheritCeiling(t *testing.T) {
	p := testPolicy(t, "[profile.a]\nlanguage = \"python\"\n[profile.a.max_limits]\nmemory_bytes = 4294967296\n"+goodRule)
	err := p.Inherit(Limits{1, 1, 8 << 20, 4, 1, 1 << 20}, Limits{10, 10, 1 << 30, 8, 10, 2 << 20})
	if err == nil || !strings.Contains(err.Error(), "max_limits.memory_bytes 4294967296 exceeds the daemon's max_limits.memory_bytes 1073741824") {
		t.Errorf("got %v", err)
	}
}

// TestShippedSeccompProfiles: the JSON profiles keep the properties of
// the Go-built filter they replace.
func TestShippedSeccompProfiles(t *testing.T) {
	for _, name := range BuiltinSeccompNames() {
		p, err := BuiltinSeccomp(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if problems := CheckSeccomp(p, nil); len(problems) > 0 {
			t.Errorf("%s: %v", name, problems)
		}
		if p.DefaultAction != specs.ActErrno || p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 1 {
			t.Errorf("%s: default %s, want SCMP_ACT_ERRNO with EPERM", name, p.DefaultAction)
		}
		if len(p.Architectures) != 0 {
			t.Errorf("%s: architectures %v, want none (native only)", name, p.Architectures)
		}
		var clone3, cloneFiltered, personality int
		for _, r := range p.Syscalls {
			for _, n := range r.Names {
				switch {
				case n == "clone3" && r.Action == specs.ActErrno && r.ErrnoRet != nil && *r.ErrnoRet == 38:
					clone3++
				case n == "clone" && r.Action == specs.ActAllow && cloneWithoutNamespaces(r.Args):
					cloneFiltered++
				case n == "clone" || n == "clone3":
					t.Errorf("%s: unexpected %s rule %+v", name, n, r)
				case n == "personality" && len(r.Args) == 1 && r.Args[0].Op == specs.OpEqualTo &&
					(r.Args[0].Value == 0 || r.Args[0].Value == 0xffffffff):
					personality++
				case n == "personality":
					t.Errorf("%s: personality allowed without the PER_LINUX/query filter", name)
				case r.Action == specs.ActAllow && slices.Contains(DangerousSyscalls, n):
					t.Errorf("%s: dangerous %s allowed", name, n)
				}
			}
		}
		if clone3 != 1 || cloneFiltered != 1 || personality != 2 {
			t.Errorf("%s: clone3 ENOSYS %d, filtered clone %d, personality rules %d; want 1, 1, 2", name, clone3, cloneFiltered, personality)
		}
	}
}

func TestCheckSeccompRefuses(t *testing.T) {
	base := func(extra ...specs.LinuxSyscall) *specs.LinuxSeccomp {
		return &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Syscalls: append([]specs.LinuxSyscall{
			{Names: []string{"read", "write"}, Action: specs.ActAllow}}, extra...)}
	}
	for _, tc := range []struct {
		name      string
		s         *specs.LinuxSeccomp
		overrides []string
		want      string
	}{
		{"ptrace", base(specs.LinuxSyscall{Names: []string{"ptrace"}, Action: specs.ActAllow}), nil, "allows ptrace"},
		{"ptrace overridden", base(specs.LinuxSyscall{Names: []string{"ptrace"}, Action: specs.ActAllow}), []string{"ptrace"}, ""},
		{"io_uring logged", base(specs.LinuxSyscall{Names: []string{"io_uring_setup"}, Action: specs.ActLog}), nil, "allows io_uring_setup"},
		{"unfiltered clone", base(specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActAllow}), nil, "clone with namespace flags"},
		{"clone3", base(specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActAllow}), nil, "allows clone3"},
		{"errno is fine", base(specs.LinuxSyscall{Names: []string{"mount", "bpf"}, Action: specs.ActErrno}), nil, ""},
		{"allow default", &specs.LinuxSeccomp{DefaultAction: specs.ActAllow}, nil, "defaultAction SCMP_ACT_ALLOW"},
		{"x86", &specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: []specs.Arch{specs.ArchX86}}, nil, "architecture SCMP_ARCH_X86"},
	} {
		got := strings.Join(CheckSeccomp(tc.s, tc.overrides), "; ")
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
	if _, err := ParseSeccomp([]byte(`{"defaultAction":"SCMP_ACT_ERRNO","archMap":[]}`)); err == nil {
		t.Error("a Docker-format profile (archMap) was accepted")
	}
}
