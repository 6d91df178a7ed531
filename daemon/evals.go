package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// maxCases bounds one eval; more cases belong in several requests.
const maxCases = 100

// evalJob is a validated eval request.
type evalJob struct {
	a        *admitted // caller, profile and rootfs under the policy
	run      *job      // program, env and the request-level limits
	function bool      // function cases, else stdin/stdout cases
	cases    []evalCase
	total    time.Duration
	shared   bool
	stopFail bool
}

// evalCase is one validated case.
type evalCase struct {
	name     string
	function string
	args     json.RawMessage // JSON array: positional arguments
	kwargs   json.RawMessage // JSON object
	expected json.RawMessage // function cases: the expected JSON value
	argv     []string        // stdin/stdout cases
	stdin    string
	want     string // expected stdout
	cmp      comparison
	limits   jail.Limits
	eff      api.Limits
}

// Compiled on first use, not at package init: a counted repetition such
// as {0,127} compiles to hundreds of instructions (0.15–0.5 ms each here),
// and package init runs in every process of the jaild binary, each jail's
// init (runc re-executes the binary) included.
var (
	pyIdent   = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)
	nodeIdent = lazyRegexp(`^[A-Za-z_$][A-Za-z0-9_$]{0,127}$`)
)

func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

// validateEval checks an EvalRequest; nothing runs for a request that
// fails here.
func validateEval(req *api.EvalRequest, cfg *Config, prof *policy.Profile) (*evalJob, error) {
	base, err := validateRun(&api.RunRequest{Language: req.Language, Code: req.Code, Files: req.Files,
		Entrypoint: req.Entrypoint, Env: req.Env, Limits: req.Limits}, cfg, prof)
	if err != nil {
		return nil, err
	}
	for _, f := range base.files {
		if f.Name == harnessDir || strings.HasPrefix(f.Name, harnessDir+"/") {
			return nil, badRequest(api.CodeInvalidRequest, "file %q: %s/ is reserved for the harness", f.Name, harnessDir)
		}
	}
	n := len(req.Cases)
	if n == 0 || n > maxCases {
		return nil, badRequest(api.CodeInvalidRequest, "%d cases: give 1 to %d", n, maxCases)
	}
	ej := &evalJob{run: base, shared: req.SharedJail, stopFail: req.StopOnFirstFailure,
		function: req.Cases[0].Function != ""}
	var sum time.Duration
	for i := range req.Cases {
		c, err := validateCase(&req.Cases[i], req, ej.function, prof, cfg)
		if err != nil {
			return nil, prefixError(fmt.Sprintf("cases[%d]", i), err)
		}
		ej.cases = append(ej.cases, c)
		sum += c.limits.Wall
	}
	switch {
	case req.TotalWallMS < 0:
		return nil, badRequest(api.CodeLimitOutOfRange, "total_wall_ms must not be negative")
	case req.TotalWallMS == 0:
		ej.total = sum
	case time.Duration(req.TotalWallMS)*time.Millisecond > sum:
		ej.total = sum // more than every case together can use
	default:
		ej.total = time.Duration(req.TotalWallMS) * time.Millisecond
	}
	return ej, nil
}

func validateCase(rc *api.EvalCase, req *api.EvalRequest, function bool, prof *policy.Profile, cfg *Config) (evalCase, error) {
	c := evalCase{name: rc.Name, function: rc.Function, stdin: rc.Stdin}
	switch {
	case rc.Function != "" && rc.ExpectedStdout != nil:
		return c, badRequest(api.CodeInvalidRequest, "give either function or expected_stdout, not both")
	case rc.Function == "" && rc.ExpectedStdout == nil:
		return c, badRequest(api.CodeInvalidRequest, "give function (a function case) or expected_stdout (a stdin/stdout case)")
	case (rc.Function != "") != function:
		return c, badRequest(api.CodeInvalidRequest, "every case of an eval must be of the same kind as cases[0]")
	}
	mode, tol := req.Compare, req.FloatTolerance
	if rc.Compare != "" {
		mode = rc.Compare
	}
	if rc.FloatTolerance != 0 {
		tol = rc.FloatTolerance
	}
	if mode == "" {
		mode = api.CompareExact
	}
	if tol == 0 {
		tol = api.DefaultFloatTolerance
	}
	switch {
	case mode != api.CompareExact && mode != api.CompareTrimmed && mode != api.CompareFloat:
		return c, badRequest(api.CodeInvalidRequest, "compare %q: want exact, trimmed or float", mode)
	case mode == api.CompareTrimmed && function:
		return c, badRequest(api.CodeInvalidRequest, "compare trimmed applies to stdin/stdout cases")
	case tol < 0 || math.IsInf(tol, 0) || math.IsNaN(tol):
		return c, badRequest(api.CodeInvalidRequest, "float_tolerance must be a finite number ≥ 0")
	}
	c.cmp = comparison{mode: mode, tol: tol}
	if function {
		if err := c.setFunction(rc, prof.Language); err != nil {
			return c, err
		}
	} else if err := c.setStdio(rc); err != nil {
		return c, err
	}
	lim := api.Limits{}
	if req.Limits != nil {
		lim = *req.Limits
	}
	if rc.Limits != nil {
		overlay(&lim, *rc.Limits)
		if err := negativeLimit(*rc.Limits); err != nil {
			return c, err
		}
	}
	l, eff, err := effectiveLimits(&lim, toAPILimits(prof.DefaultLimits), toAPILimits(prof.MaxLimits), cfg.CPUs)
	if err != nil {
		return c, err
	}
	c.limits, c.eff = l, eff
	return c, nil
}

