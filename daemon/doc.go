// Package daemon is jaild's HTTP/JSON service over a Unix socket: routes,
// peer credentials, admission, the mapping of errors to HTTP status in one
// place, run history and metrics. It hands requests to policy and runs
// them through a jail.Runner; nothing below it imports it.
package daemon
