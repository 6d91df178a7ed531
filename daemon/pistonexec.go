package daemon

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

// pistonJob is a Piston request translated to jaild's terms.
type pistonJob struct {
	rt      pistonRuntime
	version string
	req     api.RunRequest
}

// parsePiston validates a Piston request with Piston's own messages, in
// Piston's order (language, version, files, runtime, limits).
func parsePiston(p *api.PistonRequest, versions map[jail.Language]string) (*pistonJob, error) {
	var lang, version string
	if json.Unmarshal(p.Language, &lang) != nil || lang == "" {
		return nil, pistonBad("language is required as a string")
	}
	if json.Unmarshal(p.Version, &version) != nil || version == "" {
		return nil, pistonBad("version is required as a string")
	}
	var files []api.PistonFile
	if json.Unmarshal(p.Files, &files) != nil || files == nil {
		return nil, pistonBad("files is required as an array")
	}
	for i, f := range files {
		var c string
		if json.Unmarshal(f.Content, &c) != nil {
			return nil, pistonBad("files[%d].content is required as a string", i)
		}
	}
	rt, ok := resolvePiston(lang, version, versions)
	if _, avail := versions[rt.lang]; !ok || !avail {
		return nil, pistonBad("%s-%s runtime is unknown", lang, version)
	}
	pj := &pistonJob{rt: rt, version: versions[rt.lang], req: api.RunRequest{Language: string(rt.lang)}}
	if err := pj.setFiles(files); err != nil {
		return nil, err
	}
	if err := pj.checkLimits(p); err != nil {
		return nil, err
	}
	if len(p.Stdin) > 0 && string(p.Stdin) != "null" && json.Unmarshal(p.Stdin, &pj.req.Stdin) != nil {
		return nil, pistonBad("stdin must be a string")
	}
	if len(p.Args) > 0 && string(p.Args) != "null" && json.Unmarshal(p.Args, &pj.req.Args) != nil {
		return nil, pistonBad("args must be an array of strings")
	}
	return pj, nil
}

// setFiles maps Piston's files: unnamed files are file<i>.code, and the
// first utf8 file is the one that runs.
func (pj *pistonJob) setFiles(files []api.PistonFile) error {
	for i, f := range files {
		var content string
		_ = json.Unmarshal(f.Content, &content)
		name := f.Name
		if name == "" {
			name = fmt.Sprintf("file%d.code", i)
		}
		af := api.File{Name: name, Content: content}
		switch f.Encoding {
		case "", api.EncodingUTF8:
			if pj.req.Entrypoint == "" {
				pj.req.Entrypoint = name
			}
		case api.EncodingBase64:
			af.Encoding = api.EncodingBase64
		case "hex":
			b, err := hex.DecodeString(content)
			if err != nil {
				return pistonBad("files[%d].content is not valid hex", i)
			}
			af.Content, af.Encoding = base64.StdEncoding.EncodeToString(b), api.EncodingBase64
		default: // Piston treats an unknown encoding as utf8
			if pj.req.Entrypoint == "" {
				pj.req.Entrypoint = name
			}
		}
		pj.req.Files = append(pj.req.Files, af)
	}
	if pj.req.Entrypoint == "" {
		return pistonBad("files must include at least one utf8 encoded file")
	}
	return nil
}

// limitFields pairs Piston's limit fields with jaild's; compile_* have
// no counterpart.
func (pj *pistonJob) limitFields(p *api.PistonRequest, lim, maxL *api.Limits) []pistonLimit {
	return []pistonLimit{
		{"run_timeout", p.RunTimeout, &lim.WallMS, maxL.WallMS},
		{"run_cpu_time", p.RunCPUTime, &lim.CPUMS, maxL.CPUMS},
		{"run_memory_limit", p.RunMemoryLimit, &lim.MemoryBytes, maxL.MemoryBytes},
		{"compile_timeout", p.CompileTimeout, nil, 0},
		{"compile_cpu_time", p.CompileCPUTime, nil, 0},
		{"compile_memory_limit", p.CompileMemoryLimit, nil, 0},
	}
}

