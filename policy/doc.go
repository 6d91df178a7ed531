// Package policy owns what an operator allows: the seccomp profiles jails
// run under and the translation of a request into a jail.Spec (argv, env,
// limits). It is pure Go and never imports the libcontainer runner.
package policy
