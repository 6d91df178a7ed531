// Package jail owns the vocabulary of one sandboxed run: what to run (Spec,
// Limits, File), what came of it (Result, Status) and the Runner interface
// that executes a Spec in a single-use jail.
//
// The package is pure Go with no cgo and no libcontainer, so the daemon,
// policy and their tests can use it anywhere. The libcontainer-backed runner
// lives in the subpackage jail/container (cgo, build tag "seccomp").
package jail
