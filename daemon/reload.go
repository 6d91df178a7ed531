package daemon

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/rootfs"
)

// imageSet is the rootfs resolved for each language at start or reload.
type imageSet struct {
	found   map[jail.Language]rootfs.Image
	missing map[jail.Language]error
}

func resolveImages(src Images, log *slog.Logger) *imageSet {
	set := &imageSet{found: map[jail.Language]rootfs.Image{}, missing: map[jail.Language]error{}}
	for _, l := range jail.Languages {
		img, err := src.Lookup(string(l))
		if err != nil {
			set.missing[l] = err
			log.Warn("language unavailable: no rootfs", "language", l, "err", err)
			continue
		}
		set.found[l] = img
	}
	return set
}

// config is the configuration in force; read it once per request.
func (s *Server) config() *Config { return s.cfgPtr.Load() }

// ErrNotReloadable means a reload tried to change what needs a restart.
var ErrNotReloadable = errors.New("setting cannot change without a restart")

// Reload applies a new configuration without dropping runs: limits,
// concurrency, queue size, history retention and shutdown grace take
// effect for requests that arrive from now on; each language's and each
// policy profile's rootfs is looked up again, and the profiles' inherited
// limits are filled from the new config, and the warm pool is given the
// templates that follow (Options.PoolSpecs). A configuration that is
// invalid, that changes the socket, state dir, cgroup parent, TCP listener
// or the [pool] section (the pool is sized when the daemon starts), or
// whose max_limits a profile of the policy in force exceeds, is refused
// and the old one stays in force.
func (s *Server) Reload(next Config) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if err := next.Validate(); err != nil {
		return err
	}
	cur := s.config()
	for _, f := range []struct {
		name     string
		old, new string
	}{
		{"socket", cur.Socket, next.Socket}, {"socket_group", cur.SocketGroup, next.SocketGroup},
		{"listen_tcp", cur.ListenTCP, next.ListenTCP}, {"state_dir", cur.StateDir, next.StateDir},
		{"cgroup_parent", cur.CgroupParent, next.CgroupParent},
		{"pool", fmt.Sprintf("%+v", cur.Pool), fmt.Sprintf("%+v", next.Pool)},
	} {
		if f.old != f.new {
			return fmt.Errorf("%w: %s (%q → %q)", ErrNotReloadable, f.name, f.old, f.new)
		}
	}
	s.imgSrc.newPass()
	// The policy's profiles inherit the config's limits: refill them from
	// the policy as loaded, and refuse a config whose maximums a profile
	// of the policy in force exceeds.
	ap, err := s.preparePolicy(s.pol.Load().raw, &next)
	if err != nil {
		return fmt.Errorf("policy in force does not fit the new config: %w", err)
	}
	s.adm.resize(next.MaxConcurrent, next.QueueSize)
	s.hist.setConfig(next.History)
	s.images.Store(resolveImages(s.imgSrc, s.log))
	s.cfgPtr.Store(&next)
	s.pol.Store(ap)
	s.updatePool()
	s.notifyChange()
	s.log.Info("configuration reloaded", "max_concurrent", next.MaxConcurrent, "queue_size", next.QueueSize)
	return nil
}

// Status is a one-line summary for sd_notify STATUS= and logs.
func (s *Server) Status() string {
	running, queued := s.adm.counts()
	cfg := s.config()
	return fmt.Sprintf("%d of %d jails running, %d queued, %d runs served", running, cfg.MaxConcurrent, queued, s.served.Load())
}

// Changes delivers a value soon after a run starts or finishes or the
// configuration is reloaded, coalesced: a reader that is slow sees one
// value for many changes and reads Status afresh.
func (s *Server) Changes() <-chan struct{} { return s.changed }

func (s *Server) notifyChange() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}
