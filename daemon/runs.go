package daemon

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// newRunID returns an id that sorts by creation time: 16 hex digits of
// Unix nanoseconds then 8 random ones. History pages on it.
func newRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%016x%08x", now.UnixNano(), binary.BigEndian.Uint32(b[:]))
}

// handleRun is the one request flow: decode → caller → limits → admission
// → jail → result → history, metrics, log line.
func (s *Server) handleRun(w http.ResponseWriter, r *http.Request) {
	stream := r.URL.Query().Get("stream")
	if stream != "" && stream != "0" && stream != "1" {
		writeError(w, badRequest(api.CodeInvalidRequest, "stream must be 0 or 1"))
		return
	}
	cfg := s.config()
	var req api.RunRequest
	if err := decodeJSON(w, r, cfg.MaxBodyBytes, &req); err != nil {
		writeError(w, err)
		return
	}
	// refuse answers a request turned down by the policy, its quota or
	// the static checks, and counts it in the metrics.
	refuse := func(err error) { s.metrics.reject(err); writeError(w, err) }
	a, err := s.admit(r.Context(), req.Language, req.Profile)
	if err != nil {
		refuse(err)
		return
	}
	j, err := validateRun(&req, cfg, a.prof)
	if err != nil {
		refuse(err)
		return
	}
	// The quota covers the static checks too: they run in a jail. The
	// deferred release covers the early returns; it is idempotent.
	releaseQuota, err := s.quota.acquire(policyCaller(callerFrom(r.Context())).Key(), a.grant.MaxConcurrent)
	if err != nil {
		refuse(err)
		return
	}
	defer releaseQuota()
	fail := func(err error) { releaseQuota(); refuse(err) }
	img := a.img
	now := time.Now()
	res := &api.RunResult{ID: newRunID(now), Language: string(j.language), Rootfs: img.Ref(),
		Limits: j.effective, CreatedAt: now.UTC(), Caller: callerFrom(r.Context()), CodeSHA256: j.codeHash,
		ExitCode: -1, Profile: a.prof.Name, PolicyDigest: a.ap.p.Digest}
	spec, err := jobSpec(j, img, a.prof)
	if err != nil {
		fail(err)
		return
	}
	if mode := a.prof.Validation.Mode; mode != policy.ModeOff {
		findings, err := s.analyze(r.Context(), a, j.files)
		if err != nil {
			fail(err)
			return
		}
		if mode == policy.ModeEnforce && len(findings) > 0 {
			s.log.Info("run refused by static checks", "profile", a.prof.Name, "findings", len(findings),
				"code_sha256", j.codeHash)
			fail(&validationError{findings: findings})
			return
		}
		res.Findings = findings
	}
	// A stream's 200 goes out only once the run holds a slot, so a full
	// queue can still answer 429.
	var st *streamer
	started := func() {}
	if stream == "1" {
		started = func() { st = newStreamer(w, res.ID, s.streamTimeout) }
		spec.Output = func(s jail.Stream, p []byte) { st.chunk(s, p) }
	}
	s.inflight.Add(1)
	defer s.inflight.Done()
	raw, err := s.execute(r.Context(), res, spec, started)
	// Released before the answer goes out: a client that runs one script
	// after another must never see its own finished run count.
	releaseQuota()
	s.notifyChange() // execute released the slot
	if err != nil && raw == nil {
		s.metrics.reject(err)
		writeError(w, err) // refused before anything ran: 429, 503
		return
	}
	if stream == "1" {
		if st == nil {
			st = newStreamer(w, res.ID, s.streamTimeout)
		}
		st.finish(res)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// jobSpec turns a validated request, its rootfs and its profile (for the
// seccomp filter) into a jail spec.
func jobSpec(j *job, img rootfs.Image, prof *policy.Profile) (jail.Spec, error) {
	argv, err := policy.Command(j.language, img.Interpreter, j.entrypoint, j.args)
	if err != nil {
		return jail.Spec{}, badRequest(api.CodeInvalidRequest, "%v", err)
	}
	return jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     append(policy.BaseEnv(j.language), j.env...),
		Files:   j.files,
		Stdin:   j.stdin,
		Limits:  j.limits,
		Seccomp: prof.Filter,
	}, nil
}

// execute waits for a slot and runs the jail. It returns the raw result
// (nil when the run was refused before starting, with the reason).
// started is called once the run holds a slot, before its jail starts.
func (s *Server) execute(ctx context.Context, res *api.RunResult, spec jail.Spec, started func()) (*jail.Result, error) {
	// The queue wait counts against the run's wall-clock deadline.
	deadline := res.CreatedAt.Add(spec.Limits.Wall)
	qctx, cancel := context.WithDeadline(ctx, deadline)
	release, err := s.adm.acquire(qctx)
	cancel()
	res.QueueMS = time.Since(res.CreatedAt).Milliseconds()
	raw := &jail.Result{ExitCode: -1}
	var began chan struct{}
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		raw.Status, raw.Error = jail.StatusTimeout, "the wall-clock deadline passed while the run was queued"
		raw.Wall = time.Since(res.CreatedAt) // no row yet: finish writes the whole one
	case err != nil && ctx.Err() != nil:
		raw.Status, raw.Error = jail.StatusInternalError, "client went away while the run was queued"
	case err != nil:
		return nil, err
	default:
		defer release()
		s.notifyChange()
		started()
		spec.Limits.Wall = time.Until(deadline)
		// Recorded even if the client leaves during the write. The row
		// is written beside the jail's start (~0.2-0.4 ms of SQLite that
		// a run need not wait for), from a copy: the run fills res.
		began = make(chan struct{})
		row := *res
		go func() {
			defer close(began)
			s.hist.begin(context.WithoutCancel(ctx), &row)
		}()
		if spec.Limits.Wall <= 0 {
			raw.Status, raw.Error = jail.StatusTimeout, "the wall-clock deadline passed while the run was queued"
			break
		}
		out, rerr := s.runner.Run(ctx, spec)
		raw = &out
		if rerr != nil && ctx.Err() != nil {
			raw.Error = "run cancelled: client went away"
			if errors.Is(context.Cause(ctx), ErrShuttingDown) {
				raw.Error = "run killed: daemon shutting down"
			}
		}
	}
	fillResult(res, *raw)
	if began != nil {
		<-began // finish's upsert must not meet begin's insert
	}
	// History and the log line must land even when the client is gone.
	s.hist.finish(context.WithoutCancel(ctx), res, raw.Stdout, raw.Stderr)
	s.logRun(res)
	s.metrics.observe(res)
	s.served.Add(1)
	return raw, nil
}

