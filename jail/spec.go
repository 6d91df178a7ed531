package jail

import (
	"fmt"
	"path"
	"slices"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Language names an interpreter family a rootfs provides.
type Language string

// The languages jaild runs.
const (
	Python Language = "python"
	Node   Language = "node"
)

// Languages lists every supported language, in a stable order.
var Languages = []Language{Python, Node}

// Valid reports whether l is a supported language.
func (l Language) Valid() bool { return l == Python || l == Node }

// WorkDir is where a run's files are placed and its working directory.
const WorkDir = "/work"

// Rootfs identifies the read-only root filesystem a jail runs on.
type Rootfs struct {
	Name   string // e.g. "python"
	Digest string // "sha256:<hex>", recorded in every Result
	Path   string // absolute host path of the tree
}

// File is placed in WorkDir before the script starts.
type File struct {
	Name    string // slash-separated path relative to WorkDir
	Content []byte
}

// Spec is everything a Runner needs for one run. It holds no policy: the
// caller (policy package, daemon) decides argv, env, limits and seccomp.
type Spec struct {
	Rootfs   Rootfs
	Argv     []string // argv[0] is an absolute path inside the rootfs
	Env      []string // KEY=VALUE, passed as is; nothing is inherited
	Files    []File
	Stdin    []byte
	Limits   Limits
	Hostname string // defaults to "jail"
	// Seccomp is the syscall filter in OCI runtime-spec form. A nil filter
	// is refused: every jail is filtered (default deny).
	Seccomp *specs.LinuxSeccomp
	// Output, when set, is called with each chunk of kept output as the
	// jail writes it (bytes past Limits.Output are not passed). It runs on
	// the runner's reader goroutine: a slow Output slows the jail's writes,
	// never the wall clock. Chunks of one stream arrive in order.
	Output func(s Stream, chunk []byte)
}

// Stream names an output stream of a run.
type Stream int

// Output streams.
const (
	Stdout Stream = 1
	Stderr Stream = 2
)

// Validate checks the spec is complete and self-consistent.
func (s *Spec) Validate() error {
	switch {
	case s.Rootfs.Path == "" || !path.IsAbs(s.Rootfs.Path):
		return fmt.Errorf("%w: rootfs path %q is not absolute", ErrInvalidSpec, s.Rootfs.Path)
	case len(s.Argv) == 0 || !path.IsAbs(s.Argv[0]):
		return fmt.Errorf("%w: argv[0] must be an absolute path", ErrInvalidSpec)
	case s.Seccomp == nil:
		return fmt.Errorf("%w: no seccomp filter", ErrInvalidSpec)
	}
	for _, e := range s.Env {
		if !strings.Contains(e, "=") || strings.ContainsRune(e, 0) {
			return fmt.Errorf("%w: env entry is not KEY=VALUE", ErrInvalidSpec)
		}
	}
	if err := checkExecSize(s.Argv, s.Env); err != nil {
		return err
	}
	seen := make(map[string]bool, len(s.Files))
	for _, f := range s.Files {
		if err := ValidFileName(f.Name); err != nil {
			return err
		}
		if seen[f.Name] {
			return fmt.Errorf("%w: file %q given twice", ErrInvalidSpec, f.Name)
		}
		seen[f.Name] = true
	}
	if a, b, ok := FileDirCollision(s.Files); ok {
		return fmt.Errorf("%w: file %q is also a directory of %q", ErrInvalidSpec, a, b)
	}
	return s.Limits.Validate()
}

// FileDirCollision finds a file whose name is a directory of another
// file's path ("pkg" and "pkg/a.py"): both cannot exist in WorkDir.
func FileDirCollision(files []File) (file, other string, found bool) {
	names := make(map[string]bool, len(files))
	for _, f := range files {
		names[f.Name] = true
	}
	for _, f := range files {
		for i := strings.IndexByte(f.Name, '/'); i > 0; i = nextSlash(f.Name, i) {
			if names[f.Name[:i]] {
				return f.Name[:i], f.Name, true
			}
		}
	}
	return "", "", false
}

func nextSlash(s string, i int) int {
	if j := strings.IndexByte(s[i+1:], '/'); j >= 0 {
		return i + 1 + j
	}
	return -1
}

// ValidFileName accepts a clean relative slash path with no "..", NUL or
// empty components: the only names a run may place in WorkDir.
func ValidFileName(name string) error {
	switch {
	case name == "" || len(name) > 255:
		return fmt.Errorf("%w: file name %q is empty or longer than 255 bytes", ErrInvalidSpec, name)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%w: file name contains NUL", ErrInvalidSpec)
	case strings.HasPrefix(name, "/"):
		return fmt.Errorf("%w: file name %q is absolute", ErrInvalidSpec, name)
	case path.Clean(name) != name || name == "." || strings.HasPrefix(name, "../") || name == "..":
		return fmt.Errorf("%w: file name %q is not a clean relative path", ErrInvalidSpec, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("%w: file name %q has a \"..\" component", ErrInvalidSpec, name)
		}
	}
	return nil
}

// Bounds of what execve(2) accepts: a string over MAX_ARG_STRLEN (32 pages)
// or an argv+env over ARG_MAX (a quarter of the stack rlimit, 2 MiB by
// default) fail with E2BIG. That failure happens in runc's init after the
// jail is built, which then exits 255 as if the script had failed, so
// refuse it up front (hostile suite: huge_args_spec.py).
const (
	maxArgString = 32 * 4096
	maxArgTotal  = 1 << 20
)

func checkExecSize(argv, env []string) error {
	total := 0
	for _, list := range [][]string{argv, env} {
		for _, a := range list {
			if len(a) >= maxArgString {
				return fmt.Errorf("%w: an argument or env entry of %d bytes exceeds the kernel's %d", ErrInvalidSpec, len(a), maxArgString-1)
			}
			total += len(a) + 1 + 8 // the string, its NUL and its pointer
		}
	}
	if total > maxArgTotal {
		return fmt.Errorf("%w: argv and env take %d bytes, more than %d", ErrInvalidSpec, total, maxArgTotal)
	}
	return nil
}

// PermissiveActions are the seccomp actions that let a syscall run (LOG
// and NOTIFY included; TRACE hands the decision to a tracer, which a jail
// could be).
var PermissiveActions = []specs.LinuxSeccompAction{specs.ActAllow, specs.ActLog, specs.ActTrace, specs.ActNotify}

// SeccompMayAllow reports whether filter can let syscall name run: a rule
// with a permissive action names it (with or without argument
// conditions), or the default action is permissive and no rule names it.
func SeccompMayAllow(filter *specs.LinuxSeccomp, name string) bool {
	named := false
	for _, r := range filter.Syscalls {
		if slices.Contains(r.Names, name) {
			if slices.Contains(PermissiveActions, r.Action) {
				return true
			}
			named = true
		}
	}
	return !named && slices.Contains(PermissiveActions, filter.DefaultAction)
}
