package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// ErrQuotaExceeded is a caller with max_concurrent runs already in flight.
var ErrQuotaExceeded = errors.New("per-caller concurrency quota exceeded")

// activePolicy is a policy with its profiles' unset limits filled from the
// config in force and their rootfs resolved; the server swaps the whole
// thing atomically on reload.
type activePolicy struct {
	raw     *policy.Policy // as loaded: a config reload fills a new clone of it
	p       *policy.Policy
	images  map[string]rootfs.Image // by profile name
	missing map[string]error
}

// preparePolicy fills a clone of raw's unset limits from cfg, checks them
// against cfg's maximums and resolves each profile's rootfs. A profile
// whose rootfs is missing makes its runs 503, not the policy invalid (a
// rootfs can be built after the daemon started).
func (s *Server) preparePolicy(raw *policy.Policy, cfg *Config) (*activePolicy, error) {
	p := raw.Clone()
	if err := p.Inherit(toPolicyLimits(cfg.DefaultLimits), toPolicyLimits(cfg.MaxLimits)); err != nil {
		return nil, err
	}
	ap := &activePolicy{raw: raw, p: p, images: map[string]rootfs.Image{}, missing: map[string]error{}}
	for _, name := range p.ProfileNames() {
		prof := p.Profiles[name]
		img, err := s.imgSrc.Lookup(prof.Rootfs)
		if err == nil && img.Language != "" && img.Language != string(prof.Language) {
			err = fmt.Errorf("rootfs %s is for %s, profile runs %s", img.Ref(), img.Language, prof.Language)
		}
		if err != nil {
			ap.missing[name] = err
			s.log.Warn("profile unavailable: no rootfs", "profile", name, "rootfs", prof.Rootfs, "err", err)
			continue
		}
		ap.images[name] = img
	}
	for _, w := range p.Warnings {
		s.log.Warn("policy", "source", p.Source, "warning", w)
	}
	return ap, nil
}

// ReloadPolicy swaps in p (already parsed and validated by policy.Load)
// for every request that starts from now on; runs in flight keep the
// policy they were admitted under. A p that does not fit the daemon's
// config is refused and the current policy stays.
func (s *Server) ReloadPolicy(p *policy.Policy) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	s.imgSrc.newPass()
	ap, err := s.preparePolicy(p, s.config())
	if err != nil {
		return err
	}
	old := s.pol.Swap(ap)
	s.updatePool()
	s.notifyChange()
	s.log.Info("policy loaded", "source", p.Source, "digest", p.Digest, "previous", old.p.Digest,
		"profiles", strings.Join(p.ProfileNames(), ","))
	return nil
}

// Policy returns the policy requests are admitted under now.
func (s *Server) Policy() *policy.Policy { return s.pol.Load().p }

func toPolicyLimits(l api.Limits) policy.Limits {
	return policy.Limits{WallMS: l.WallMS, CPUMS: l.CPUMS, MemoryBytes: l.MemoryBytes, Pids: l.Pids,
		OutputBytes: l.OutputBytes, TmpBytes: l.TmpBytes}
}

func toAPILimits(l policy.Limits) api.Limits {
	return api.Limits{WallMS: l.WallMS, CPUMS: l.CPUMS, MemoryBytes: l.MemoryBytes, Pids: l.Pids,
		OutputBytes: l.OutputBytes, TmpBytes: l.TmpBytes}
}

func policyCaller(c *api.Caller) policy.Caller {
	if c == nil {
		return policy.Caller{TCP: true}
	}
	return policy.Caller{UID: c.UID, GID: c.GID}
}

// policyAuthorizer lets through callers some rule of the current policy
// matches; what they may run is decided per request.
func (s *Server) policyAuthorizer(c *api.Caller) error {
	_, err := s.pol.Load().p.Authorize(policyCaller(c))
	return err
}

// admitted is a request's caller checked against the policy.
type admitted struct {
	ap    *activePolicy
	prof  *policy.Profile
	grant policy.Grant
	img   rootfs.Image
}

// admit picks the request's profile for its caller under the current
// policy: 400 for an unknown language, 403 policy_denied when the caller
// may not use it, 503 when its rootfs is missing.
func (s *Server) admit(ctx context.Context, language, profile string) (*admitted, error) {
	ap := s.pol.Load()
	lang := jail.Language(language)
	if (language != "" || profile == "") && !lang.Valid() {
		return nil, badRequest(api.CodeUnknownLanguage, "unknown language %q: want python or node", language)
	}
	g, err := ap.p.Authorize(policyCaller(callerFrom(ctx)))
	if err != nil {
		return nil, err
	}
	prof, err := ap.p.Select(g, lang, profile)
	if err != nil {
		return nil, err
	}
	img, ok := ap.images[prof.Name]
	if !ok {
		return nil, fmt.Errorf("%w %s (profile %s): %v", ErrNoRootfs, prof.Language, prof.Name, ap.missing[prof.Name])
	}
	return &admitted{ap: ap, prof: prof, grant: g, img: img}, nil
}