func negativeLimit(l api.Limits) error {
	for _, v := range []int64{l.WallMS, l.CPUMS, l.MemoryBytes, l.Pids, l.OutputBytes, l.TmpBytes} {
		if v < 0 {
			return badRequest(api.CodeLimitOutOfRange, "limits must not be negative")
		}
	}
	return nil
}

func (c *evalCase) setFunction(rc *api.EvalCase, lang jail.Language) error {
	ident := pyIdent
	if lang == jail.Node {
		ident = nodeIdent
	}
	if !ident().MatchString(rc.Function) {
		return badRequest(api.CodeInvalidRequest, "function %q is not an identifier", rc.Function)
	}
	if rc.Expected == nil {
		return badRequest(api.CodeInvalidRequest, "expected is required in a function case (null is a value)")
	}
	if rc.Stdin != "" {
		return badRequest(api.CodeInvalidRequest, "stdin goes with stdin/stdout cases")
	}
	c.expected = rc.Expected
	c.args, c.kwargs = json.RawMessage("[]"), json.RawMessage("{}")
	if len(rc.Args) > 0 && string(rc.Args) != "null" {
		var a []json.RawMessage
		if json.Unmarshal(rc.Args, &a) != nil {
			return badRequest(api.CodeInvalidRequest, "args must be a JSON array")
		}
		c.args = rc.Args
	}
	if len(rc.Kwargs) > 0 && string(rc.Kwargs) != "null" {
		var k map[string]json.RawMessage
		if json.Unmarshal(rc.Kwargs, &k) != nil {
			return badRequest(api.CodeInvalidRequest, "kwargs must be a JSON object")
		}
		c.kwargs = rc.Kwargs
	}
	return nil
}

func (c *evalCase) setStdio(rc *api.EvalCase) error {
	if rc.Expected != nil || len(rc.Kwargs) > 0 {
		return badRequest(api.CodeInvalidRequest, "expected and kwargs go with function cases; use expected_stdout")
	}
	if len(rc.Args) > 0 && string(rc.Args) != "null" {
		if json.Unmarshal(rc.Args, &c.argv) != nil {
			return badRequest(api.CodeInvalidRequest, "args of a stdin/stdout case must be an array of strings")
		}
		for i, a := range c.argv {
			if strings.ContainsRune(a, 0) {
				return badRequest(api.CodeInvalidRequest, "args[%d] contains NUL", i)
			}
		}
		if len(c.argv) > maxArgs {
			return badRequest(api.CodeInvalidRequest, "%d args: at most %d allowed", len(c.argv), maxArgs)
		}
	}
	c.want = *rc.ExpectedStdout
	return nil
}

// prefixError names the case a request error is about.
func prefixError(prefix string, err error) error {
	if re, ok := err.(*requestError); ok {
		return &requestError{status: re.status, code: re.code, msg: prefix + ": " + re.msg}
	}
	return err
}

// handleEval runs an eval: decode → caller and profile under the policy →
// validate → quota and static checks → one jail per case (or one for all)
// through the normal admission and run path → compare in Go → history →
// one log line.
func (s *Server) handleEval(w http.ResponseWriter, r *http.Request) {
	var req api.EvalRequest
	if err := decodeJSON(w, r, s.config().MaxBodyBytes, &req); err != nil {
		writeError(w, err)
		return
	}
	a, err := s.admit(r.Context(), req.Language, req.Profile)
	if err != nil {
		writeError(w, err)
		return
	}
	ej, err := validateEval(&req, s.config(), a.prof)
	if err != nil {
		writeError(w, err)
		return
	}
	ej.a = a
	findings, release, err := s.gate(r.Context(), a, ej.run)
	if err != nil {
		writeError(w, err)
		return
	}
	defer release()
	s.inflight.Add(1)
	defer s.inflight.Done()
	res, err := s.evaluate(r.Context(), ej, callerFrom(r.Context()))
	release()
	if err != nil {
		writeError(w, err)
		return
	}
	res.Findings = findings
	s.hist.saveEval(context.WithoutCancel(r.Context()), res)
	s.log.Info("eval finished", "eval_id", res.ID, "language", res.Language, "profile", res.Profile,
		"cases", res.Summary.Total, "passed", res.Summary.Passed, "failed", res.Summary.Failed,
		"skipped", res.Summary.Skipped, "wall_ms", res.Summary.WallMS, "shared_jail", res.SharedJail,
		"code_sha256", res.CodeSHA256)
	writeJSON(w, http.StatusOK, res)
}

