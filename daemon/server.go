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
	"sync/atomic"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
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
	// Authorize decides who may connect at all; nil lets through every
	// caller some rule of the policy matches.
	Authorize Authorizer
	// Policy is the operator policy; nil uses the embedded default.
	Policy *policy.Policy
	// PoolSpecs, if set, is handed the warm pool's templates (PoolSpecs)
	// in New and again after every successful Reload and ReloadPolicy, so
	// that the pool keeps jails for the specs requests produce now.
	PoolSpecs func([]PoolSpec)
	// CheckRunner runs Check's smoke jails; nil uses Runner. With a warm
	// pool it is the cold runner under the pool: a smoke run is no caller's
	// run, and through the pool it would count as a miss and raise the
	// key's target until the idle shrink.
	CheckRunner jail.Runner
}

// Server is the jaild HTTP API.
type Server struct {
	cfgPtr    atomic.Pointer[Config] // swapped whole by Reload
	images    atomic.Pointer[imageSet]
	reloadMu  sync.Mutex
	imgSrc    *verifiedImages
	runner    jail.Runner
	checkRun  jail.Runner // Check's smoke jails (Options.CheckRunner)
	host      HostInfo
	log       *slog.Logger
	version   string
	authorize Authorizer
	adm       *admission
	hist      *history
	pol       atomic.Pointer[activePolicy] // swapped whole by Reload and ReloadPolicy
	quota     quota
	metrics   *metrics
	changed   chan struct{} // a run started or finished; see Changes
	served    atomic.Int64  // finished runs, for Status

	runCtx     context.Context // parent of every run; cancelled after the shutdown grace
	cancelRuns context.CancelCauseFunc
	inflight   sync.WaitGroup
	stopPrune  chan struct{}
	// streamTimeout bounds each write of a streamed run (streamWriteTimeout).
	streamTimeout time.Duration
	poolSpecs     func([]PoolSpec)
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
	if o.CheckRunner == nil {
		o.CheckRunner = o.Runner
	}
	s := &Server{runner: o.Runner, checkRun: o.CheckRunner, host: o.Host, log: o.Logger, version: o.Version, imgSrc: newVerifiedImages(o.Images, o.Logger),
		authorize: o.Authorize, adm: newAdmission(o.Config.MaxConcurrent, o.Config.QueueSize),
		stopPrune: make(chan struct{}), changed: make(chan struct{}, 1),
		streamTimeout: streamWriteTimeout, poolSpecs: o.PoolSpecs}
	if s.authorize == nil {
		s.authorize = s.policyAuthorizer
	}
	s.metrics = newMetrics(s)
	cfg := o.Config
	s.cfgPtr.Store(&cfg)
	s.images.Store(resolveImages(s.imgSrc, s.log))
	if o.Policy == nil {
		p, err := policy.LoadDefault()
		if err != nil {
			return nil, err
		}
		o.Policy = p
	}
	ap, err := s.preparePolicy(o.Policy, &cfg)
	if err != nil {
		return nil, err
	}
	s.pol.Store(ap)
	s.runCtx, s.cancelRuns = context.WithCancelCause(context.Background())
	s.hist = openHistory(filepath.Join(o.Config.StateDir, "history.db"), o.Config.History, s.log)
	if n := s.hist.markAborted(context.Background()); n > 0 {
		s.log.Warn("marked runs of a previous daemon as aborted", "count", n)
	}
	s.hist.prune(context.Background(), time.Now())
	s.updatePool()
	return s, nil
}

// updatePool hands the pool the templates of the config and policy in
// force. Callers hold reloadMu (or are New), so updates arrive in order.
func (s *Server) updatePool() {
	if s.poolSpecs != nil {
		s.poolSpecs(s.PoolSpecs())
	}
}

// Handler returns the API's routes behind the request guards.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+api.PathRuns, s.handleRun)
	mux.HandleFunc("GET "+api.PathRuns, s.handleList)
	mux.HandleFunc("GET "+api.PathRun+"{id}", s.handleGet)
	mux.HandleFunc("GET "+api.PathInfo, s.handleInfo)
	mux.HandleFunc("GET "+api.PathHealth, s.handleHealth)
	mux.HandleFunc("POST "+api.PathEvals, s.handleEval)
	mux.HandleFunc("GET "+api.PathEval+"{id}", s.handleGetEval)
	s.pistonRoutes(mux)
	mux.HandleFunc("POST "+api.PathValidate, s.handleValidate)
	mux.Handle("GET "+api.PathMetrics, s.metrics.handler())
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
			if r.Method == http.MethodPost && r.URL.Path == api.PathRuns {
				s.metrics.reject(err) // a caller no rule of the policy matches
			}
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
		r.URL.Path == api.PathEvals || pistonPath(r.URL.Path) ||
		r.URL.Path == api.PathValidate || r.URL.Path == api.PathMetrics ||
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
	grace := s.config().ShutdownGrace.Duration
	s.log.Info("shutting down", "running", running, "queued", queued, "grace", grace)
	s.adm.close()
	close(s.stopPrune)
	graceCtx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(graceCtx); err != nil {
		s.log.Warn("grace period over: killing in-flight runs", "err", err)
	}
	// Kill every jail still running; their handlers then answer with the
	// verdict and record it before the connections are closed.
	s.cancelRuns(ErrShuttingDown)
	handlersDone := make(chan struct{})
	go func() { s.inflight.Wait(); close(handlersDone) }()
	// Let the answers of the killed runs reach their clients, then close.
	// A client that does not read its answer would keep its handler
	// blocked in a write: closing its connection ends that write.
	drain, cancelDrain := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelDrain()
	select {
	case <-handlersDone:
	case <-drain.Done():
	}
	_ = srv.Shutdown(drain)
	_ = srv.Close()
	<-handlersDone // every run torn down and recorded
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
