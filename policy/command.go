package policy

import (
	"fmt"
	"path"

	"github.com/jaild/jaild/jail"
)

// Command returns the argv that runs entrypoint (a file name relative to
// jail.WorkDir) with the rootfs's interpreter, followed by the script's args.
//
// Python runs with -B (no .pyc writes: the rootfs is read-only), -E (no
// PYTHON* variables steer the interpreter), -s (no user site dir) and -u
// (unbuffered stdio, so output streams as it is written; PYTHONUNBUFFERED
// would be ignored because of -E). -I is
// not used because it drops the script's directory from sys.path, which a
// multi-file submission needs.
func Command(lang jail.Language, interpreter, entrypoint string, args []string) ([]string, error) {
	if !path.IsAbs(interpreter) {
		return nil, fmt.Errorf("interpreter %q is not an absolute path", interpreter)
	}
	if err := jail.ValidFileName(entrypoint); err != nil {
		return nil, err
	}
	script := path.Join(jail.WorkDir, entrypoint)
	var argv []string
	switch lang {
	case jail.Python:
		argv = []string{interpreter, "-B", "-E", "-s", "-u", script}
	case jail.Node:
		argv = []string{interpreter, script}
	default:
		return nil, fmt.Errorf("unknown language %q", lang)
	}
	return append(argv, args...), nil
}

// BaseEnv is the environment every jail starts from; a request's own
// variables are added after it.
func BaseEnv(lang jail.Language) []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=/tmp",
		"TMPDIR=/tmp",
		"LANG=C.UTF-8",
	}
}

// DefaultEntrypoint is the file name inline code is stored under.
func DefaultEntrypoint(lang jail.Language) string {
	if lang == jail.Node {
		return "main.js"
	}
	return "main.py"
}
