package systemd

import (
	"fmt"
	"net"

	"github.com/coreos/go-systemd/v22/activation"
)

// Listeners returns the sockets systemd passed (LISTEN_FDS, for
// jaild.socket), or nil when the daemon was not socket-activated and must
// open its socket itself. The LISTEN_* variables are unset and the
// descriptors marked close-on-exec, so jails never inherit them.
func Listeners() ([]net.Listener, error) {
	lns, err := activation.Listeners()
	if err != nil {
		return nil, fmt.Errorf("socket activation: %w", err)
	}
	var out []net.Listener
	for i, ln := range lns {
		if ln == nil { // not a stream socket
			for _, l := range out {
				l.Close()
			}
			return nil, fmt.Errorf("socket activation: descriptor %d is not a listening stream socket", 3+i)
		}
		out = append(out, ln)
	}
	return out, nil
}
