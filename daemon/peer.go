package daemon

import (
	"context"
	"net"

	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/daemon/api"
)

type callerKey struct{}

// connContext reads the peer's credentials once per connection (like
// tailscale's ipnserver) and carries them in every request's context.
// TCP connections carry no credentials.
func connContext(ctx context.Context, c net.Conn) context.Context {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return ctx
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return ctx
	}
	var cred *unix.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return ctx
	}
	return context.WithValue(ctx, callerKey{}, &api.Caller{UID: cred.Uid, GID: cred.Gid, PID: cred.Pid})
}

// callerFrom returns the Unix peer of a request, or nil over TCP.
func callerFrom(ctx context.Context) *api.Caller {
	c, _ := ctx.Value(callerKey{}).(*api.Caller)
	return c
}

// Authorizer decides whether a caller may use the API. c is nil for
// connections over the loopback TCP listener, which the operator enabled
// explicitly and which carry no identity.
type Authorizer func(c *api.Caller) error
