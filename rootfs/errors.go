package rootfs

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNotFound: no image matches the reference.
	ErrNotFound = errors.New("rootfs not found")
	// ErrDigestMismatch: a tree's content no longer matches its digest.
	ErrDigestMismatch = errors.New("rootfs digest mismatch")
	// ErrBadTree: a tree or archive holds something a jail must not get.
	// Errors wrapping it are *CheckError and list every problem.
	ErrBadTree = errors.New("bad rootfs tree")
	// ErrInvalidRef: a name or reference is not well formed.
	ErrInvalidRef = errors.New("invalid rootfs reference")
	// ErrFetch: apt could not resolve or download the packages. Usually the
	// environment (network, mirror, package lists), not the request.
	ErrFetch = errors.New("fetch packages")
)

// maxProblems caps what a CheckError keeps: a hostile tarball can hold a
// million device nodes, and nobody reads past the first screenful.
const maxProblems = 50

// Problem is one reason a tree or archive was refused.
type Problem struct {
	Path   string // absolute path inside the root, e.g. "/usr/bin/su"
	Reason string // e.g. "setuid file"
}

// CheckError lists the problems found in one tree or archive. It unwraps to
// ErrBadTree.
type CheckError struct {
	Source   string    // the tree or archive checked
	Problems []Problem // at most maxProblems, in the order found
	Omitted  int       // problems found beyond maxProblems
}

func (e *CheckError) add(path, format string, args ...any) {
	if len(e.Problems) >= maxProblems {
		e.Omitted++
		return
	}
	e.Problems = append(e.Problems, Problem{Path: path, Reason: fmt.Sprintf(format, args...)})
}

func (e *CheckError) merge(o *CheckError) {
	for _, p := range o.Problems {
		e.add(p.Path, "%s", p.Reason)
	}
	e.Omitted += o.Omitted
}

func (e *CheckError) count() int { return len(e.Problems) + e.Omitted }

// orNil returns e as an error when it holds problems, else nil. It keeps a
// nil *CheckError from becoming a non-nil error interface.
func (e *CheckError) orNil() error {
	if e.count() == 0 {
		return nil
	}
	return e
}

func (e *CheckError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "check %s: %d problem(s): ", e.Source, e.count())
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %s", p.Path, p.Reason)
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "; and %d more", e.Omitted)
	}
	return b.String()
}

func (e *CheckError) Unwrap() error { return ErrBadTree }