// quota counts each caller's runs in flight (queued or running). A caller
// at its cap gets 429 at once rather than a place in the queue: waiting
// would let one caller fill the shared FIFO queue and delay everyone.
type quota struct {
	mu sync.Mutex
	n  map[string]int
}

func (q *quota) acquire(key string, max int) (func(), error) {
	if max <= 0 {
		return func() {}, nil
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == nil {
		q.n = map[string]int{}
	}
	if q.n[key] >= max {
		return nil, fmt.Errorf("%w: %d runs of this caller are in flight (max_concurrent %d)", ErrQuotaExceeded, q.n[key], max)
	}
	q.n[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			if q.n[key]--; q.n[key] <= 0 {
				delete(q.n, key)
			}
		})
	}, nil
}

// validationError is 422 with the findings.
type validationError struct{ findings []api.Finding }

func (e *validationError) Error() string {
	return fmt.Sprintf("static checks found %d problem(s); the code was not run", len(e.findings))
}

// analyze runs the profile's static checks in a jail of their own. It
// takes an admission slot like any run.
func (s *Server) analyze(ctx context.Context, a *admitted, files []jail.File) ([]api.Finding, error) {
	spec, err := policy.AnalyzerSpec(a.prof, a.img.Interpreter, files)
	if err != nil {
		return nil, err
	}
	spec.Rootfs = jail.Rootfs{Name: a.img.Name, Digest: a.img.Digest, Path: a.img.Path}
	qctx, cancel := context.WithTimeout(ctx, spec.Limits.Wall)
	release, err := s.adm.acquire(qctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("%w: static checks waited too long for a slot", ErrQueueFull)
		}
		return nil, err
	}
	defer release()
	res, err := s.runner.Run(ctx, spec)
	if err != nil && ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	found := policy.ParseFindings(res)
	out := make([]api.Finding, len(found))
	for i, f := range found {
		out[i] = api.Finding{File: f.File, Line: f.Line, Column: f.Column, Rule: f.Rule, Message: f.Message}
	}
	return out, nil
}

// handleValidate runs the static checks of a profile on code; nothing
// else runs it. A syntax error is a finding (200), not an error.
func (s *Server) handleValidate(w http.ResponseWriter, r *http.Request) {
	cfg := s.config()
	var req api.ValidateRequest
	if err := decodeJSON(w, r, cfg.MaxBodyBytes, &req); err != nil {
		writeError(w, err)
		return
	}
	a, err := s.admit(r.Context(), req.Language, req.Profile)
	if err != nil {
		writeError(w, err)
		return
	}
	j := &job{language: a.prof.Language}
	run := api.RunRequest{Language: string(a.prof.Language), Code: req.Code, Files: req.Files, Entrypoint: req.Entrypoint}
	if err := j.setFiles(&run, cfg.MaxFiles); err != nil {
		writeError(w, err)
		return
	}
	release, err := s.quota.acquire(policyCaller(callerFrom(r.Context())).Key(), a.grant.MaxConcurrent)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	findings, err := s.analyze(r.Context(), a, j.files)
	release()
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, api.ValidateResult{OK: len(findings) == 0, Findings: findings,
		Profile: a.prof.Name, PolicyDigest: a.ap.p.Digest})
}

// grantedProfiles lists the profiles the request's caller may use, for
// /v1/info.
func (s *Server) grantedProfiles(r *http.Request) (string, []api.ProfileInfo) {
	ap := s.pol.Load()
	g, err := ap.p.Authorize(policyCaller(callerFrom(r.Context())))
	if err != nil {
		return ap.p.Digest, nil
	}
	out := make([]api.ProfileInfo, 0, len(g.Profiles))
	for _, name := range g.Profiles {
		prof := ap.p.Profiles[name]
		out = append(out, api.ProfileInfo{Name: name, Language: string(prof.Language), Rootfs: prof.Rootfs,
			Validation: prof.Validation.Mode, DefaultLimits: toAPILimits(prof.DefaultLimits), MaxLimits: toAPILimits(prof.MaxLimits)})
	}
	return ap.p.Digest, out
}
