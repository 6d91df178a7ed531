package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fuzzCeiling and fuzzDefaults stand in for the daemon's max_limits and
// default_limits (daemon.Default's values) in FuzzParse's Inherit.
var (
	fuzzCeiling  = Limits{WallMS: 60000, CPUMS: 60000, MemoryBytes: 1 << 30, Pids: 256, OutputBytes: 16 << 20, TmpBytes: 256 << 20}
	fuzzDefaults = Limits{WallMS: 5000, CPUMS: 5000, MemoryBytes: 256 << 20, Pids: 64, OutputBytes: 1 << 20, TmpBytes: 64 << 20}
)

// FuzzParse feeds arbitrary bytes to the policy parser. It must never
// panic, and a policy it accepts must hold what the daemon relies on:
// every profile in a known language with a loaded filter, limits
// non-negative with defaults within maxima (and, once the daemon's limits
// are inherited, all set and within its ceiling), no permissive default
// or foreign architecture, no dangerous syscall allowed unless the profile
// names it in allow_dangerous_syscalls (clone only without namespace
// flags), rules with one selector naming existing profiles. Parsing the
// same bytes again must give the same policy (same Describe, digest of
// the bytes): the daemon re-parses on every SIGHUP.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data, "fuzz.toml")
		if err != nil {
			return
		}
		if sum := sha256.Sum256(data); p.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Fatalf("digest %s is not the bytes'", p.Digest)
		}
		for name, prof := range p.Profiles {
			checkFuzzProfile(t, name, prof)
		}
		if len(p.Rules) == 0 {
			t.Fatal("accepted a policy without rules")
		}
		for _, r := range p.Rules {
			sel := 0
			for _, set := range []bool{r.byUID && r.User == "", !r.byUID && r.Group == "" && !r.TCP, r.User != "", r.Group != "", r.TCP} {
				if set {
					sel++
				}
			}
			if sel != 1 || len(r.Profiles) == 0 || r.MaxConcurrent < 0 {
				t.Fatalf("accepted rule %+v", r)
			}
			for _, n := range r.Profiles {
				if _, ok := p.Profiles[n]; !ok && n != "*" {
					t.Fatalf("rule at line %d names missing profile %q", r.Line, n)
				}
			}
		}
		again, err := Parse(data, "fuzz.toml")
		if err != nil {
			t.Fatalf("second parse of the same bytes failed: %v", err)
		}
		if a, b := p.Describe(), again.Describe(); a != b {
			t.Fatalf("re-parse differs:\n%s\n---\n%s", a, b)
		}
		c := p.Clone()
		if err := c.Inherit(fuzzDefaults, fuzzCeiling); err != nil {
			return
		}
		if !reflect.DeepEqual(p.Profiles, again.Profiles) {
			t.Fatal("Inherit on a clone changed the loaded policy")
		}
		for name, prof := range c.Profiles {
			for _, l := range LimitPairs(&prof.DefaultLimits, &prof.MaxLimits) {
				ceil := LimitPairs(&Limits{}, &fuzzCeiling)
				for _, cl := range ceil {
					if cl.name == l.name && (*l.max <= 0 || *l.max > *cl.max || *l.def <= 0 || *l.def > *l.max) {
						t.Fatalf("profile %s after Inherit: %s default %d max %d (ceiling %d)", name, l.name, *l.def, *l.max, *cl.max)
					}
				}
			}
		}
	})
}

func checkFuzzProfile(t *testing.T, name string, prof *Profile) {
	t.Helper()
	if !prof.Language.Valid() {
		t.Fatalf("profile %s: accepted language %q", name, prof.Language)
	}
	if prof.Filter == nil {
		t.Fatalf("profile %s: no seccomp filter", name)
	}
	for _, l := range prof.limitPairs() {
		if *l.def < 0 || *l.max < 0 || (*l.def > 0 && *l.max > 0 && *l.def > *l.max) {
			t.Fatalf("profile %s: accepted %s default %d max %d", name, l.name, *l.def, *l.max)
		}
	}
	if !slices.Contains([]string{ModeOff, ModeReport, ModeEnforce}, prof.Validation.Mode) {
		t.Fatalf("profile %s: validation mode %q", name, prof.Validation.Mode)
	}
	for _, s := range prof.AllowDangerousSyscalls {
		if !slices.Contains(DangerousSyscalls, s) {
			t.Fatalf("profile %s: override %q is not a dangerous syscall", name, s)
		}
	}
	s := prof.Filter
	if slices.Contains(permissive, s.DefaultAction) {
		t.Fatalf("profile %s: permissive default %s", name, s.DefaultAction)
	}
	for _, a := range s.Architectures {
		if a != nativeArch() {
			t.Fatalf("profile %s: architecture %s", name, a)
		}
	}
	for _, r := range s.Syscalls {
		if !slices.Contains(permissive, r.Action) {
			continue
		}
		for _, n := range r.Names {
			if !slices.Contains(DangerousSyscalls, n) || slices.Contains(prof.AllowDangerousSyscalls, n) {
				continue
			}
			if n == "clone" && cloneMasked(r.Args) {
				continue
			}
			t.Fatalf("profile %s: filter allows dangerous %s (args %+v) without allow_dangerous_syscalls", name, n, r.Args)
		}
	}
}

// cloneMasked is the test's own reading of a clone rule that refuses
// namespace flags: argument 0 masked by (at least) every namespace flag
// must equal 0.
func cloneMasked(args []specs.LinuxSeccompArg) bool {
	for _, a := range args {
		if a.Index == 0 && a.Op == specs.OpMaskedEqual && a.ValueTwo == 0 && a.Value&namespaceCloneFlags == namespaceCloneFlags {
			return true
		}
	}
	return false
}

// TestParseRefusesMixedCaseKeys: the TOML decoder matches keys to fields
// ignoring case, so a key spelt otherwise than the format would be
// accepted, and two spellings of one table fill it in map order.
func TestParseRefusesMixedCaseKeys(t *testing.T) {
	for _, body := range []string{
		"[Profile.py]\nlanguage = \"python\"\n[[rule]]\nuid = 0\nprofiles = [\"py\"]\n",
		"[profile.py]\nLanguage = \"python\"\n[[rule]]\nuid = 0\nprofiles = [\"py\"]\n",
		"[profile.py]\nlanguage = \"python\"\n[[Rule]]\nuid = 0\nprofiles = [\"py\"]\n",
		// U+017F (long s) is lower-case already, and EqualFold folds it to s.
		"[profile.py]\nlanguage = \"python\"\n\"ſeccomp\" = \"wide\"\n[[rule]]\nuid = 0\nprofiles = [\"py\"]\n",
	} {
		if _, err := Parse([]byte(body), "case.toml"); err == nil || !strings.Contains(err.Error(), "keys are ASCII lower-case") {
			t.Errorf("Parse(%q) = %v, want the lower-case refusal", body, err)
		}
	}
}
