// Package systemd holds jaild's integration with systemd: the unit files,
// socket activation, sd_notify readiness and watchdog pings, and a slog
// handler that writes structured fields to the journal.
package systemd