type pistonLimit struct {
	name string
	raw  json.RawMessage
	dst  *int64
	max  int64
}

// checkLimits checks each limit is a number, before the caller's profile
// (and so the maxima) is known.
func (pj *pistonJob) checkLimits(p *api.PistonRequest) error {
	for _, c := range pj.limitFields(p, &api.Limits{}, &api.Limits{}) {
		var v float64
		if len(c.raw) > 0 && string(c.raw) != "null" && json.Unmarshal(c.raw, &v) != nil {
			return pistonBad("If specified, %s must be a number", c.name)
		}
	}
	return nil
}

// setLimits maps run_timeout, run_cpu_time and run_memory_limit within the
// profile's maxima; 0 or absent means the profile's default, and so does
// a negative memory limit (-1 is Piston's "no limit", which jaild does not
// have).
func (pj *pistonJob) setLimits(p *api.PistonRequest, maxL api.Limits) error {
	lim := &api.Limits{}
	for _, c := range pj.limitFields(p, lim, &maxL) {
		if len(c.raw) == 0 || string(c.raw) == "null" {
			continue
		}
		var v float64
		_ = json.Unmarshal(c.raw, &v)
		switch {
		case c.dst == nil || v == 0:
		case v < 0 && c.name == "run_memory_limit":
		case v < 0:
			return pistonBad("%s must be non-negative", c.name)
		case v > float64(c.max):
			return pistonBad("%s cannot exceed the configured limit of %d", c.name, c.max)
		default:
			*c.dst = int64(math.Ceil(v))
		}
	}
	pj.req.Limits = lim
	return nil
}

// interleaved collects stdout and stderr in the order the jail wrote
// them, for Piston's "output".
type interleaved struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *interleaved) add(_ jail.Stream, p []byte) {
	o.mu.Lock()
	o.buf.Write(p)
	o.mu.Unlock()
}

// decodePiston reads a Piston request body and maps it to jaild's terms;
// every error is one writePistonError answers with a 4xx.
func decodePiston(w http.ResponseWriter, r *http.Request, maxBody int64, versions map[jail.Language]string) (*api.PistonRequest, *pistonJob, error) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return nil, nil, &pistonError{http.StatusUnsupportedMediaType, "requests must be of type application/json"}
	}
	var preq api.PistonRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&preq); err != nil {
		if _, ok := err.(*http.MaxBytesError); ok {
			return nil, nil, err
		}
		return nil, nil, pistonBad("request body is not a JSON object: %v", err)
	}
	pj, err := parsePiston(&preq, versions)
	if err != nil {
		return nil, nil, err
	}
	return &preq, pj, nil
}

// toJob bounds the mapped request by the profile's maxima and validates
// it exactly as POST /v1/runs does, with Piston's error shape.
func (pj *pistonJob) toJob(preq *api.PistonRequest, cfg *Config, prof *policy.Profile) (*job, error) {
	if err := pj.setLimits(preq, toAPILimits(prof.MaxLimits)); err != nil {
		return nil, err
	}
	j, err := validateRun(&pj.req, cfg, prof)
	if err != nil {
		return nil, pistonBad("%s", strings.TrimPrefix(err.Error(), jail.ErrInvalidSpec.Error()+": "))
	}
	return j, nil
}

