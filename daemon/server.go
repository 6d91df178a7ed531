package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/rootfs"
)

// Images resolves a rootfs reference ("python", "node@sha256:…").
type Images interface {
	Lookup(ref string) (rootfs.Image, error)
}

// HostInfo is what the runner reports about the host, for /v1/info.
type HostInfo struct {
	CgroupVersion string
	Seccomp       bool
}

// Options wires a Server.
type Options struct {
	Config  Config
	Runner  jail.Runner
	Images  Images
	Host    HostInfo
	Logger  *slog.Logger
	Version string
	// Authorize decides who may call; nil allows root and SocketGroup.
	Authorize Authorizer
}

// Server is the jaild HTTP API.
type Server struct {
	cfg       Config
	runner    jail.Runner
	host      HostInfo
	log       *slog.Logger
	version   string
	authorize Authorizer
	adm       *admission
	hist      *history
	images    map[jail.Language]rootfs.Image
	missing   map[jail.Language]error

	runCtx     context.Context // parent of every run; cancelled after the shutdown grace
	cancelRuns context.CancelCauseFunc
	inflight   sync.WaitGroup
	stopPrune  chan struct{}
}

// New validates the configuration, resolves each language's rootfs,
// opens the history and marks runs left in flight by a dead daemon as
// aborted.
func New(o Options) (*Server, error) {
	if err := o.Config.Validate(); err != nil {
		return nil, err
	}
	if o.Runner == nil || o.Images == nil {
		return nil, errors.New("new server: runner and images are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Authorize == nil {
		o.Authorize = groupAuthorizer(o.Config.SocketGroup)
	}
	s := &Server{cfg: o.Config, runner: o.Runner, host: o.Host, log: o.Logger, version: o.Version,
		authorize: o.Authorize, adm: newAdmission(o.Config.MaxConcurrent, o.Config.QueueSize),
		images: map[jail.Language]rootfs.Image{}, missing: map[jail.Language]error{}, stopPrune: make(chan struct{})}
	for _, l := range jail.Languages {
		img, err := o.Images.Lookup(string(l))
		if err != nil {
			s.missing[l] = err
			s.log.Warn("language unavailable: no rootfs", "language", l, "err", err)
			continue
		}
		s.images[l] = img
	}
	if v, ok := o.Images.(imageVerifier); ok {
		s.verifyImages(v)
	}
	s.runCtx, s.cancelRuns = context.WithCancelCause(context.Background())
	s.hist = openHistory(filepath.Join(o.Config.StateDir, "history.db"), o.Config.History, s.log)
	if n := s.hist.markAborted(context.Background()); n > 0 {
		s.log.Warn("marked runs of a previous daemon as aborted", "count", n)
	}
	s.hist.prune(context.Background(), time.Now())
	return s, nil
}

// Handler returns the API's routes behind the request guards.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathRuns, s.handleRun)
	mux.HandleFunc("GET "+api.PathRuns, s.handleList)
	mux.HandleFunc("GET "+api.PathRun+"{id}", s.handleGet)
	mux.HandleFunc("GET "+api.PathInfo, s.handleInfo)
	mux.HandleFunc("GET "+api.PathHealth, s.handleHealth)
	return s.guard(mux)
}

// guard refuses browser-originated requests (a web page must never be able
// to reach the API through the TCP listener: CSRF, DNS rebinding), checks
// the caller and turns the mux's 404/405 into API errors.
func (s *Server) guard(next *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" || r.Header.Get("Sec-Fetch-Site") != "" {
			writeError(w, fmt.Errorf("%w: browser-originated requests are refused", ErrForbidden))
			return
		}
		if callerFrom(r.Context()) == nil && !loopbackHost(r.Host) {
			writeError(w, fmt.Errorf("%w: Host %q is not a loopback name", ErrForbidden, r.Host))
			return
		}
		if err := s.authorize(callerFrom(r.Context())); err != nil {
			writeError(w, err)
			return
		}
		if _, pattern := next.Handler(r); pattern == "" {
			s.notRouted(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) notRouted(w http.ResponseWriter, r *http.Request) {
	known := r.URL.Path == api.PathRuns || r.URL.Path == api.PathInfo || r.URL.Path == api.PathHealth ||
		(strings.HasPrefix(r.URL.Path, api.PathRun) && len(r.URL.Path) > len(api.PathRun) &&
			!strings.Contains(r.URL.Path[len(api.PathRun):], "/"))
	if known {
		writeJSON(w, http.StatusMethodNotAllowed, api.Error{Code: api.CodeMethodNotAllowed,
			Message: fmt.Sprintf("method %s not allowed on %s", r.Method, r.URL.Path)})
		return
	}
	writeJSON(w, http.StatusNotFound, api.Error{Code: api.CodeNotFound, Message: "no such endpoint: " + r.URL.Path})
}

// loopbackHost accepts the Host names a local client sends over TCP.
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// Serve answers on every listener until ctx ends, then shuts down: no new
// connections or runs, in-flight runs get ShutdownGrace to finish, then
// their jails are killed; it returns once every run is torn down.
func (s *Server) Serve(ctx context.Context, lns ...net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ConnContext:       connContext,
		BaseContext:       func(net.Listener) context.Context { return s.runCtx },
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, len(lns))
	for _, ln := range lns {
		go func() { errc <- srv.Serve(ln) }()
	}
	go s.pruneLoop()
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.shutdown(srv)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) shutdown(srv *http.Server) {
	running, queued := s.adm.counts()
	s.log.Info("shutting down", "running", running, "queued", queued, "grace", s.cfg.ShutdownGrace.Duration)
	s.adm.close()
	close(s.stopPrune)
	grace, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownGrace.Duration)
	defer cancel()
	if err := srv.Shutdown(grace); err != nil {
		s.log.Warn("grace period over: killing in-flight runs", "err", err)
	}
	// Kill every jail still running; their handlers then answer with the
	// verdict and record it before the connections are closed.
	s.cancelRuns(ErrShuttingDown)
	s.inflight.Wait()
	// Let the answers of the killed runs reach their clients, then close.
	drain, cancelDrain := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelDrain()
	_ = srv.Shutdown(drain)
	_ = srv.Close()
	s.hist.close()
	s.log.Info("shut down")
}

func (s *Server) pruneLoop() {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stopPrune:
			return
		case now := <-t.C:
			s.hist.prune(s.runCtx, now)
		}
	}
}
