package policy

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"

	"github.com/jaild/jaild/jail"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The shipped filters, in OCI runtime-spec seccomp JSON (the
// "linux.seccomp" object of a runtime config). docs/SECCOMP.md says how
// they were derived; `make seccomp-profiles` regenerates them.
//
//go:embed seccomp/python.json seccomp/node.json
var builtinFS embed.FS

// BuiltinSeccompNames lists the built-in filters: one per language and
// "default", the union of both (for callers that do not know the language).
func BuiltinSeccompNames() []string { return []string{"default", "node", "python"} }

// BuiltinSeccomp returns a fresh copy of a built-in filter.
func BuiltinSeccomp(name string) (*specs.LinuxSeccomp, error) {
	switch name {
	case "python", "node":
		b, err := builtinFS.ReadFile("seccomp/" + name + ".json")
		if err != nil {
			return nil, err
		}
		return ParseSeccomp(b)
	case "default":
		py, err := BuiltinSeccomp("python")
		if err != nil {
			return nil, err
		}
		node, err := BuiltinSeccomp("node")
		if err != nil {
			return nil, err
		}
		return mergeAllow(py, node), nil
	}
	return nil, fmt.Errorf("no built-in seccomp profile %q", name)
}

// SeccompFor returns the built-in filter of a language.
func SeccompFor(lang string) *specs.LinuxSeccomp {
	f, err := BuiltinSeccomp(lang)
	if err != nil {
		return DefaultSeccomp()
	}
	return f
}

// DefaultSeccomp returns the union of the built-in language filters. It
// panics only if the embedded files are broken, which the tests catch.
func DefaultSeccomp() *specs.LinuxSeccomp {
	f, err := BuiltinSeccomp("default")
	if err != nil {
		panic("embedded seccomp profiles: " + err.Error())
	}
	return f
}

// mergeAllow adds b's unconditional allow names to a's first such rule.
func mergeAllow(a, b *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	first := -1
	have := map[string]bool{}
	for i, r := range a.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			if first < 0 {
				first = i
			}
			for _, n := range r.Names {
				have[n] = true
			}
		}
	}
	for _, r := range b.Syscalls {
		if r.Action != specs.ActAllow || len(r.Args) > 0 {
			continue
		}
		for _, n := range r.Names {
			if !have[n] && first >= 0 {
				a.Syscalls[first].Names = append(a.Syscalls[first].Names, n)
				have[n] = true
			}
		}
	}
	if first >= 0 {
		sort.Strings(a.Syscalls[first].Names)
	}
	return a
}

// LoadSeccompFile reads an OCI seccomp JSON file.
func LoadSeccompFile(path string) (*specs.LinuxSeccomp, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil, err
	}
	return ParseSeccomp(b)
}

// ParseSeccomp decodes OCI seccomp JSON. Unknown fields are errors: a
// Docker profile ("archMap", "includes") is not OCI form and would
// otherwise load with its conditions silently dropped.
func ParseSeccomp(b []byte) (*specs.LinuxSeccomp, error) {
	var s specs.LinuxSeccomp
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("parse seccomp JSON at line %d: %v", lineOf(b, se.Offset), err)
		}
		return nil, fmt.Errorf("parse seccomp JSON: %w (the OCI runtime-spec form is expected, not Docker's)", err)
	}
	if s.DefaultAction == "" {
		return nil, errors.New("parse seccomp JSON: defaultAction is missing")
	}
	return &s, nil
}

func lineOf(b []byte, off int64) int {
	return bytes.Count(b[:min(int(off), len(b))], []byte("\n")) + 1
}

// DangerousSyscalls may be allowed by a profile only when its policy
// lists them in allow_dangerous_syscalls. "clone" there means clone with
// namespace flags (clone without them is always fine).
var DangerousSyscalls = append(slices.Clone(ForbiddenSyscalls), "clone", "clone3")

// permissive actions let the syscall run (see jail.PermissiveActions).
var permissive = jail.PermissiveActions

// nativeArch is libseccomp's name of the architecture jaild runs on.
func nativeArch() specs.Arch {
	switch runtime.GOARCH {
	case "arm64":
		return specs.ArchAARCH64
	case "riscv64":
		return specs.ArchRISCV64
	}
	return specs.ArchX86_64
}

// CheckSeccomp lists what makes a filter unfit for a jail: a permissive
// default, foreign architectures (32-bit entry points reach syscalls under
// other numbers), a user-notify listener, and any dangerous syscall not
// in overrides.
func CheckSeccomp(s *specs.LinuxSeccomp, overrides []string) []string {
	var problems []string
	if slices.Contains(permissive, s.DefaultAction) {
		problems = append(problems, fmt.Sprintf("defaultAction %s lets every unlisted syscall run: use SCMP_ACT_ERRNO", s.DefaultAction))
	}
	for _, a := range s.Architectures {
		if a != nativeArch() {
			problems = append(problems, fmt.Sprintf("architecture %s: only the native %s is allowed (an empty list means native)", a, nativeArch()))
		}
	}
	if s.ListenerPath != "" {
		problems = append(problems, "listenerPath: user-notify listeners are not supported")
	}
	seen := map[string]bool{}
	for _, r := range s.Syscalls {
		if !slices.Contains(permissive, r.Action) {
			continue
		}
		for _, name := range r.Names {
			if seen[name] || slices.Contains(overrides, name) {
				continue
			}
			switch {
			case name == "clone" && !cloneWithoutNamespaces(r.Args):
				problems = append(problems, "allows clone with namespace flags: filter argument 0 with "+
					"SCMP_CMP_MASKED_EQ value "+fmt.Sprint(uint64(namespaceCloneFlags))+" valueTwo 0, or set allow_dangerous_syscalls = [\"clone\"]")
				seen[name] = true
			case name != "clone" && slices.Contains(DangerousSyscalls, name):
				problems = append(problems, fmt.Sprintf("allows %s: remove it or set allow_dangerous_syscalls = [%q]", name, name))
				seen[name] = true
			}
		}
	}
	return problems
}

// cloneWithoutNamespaces reports whether args restrict clone's flags
// (argument 0 on x86-64) to values without any namespace flag.
func cloneWithoutNamespaces(args []specs.LinuxSeccompArg) bool {
	for _, a := range args {
		if a.Index == 0 && a.Op == specs.OpMaskedEqual && a.Value&uint64(namespaceCloneFlags) == uint64(namespaceCloneFlags) && a.ValueTwo == 0 {
			return true
		}
	}
	return false
}

// AllowedNames returns the syscalls a filter allows unconditionally,
// sorted (for `jaild policy check` and the tests).
func AllowedNames(s *specs.LinuxSeccomp) []string {
	var names []string
	for _, r := range s.Syscalls {
		if r.Action == specs.ActAllow && len(r.Args) == 0 {
			names = append(names, r.Names...)
		}
	}
	sort.Strings(names)
	return slices.Compact(names)
}

// describe summarises a filter in one line.
func describe(s *specs.LinuxSeccomp) string {
	cond := 0
	for _, r := range s.Syscalls {
		if len(r.Args) > 0 || r.Action != specs.ActAllow {
			cond += len(r.Names)
		}
	}
	arch := "native"
	if len(s.Architectures) > 0 {
		parts := make([]string, len(s.Architectures))
		for i, a := range s.Architectures {
			parts[i] = string(a)
		}
		arch = strings.Join(parts, ",")
	}
	return fmt.Sprintf("%d syscalls allowed, %d with conditions, default %s, arch %s",
		len(AllowedNames(s)), cond, s.DefaultAction, arch)
}
