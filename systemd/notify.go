package systemd

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
)

// Notifier speaks sd_notify to the service manager. Outside systemd
// (no NOTIFY_SOCKET) every call is a no-op, so the daemon needs no second
// code path. Modelled on containerd's notify_systemd.go.
type Notifier struct {
	log *slog.Logger
	// notify sends one state; daemon.SdNotify in production.
	notify func(state string) (bool, error)
	// watchdog is WATCHDOG_USEC from the unit's WatchdogSec=, 0 if off.
	watchdog time.Duration
	enabled  bool // NOTIFY_SOCKET is set: a service manager listens
}

// NewNotifier reads NOTIFY_SOCKET and WATCHDOG_USEC. Both stay in the
// environment: jails never inherit it (every jail's environment is
// built from scratch by the runner).
func NewNotifier(log *slog.Logger) *Notifier {
	n := &Notifier{log: log, notify: func(s string) (bool, error) { return daemon.SdNotify(false, s) },
		enabled: os.Getenv("NOTIFY_SOCKET") != ""}
	if d, err := daemon.SdWatchdogEnabled(false); err != nil {
		log.Warn("ignoring the watchdog settings", "err", err)
	} else {
		n.watchdog = d
	}
	return n
}

func (n *Notifier) send(state string) {
	if _, err := n.notify(state); err != nil {
		n.log.Warn("sd_notify", "state", state, "err", err)
	}
}

// Ready tells systemd that start-up is complete, with a first status.
func (n *Notifier) Ready(status string) { n.send(daemon.SdNotifyReady + "\nSTATUS=" + status) }

// Status updates the one-line status `systemctl status` shows.
func (n *Notifier) Status(status string) { n.send("STATUS=" + status) }

// Stopping tells systemd the daemon is draining.
func (n *Notifier) Stopping(status string) { n.send(daemon.SdNotifyStopping + "\nSTATUS=" + status) }

// Enabled reports whether a service manager waits for our notifications
// (Type=notify).
func (n *Notifier) Enabled() bool { return n.enabled }

// WatchdogInterval is the watchdog timeout systemd asked for (0: none).
func (n *Notifier) WatchdogInterval() time.Duration { return n.watchdog }

// Watchdog pings systemd until ctx ends, but only after alive succeeds:
// alive must prove the serving loop answers (jaild asks its own socket
// for /healthz), so a daemon whose accept loop or handlers are wedged
// stops pinging and systemd restarts it. A goroutine that merely ticks
// would keep a dead daemon alive. Pings come at half the timeout and each
// probe gets a quarter of it.
func (n *Notifier) Watchdog(ctx context.Context, alive func(context.Context) error) {
	if n.watchdog <= 0 {
		return
	}
	t := time.NewTicker(n.watchdog / 2)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, n.watchdog/4)
		err := alive(pctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			n.log.Warn("watchdog: serving loop did not answer, not pinging", "err", err)
		default:
			n.send(daemon.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// StatusLoop sends status() to systemd each time changes delivers, until
// ctx ends.
func (n *Notifier) StatusLoop(ctx context.Context, changes <-chan struct{}, status func() string) {
	last := ""
	for {
		select {
		case <-ctx.Done():
			return
		case <-changes:
			if s := status(); s != last {
				n.Status(s)
				last = s
			}
		}
	}
}