func (s *Server) handlePistonExecute(w http.ResponseWriter, r *http.Request) {
	preq, pj, err := decodePiston(w, r, s.config().MaxBodyBytes, s.versions())
	if err != nil {
		writePistonError(w, err)
		return
	}
	// The same path as /v1/runs: caller and profile under the policy, the
	// profile's limits and env rules, quota and static checks.
	a, err := s.admit(r.Context(), string(pj.rt.lang), "")
	if err != nil {
		writePistonError(w, err)
		return
	}
	j, err := pj.toJob(preq, s.config(), a.prof)
	if err != nil {
		writePistonError(w, err)
		return
	}
	_, release, err := s.gate(r.Context(), a, j)
	if err != nil {
		writePistonError(w, err)
		return
	}
	defer release()
	img := a.img
	argv, err := policy.Command(j.language, img.Interpreter, j.entrypoint, j.args)
	if err != nil {
		writePistonError(w, pistonBad("%v", err))
		return
	}
	var output interleaved
	spec := jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     append(policy.BaseEnv(j.language), j.env...),
		Files:   j.files,
		Stdin:   j.stdin,
		Limits:  j.limits,
		Seccomp: a.prof.Filter,
		Output:  output.add,
	}
	now := time.Now()
	res := &api.RunResult{ID: newRunID(now), Language: string(j.language), Rootfs: img.Ref(),
		Limits: j.effective, CreatedAt: now.UTC(), Caller: callerFrom(r.Context()), CodeSHA256: j.codeHash, ExitCode: -1,
		Profile: a.prof.Name, PolicyDigest: a.ap.p.Digest}
	s.inflight.Add(1)
	defer s.inflight.Done()
	_, err = s.execute(r.Context(), res, spec, func() {})
	release()
	if err != nil {
		writePistonError(w, err)
		return
	}
	output.mu.Lock()
	out := output.buf.String()
	output.mu.Unlock()
	w.Header().Set("X-Jaild-Run-Id", res.ID)
	writeJSON(w, http.StatusOK, api.PistonResponse{Language: pj.rt.name, Version: pj.version, Run: pistonRun(res, out)})
}

// pistonRun maps a jaild result onto Piston's run stage, with the status
// codes Piston takes from isolate: RE (non-zero exit), SG (fatal signal),
// TO (time limit), XX (internal error).
func pistonRun(r *api.RunResult, output string) api.PistonRun {
	run := api.PistonRun{Stdout: r.Stdout, Stderr: r.Stderr, Output: strings.ToValidUTF8(output, "\uFFFD"),
		CPUTime: r.CPUMS, WallTime: r.WallMS, Memory: r.MemoryPeak}
	str := func(s string) *string { return &s }
	switch r.Status {
	case api.StatusOK, api.StatusExitNonzero:
		c := r.ExitCode
		run.Code = &c
		if c != 0 {
			run.Status, run.Message = str("RE"), str(fmt.Sprintf("Exited with error status %d", c))
		}
	case api.StatusTimeout:
		run.Status, run.Signal, run.Message = str("TO"), str("SIGKILL"), str("Time limit exceeded (wall clock)")
	case api.StatusCPULimit:
		run.Status, run.Signal, run.Message = str("TO"), str("SIGKILL"), str("Time limit exceeded")
	case api.StatusOOM:
		run.Status, run.Signal, run.Message = str("SG"), str("SIGKILL"), str("Caught fatal signal 9 (out of memory)")
	case api.StatusSignaled:
		run.Status, run.Signal = str("SG"), str(r.Signal)
		run.Message = str("Caught fatal signal " + signalNumber(r.Signal))
	default:
		run.Status, run.Message = str("XX"), str(r.Error)
	}
	return run
}

var signalNumbers = map[string]syscall.Signal{"SIGHUP": syscall.SIGHUP, "SIGINT": syscall.SIGINT,
	"SIGQUIT": syscall.SIGQUIT, "SIGILL": syscall.SIGILL, "SIGTRAP": syscall.SIGTRAP, "SIGABRT": syscall.SIGABRT,
	"SIGBUS": syscall.SIGBUS, "SIGFPE": syscall.SIGFPE, "SIGKILL": syscall.SIGKILL, "SIGUSR1": syscall.SIGUSR1,
	"SIGSEGV": syscall.SIGSEGV, "SIGUSR2": syscall.SIGUSR2, "SIGPIPE": syscall.SIGPIPE, "SIGALRM": syscall.SIGALRM,
	"SIGTERM": syscall.SIGTERM, "SIGXCPU": syscall.SIGXCPU, "SIGXFSZ": syscall.SIGXFSZ, "SIGSYS": syscall.SIGSYS}

func signalNumber(name string) string {
	if n, ok := signalNumbers[name]; ok {
		return fmt.Sprint(int(n))
	}
	return name
}