// gate applies what /v1/runs applies before a jail starts: the caller's
// quota of requests in flight (an eval holds one for all its cases) and the
// profile's static checks on the submitted files (refused with 422 in
// enforce mode). release is idempotent.
func (s *Server) gate(ctx context.Context, a *admitted, j *job) ([]api.Finding, func(), error) {
	release, err := s.quota.acquire(policyCaller(callerFrom(ctx)).Key(), a.grant.MaxConcurrent)
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	rel := func() { once.Do(release) }
	mode := a.prof.Validation.Mode
	if mode == policy.ModeOff {
		return nil, rel, nil
	}
	findings, err := s.analyze(ctx, a, j.files)
	if err != nil {
		rel()
		return nil, nil, err
	}
	if mode == policy.ModeEnforce && len(findings) > 0 {
		rel()
		s.log.Info("run refused by static checks", "profile", a.prof.Name, "findings", len(findings),
			"code_sha256", j.codeHash)
		return nil, nil, &validationError{findings: findings}
	}
	return findings, rel, nil
}

func (s *Server) handleGetEval(w http.ResponseWriter, r *http.Request) {
	res, err := s.hist.getEval(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, s.historyError(err))
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// evaluate runs every case and judges it. It fails only when the daemon
// refuses a jail (queue full, shutting down).
func (s *Server) evaluate(ctx context.Context, ej *evalJob, caller *api.Caller) (*api.EvalResult, error) {
	start := time.Now()
	img := ej.a.img
	res := &api.EvalResult{ID: newRunID(start), Language: string(ej.run.language), Rootfs: img.Ref(),
		SharedJail: ej.shared, CreatedAt: start.UTC(), Caller: caller, CodeSHA256: ej.run.codeHash,
		Cases: make([]api.CaseResult, len(ej.cases)), Profile: ej.a.prof.Name, PolicyDigest: ej.a.ap.p.Digest}
	for i, c := range ej.cases {
		res.Cases[i] = api.CaseResult{Name: c.name, Verdict: api.VerdictSkipped}
	}
	var err error
	if ej.shared {
		err = s.evalShared(ctx, ej, img, res, caller)
	} else {
		err = s.evalIsolated(ctx, ej, img, res, caller, start)
	}
	if err != nil {
		return nil, err
	}
	res.Summary = summarize(res.Cases, time.Since(start))
	return res, nil
}

func summarize(cases []api.CaseResult, wall time.Duration) api.EvalSummary {
	sum := api.EvalSummary{Total: len(cases), WallMS: wall.Milliseconds()}
	for _, c := range cases {
		switch c.Verdict {
		case api.VerdictPass:
			sum.Passed++
		case api.VerdictSkipped:
			sum.Skipped++
		default:
			sum.Failed++
		}
	}
	return sum
}

// evalIsolated runs each case in a jail of its own, one after the other,
// within the total budget.
func (s *Server) evalIsolated(ctx context.Context, ej *evalJob, img rootfs.Image, res *api.EvalResult, caller *api.Caller, start time.Time) error {
	budgetEnd := start.Add(ej.total)
	for i, c := range ej.cases {
		left := time.Until(budgetEnd)
		if left <= 0 {
			skipFrom(res.Cases, i, "total_wall_ms budget spent")
			return nil
		}
		if ctx.Err() != nil {
			skipFrom(res.Cases, i, "client went away")
			return nil
		}
		c.limits.Wall = min(c.limits.Wall, left)
		var cr api.CaseResult
		var err error
		if ej.function {
			var out []api.CaseResult
			out, err = s.runHarness(ctx, ej, img, caller, []evalCase{c}, c.limits, c.eff, 0)
			if err == nil {
				cr = out[0]
			}
		} else {
			cr, err = s.runStdioCase(ctx, ej, img, caller, c)
		}
		if err != nil {
			return err
		}
		cr.Name = c.name
		res.Cases[i] = cr
		if ej.stopFail && cr.Verdict != api.VerdictPass {
			skipFrom(res.Cases, i+1, "stop_on_first_failure")
			return nil
		}
	}
	return nil
}

func skipFrom(cases []api.CaseResult, from int, reason string) {
	for i := from; i < len(cases); i++ {
		cases[i] = api.CaseResult{Name: cases[i].Name, Verdict: api.VerdictSkipped, Reason: reason}
	}
}
