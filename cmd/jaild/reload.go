package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"

	"github.com/jaild/jaild/daemon"
	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/systemd"
)

// reloader re-reads one reloadable part of the daemon on SIGHUP. Each
// keeps what is in force when its new input is bad, and says why in err.
// The config is one; the operator policy file appends another.
type reloader struct {
	name   string
	reload func() error
}

// handleSIGHUP runs every reloader on each SIGHUP (systemctl reload sends
// it through ExecReload) until ctx ends. A refused reload is logged at
// error level with its reason, and the daemon goes on with the old
// settings: a typo in the file must never take the service down.
func handleSIGHUP(ctx context.Context, hup <-chan os.Signal, log *slog.Logger, n *systemd.Notifier, srv *daemon.Server, rs []reloader) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			reloadAll(log, rs)
			n.Status(srv.Status())
		}
	}
}

// reloadAll runs each reloader; one failing does not stop the others.
// Reloaders can depend on each other: a config lowering max_limits below
// a profile of the policy in force fits only the new policy, which is
// loaded after it (and a policy raising a profile's maximum may need the
// new config). So when one pass has both, the refused ones are tried once
// more; what still fails is logged with its reason.
func reloadAll(log *slog.Logger, rs []reloader) (failed int) {
	errs := make([]error, len(rs))
	for pass := 0; pass < 2; pass++ {
		progressed := false
		for i, r := range rs {
			if pass > 0 && errs[i] == nil {
				continue
			}
			if errs[i] = r.reload(); errs[i] == nil {
				progressed = true
				log.Info("reloaded", "what", r.name)
			}
		}
		if pass == 0 && !progressed {
			break
		}
	}
	for i, err := range errs {
		if err != nil {
			failed++
			log.Error("reload refused: keeping the settings in force", "what", rs[i].name, "err", err)
		}
	}
	return failed
}

// healthProbe asks the daemon's own socket for /healthz: it succeeds only
// if the accept loop and the HTTP handlers answer, which is what the
// systemd watchdog must know. Any HTTP answer counts (503 only says a
// rootfs is missing, not that the daemon is wedged).
func healthProbe(addr net.Addr) func(context.Context) error {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, addr.Network(), addr.String())
		}}}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://jaild"+api.PathHealth, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
}