func (s *Server) logRun(r *api.RunResult) {
	attrs := []any{"run_id", r.ID, "language", r.Language, "status", r.Status, "exit_code", r.ExitCode,
		"wall_ms", r.WallMS, "cpu_ms", r.CPUMS, "memory_peak_bytes", r.MemoryPeak, "queue_ms", r.QueueMS,
		"rootfs", r.Rootfs, "code_sha256", r.CodeSHA256, "profile", r.Profile, "policy_digest", r.PolicyDigest}
	if r.Caller != nil {
		attrs = append(attrs, "caller_uid", r.Caller.UID, "caller_gid", r.Caller.GID, "caller_pid", r.Caller.PID)
	}
	if r.Signal != "" {
		attrs = append(attrs, "signal", r.Signal)
	}
	if r.Syscall != "" {
		attrs = append(attrs, "syscall", r.Syscall)
	}
	if r.Error != "" {
		attrs = append(attrs, "error", r.Error)
	}
	s.log.Info("run finished", attrs...)
}

func (s *Server) handleGet(w http.ResponseWriter, r *http.Request) {
	res, err := s.hist.get(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, s.historyError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lq := listQuery{limit: 50, before: q.Get("before"), status: q.Get("status"), language: q.Get("language")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, badRequest(api.CodeInvalidRequest, "limit %q must be a number from 1 to 1000", v))
			return
		}
		lq.limit = n
	}
	for k := range q {
		if k != "limit" && k != "before" && k != "status" && k != "language" {
			writeError(w, badRequest(api.CodeInvalidRequest, "unknown query parameter %q", k))
			return
		}
	}
	list, err := s.hist.list(r.Context(), lq)
	if err != nil {
		writeError(w, s.historyError(err))
		return
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) historyError(err error) error {
	if errors.Is(err, ErrHistoryUnavailable) {
		return fmt.Errorf("%w: %v", jail.ErrUnavailable, err)
	}
	return err
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	running, queued := s.adm.counts()
	cfg := s.config()
	info := api.Info{Version: s.version, DefaultLimits: cfg.DefaultLimits, MaxLimits: cfg.MaxLimits,
		CgroupVersion: s.host.CgroupVersion, Seccomp: s.host.Seccomp, MaxConcurrent: cfg.MaxConcurrent,
		QueueSize: cfg.QueueSize, Running: running, Queued: queued, Languages: []api.LanguageInfo{}}
	imgs := s.images.Load()
	for _, l := range jail.Languages {
		if img, ok := imgs.found[l]; ok {
			info.Languages = append(info.Languages, api.LanguageInfo{Name: string(l), Rootfs: img.Ref()})
		}
	}
	info.PolicyDigest, info.Profiles = s.grantedProfiles(r)
	if ps, ok := poolOf(s.runner); ok {
		info.Pool = poolInfo(ps.Stats())
	}
	if z, ok := s.runner.(zygoteStatser); ok {
		info.Zygote = zygoteInfo(z.ZygoteStats())
	}
	writeJSON(w, http.StatusOK, info)
}

// handleHealth is cheap: it reads state the daemon already holds.
func (s *Server) handleHealth(w http.ResponseWriter, _ *http.Request) {
	h := api.Health{Status: "ok", History: s.hist.status()}
	if missing := s.images.Load().missing; len(missing) > 0 {
		h.Status = "unavailable"
		for _, l := range jail.Languages {
			if err, ok := missing[l]; ok {
				h.Reason += fmt.Sprintf("no rootfs for %s: %v; ", l, err)
			}
		}
	}
	if !s.host.Seccomp {
		h.Status, h.Reason = "unavailable", h.Reason+"seccomp is not compiled in; "
	}
	if h.Status != "ok" {
		h.Error, h.Code = strings.TrimSuffix(h.Reason, "; "), api.CodeUnavailable
		writeJSON(w, http.StatusServiceUnavailable, h)
		return
	}
	writeJSON(w, http.StatusOK, h)
}
