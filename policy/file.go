package policy

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/jaild/jaild/jail"
)

// DefaultPath is where the daemon looks for the operator's policy.
const DefaultPath = "/etc/jaild/policy.toml"

// defaultPolicy is the commented policy shipped in the repository; the
// daemon uses it when DefaultPath does not exist.
//
//go:embed default.toml
var defaultPolicy []byte

// DefaultFile returns the text of the shipped default policy.
func DefaultFile() []byte { return bytes.Clone(defaultPolicy) }

// ErrInvalid wraps every problem found in a policy file.
var ErrInvalid = errors.New("invalid policy")

// Validation modes: what POST /v1/runs does with static findings.
const (
	ModeOff     = "off"     // runs are not checked (POST /v1/validate still is)
	ModeReport  = "report"  // findings go into the result; the run goes ahead
	ModeEnforce = "enforce" // code with findings is refused (422) before a jail starts
)

// Policy is a loaded, validated operator policy.
type Policy struct {
	// Profiles by name.
	Profiles map[string]*Profile
	// Rules in file order.
	Rules []*Rule
	// Digest is "sha256:<hex>" of the file's bytes, recorded in every result.
	Digest string
	// Source is the file the policy came from ("builtin default" for the
	// embedded one).
	Source string
	// Warnings are problems that do not make the policy invalid (a group
	// that does not exist on this host matches nobody).
	Warnings []string
	// memberOf reports whether uid is a member of gid by /etc/group;
	// replaced in tests.
	memberOf func(uid, gid uint32) bool
}

// Profile is what one kind of run may do.
type Profile struct {
	Name     string
	Language jail.Language
	// Rootfs is the rootfs name, optionally pinned: "python@sha256:<hex>".
	Rootfs string
	// DefaultLimits fill what a request leaves out; MaxLimits bound it.
	// Fields left out of the file inherit the daemon's default_limits and
	// max_limits (see Inherit).
	DefaultLimits Limits
	MaxLimits     Limits
	// Env lists variable names (or path.Match patterns like "APP_*") a
	// request may set; any other name is refused with 400.
	Env []string
	// Seccomp names the filter: a built-in profile name or an absolute
	// path to an OCI runtime-spec seccomp JSON file.
	Seccomp string
	// AllowDangerousSyscalls lets the profile's filter allow syscalls from
	// DangerousSyscalls; anything else dangerous is refused at load.
	AllowDangerousSyscalls []string
	// Filter is the loaded seccomp filter.
	Filter *specs.LinuxSeccomp
	// Validation configures the static checks.
	Validation Validation
}

// Limits are a profile's limits in the API's units; zero means unset.
type Limits struct {
	WallMS      int64 `toml:"wall_ms"`
	CPUMS       int64 `toml:"cpu_ms"`
	MemoryBytes int64 `toml:"memory_bytes"`
	Pids        int64 `toml:"pids"`
	OutputBytes int64 `toml:"output_bytes"`
	TmpBytes    int64 `toml:"tmp_bytes"`
}

// Validation configures the static checks of a profile.
type Validation struct {
	// Mode is off, report or enforce.
	Mode string `toml:"mode"`
	// AllowImports, when not empty, is the only modules code may import
	// (top-level names: "json" allows "json.decoder").
	AllowImports []string `toml:"allow_imports"`
	// DenyImports are refused even when AllowImports is empty.
	DenyImports []string `toml:"deny_imports"`
}

// file is the TOML layout.
type file struct {
	Profile map[string]profileFile `toml:"profile"`
	Rule    []ruleFile             `toml:"rule"`
}

type profileFile struct {
	Language               string     `toml:"language"`
	Rootfs                 string     `toml:"rootfs"`
	Seccomp                string     `toml:"seccomp"`
	AllowDangerousSyscalls []string   `toml:"allow_dangerous_syscalls"`
	Env                    []string   `toml:"env"`
	DefaultLimits          Limits     `toml:"default_limits"`
	MaxLimits              Limits     `toml:"max_limits"`
	Validation             Validation `toml:"validation"`
}

type ruleFile struct {
	UID           *int64   `toml:"uid"`
	GID           *int64   `toml:"gid"`
	User          string   `toml:"user"`
	Group         string   `toml:"group"`
	TCP           bool     `toml:"tcp"`
	Profiles      []string `toml:"profiles"`
	MaxConcurrent int      `toml:"max_concurrent"`
}

// Load reads and validates the policy at path.
func Load(path string) (*Policy, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return Parse(b, path)
}

// BuiltinSource is the Source of the embedded default policy.
const BuiltinSource = "builtin default"

// LoadDefault parses the embedded default policy.
func LoadDefault() (*Policy, error) { return Parse(defaultPolicy, BuiltinSource) }

// Parse validates a policy file's contents; name is used in messages.
// Every problem is reported at once, each with its line.
func Parse(data []byte, name string) (*Policy, error) {
	var f file
	md, err := toml.NewDecoder(bytes.NewReader(data)).Decode(&f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%w: %s: line %d: %s", ErrInvalid, name, pe.Position.Line, pe.Message)
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, name, err)
	}
	loc := locate(data)
	var errs []string
	for _, k := range md.Undecoded() {
		errs = append(errs, fmt.Sprintf("line %d: unknown key %s", loc.line(k), k.String()))
	}
	// The decoder matches keys to fields with strings.EqualFold, so
	// [profIle.x], [profile.x] and even [ſ…] forms (U+017F folds to s)
	// would all fill profile x, in map order: the same file could load
	// differently each time. Every key of the format, profile names too, is
	// ASCII lower-case letters, digits, _ and -, so anything else is refused.
	for _, k := range md.Keys() {
		if !PlainKey(k) {
			errs = append(errs, fmt.Sprintf("line %d: key %s: keys are ASCII lower-case letters, digits, _ and -", loc.line(k), k.String()))
		}
	}
	sum := sha256.Sum256(data)
	p := &Policy{Profiles: map[string]*Profile{}, Digest: "sha256:" + hex.EncodeToString(sum[:]), Source: name,
		memberOf: memberOf}
	c := &checker{loc: loc}
	names := make([]string, 0, len(f.Profile))
	for n := range f.Profile {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if prof := c.profile(n, f.Profile[n]); prof != nil {
			p.Profiles[n] = prof
		}
	}
	for i, rf := range f.Rule {
		if r := c.rule(i, rf, p.Profiles); r != nil {
			p.Rules = append(p.Rules, r)
		}
	}
	if len(f.Rule) == 0 {
		c.fail(1, "no [[rule]]: nobody could run anything")
	}
	errs = append(errs, c.errs...)
	p.Warnings = c.warnings
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %s:\n  %s", ErrInvalid, name, strings.Join(errs, "\n  "))
	}
	return p, nil
}

// PlainKey reports whether every part of a TOML key is ASCII lower-case
// letters, digits, _ and -: the only keys jaild's files have. The TOML
// decoder matches keys to fields with strings.EqualFold, so anything else
// could fill a field under another spelling (see Parse); jaild.toml uses
// it too.
func PlainKey(k toml.Key) bool {
	for _, part := range k {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			c := part[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return false
			}
		}
	}
	return true
}
