package daemon

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

// job is a validated run request.
type job struct {
	language   jail.Language
	files      []jail.File
	entrypoint string
	stdin      []byte
	args       []string
	env        []string
	limits     jail.Limits
	effective  api.Limits
	codeHash   string
}

const (
	maxArgs     = 256
	maxEnv      = 128
	maxArgBytes = 128 << 10 // argv + env together, well under the kernel's ARG_MAX
)

// envName is compiled on first use (see lazyRegexp).
var envName = lazyRegexp(`^[A-Za-z_][A-Za-z0-9_]{0,127}$`)

// decodeJSON decodes exactly one JSON value with no unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &requestError{http.StatusUnsupportedMediaType, api.CodeInvalidRequest,
			fmt.Sprintf("content type %q: want application/json", ct)}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badRequest(api.CodeInvalidRequest, "request body is empty")
		}
		return badRequest(api.CodeInvalidRequest, "decode request: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return badRequest(api.CodeInvalidRequest, "request body has data after the JSON object")
	}
	return nil
}

// validateRun checks a request against the config and its profile
// (already chosen by admit). Nothing is run for a request that fails here.
func validateRun(req *api.RunRequest, cfg *Config, prof *policy.Profile) (*job, error) {
	j := &job{language: prof.Language, args: req.Args, stdin: []byte(req.Stdin)}
	if req.StdinBase64 != "" {
		if req.Stdin != "" {
			return nil, badRequest(api.CodeInvalidRequest, "give either stdin or stdin_base64, not both")
		}
		b, err := base64.StdEncoding.DecodeString(req.StdinBase64)
		if err != nil {
			return nil, badRequest(api.CodeInvalidRequest, "stdin_base64 is not valid base64: %v", err)
		}
		j.stdin = b
	}
	if err := j.setFiles(req, cfg.MaxFiles); err != nil {
		return nil, err
	}
	if err := j.setArgsEnv(req, prof); err != nil {
		return nil, err
	}
	lim, eff, err := effectiveLimits(req.Limits, toAPILimits(prof.DefaultLimits), toAPILimits(prof.MaxLimits), cfg.CPUs)
	if err != nil {
		return nil, err
	}
	j.limits, j.effective = lim, eff
	return j, nil
}

func (j *job) setFiles(req *api.RunRequest, maxFiles int) error {
	switch {
	case req.Code != "" && len(req.Files) > 0:
		return badRequest(api.CodeInvalidRequest, "give either code or files, not both")
	case req.Code != "":
		if req.Entrypoint != "" {
			return badRequest(api.CodeInvalidRequest, "entrypoint goes with files, not with code")
		}
		j.entrypoint = policy.DefaultEntrypoint(j.language)
		j.files = []jail.File{{Name: j.entrypoint, Content: []byte(req.Code)}}
	case len(req.Files) == 0:
		return badRequest(api.CodeInvalidRequest, "code is empty: give code or files")
	case len(req.Files) > maxFiles:
		return badRequest(api.CodeInvalidRequest, "%d files: at most %d allowed", len(req.Files), maxFiles)
	default:
		seen := map[string]bool{}
		for i, f := range req.Files {
			if err := jail.ValidFileName(f.Name); err != nil {
				return badRequest(api.CodeInvalidRequest, "files[%d]: %v", i, strings.TrimPrefix(err.Error(), jail.ErrInvalidSpec.Error()+": "))
			}
			if seen[f.Name] {
				return badRequest(api.CodeInvalidRequest, "files[%d]: name %q given twice", i, f.Name)
			}
			seen[f.Name] = true
			content, err := decodeContent(f)
			if err != nil {
				return badRequest(api.CodeInvalidRequest, "files[%d] %q: %v", i, f.Name, err)
			}
			j.files = append(j.files, jail.File{Name: f.Name, Content: content})
		}
		if a, b, ok := jail.FileDirCollision(j.files); ok {
			return badRequest(api.CodeInvalidRequest, "file %q is also a directory of %q", a, b)
		}
		j.entrypoint = req.Entrypoint
		if j.entrypoint == "" {
			return badRequest(api.CodeInvalidRequest, "entrypoint is required with files")
		}
		if !seen[j.entrypoint] {
			return badRequest(api.CodeInvalidRequest, "entrypoint %q is not one of the files", j.entrypoint)
		}
	}
	j.codeHash = hashFiles(j.files)
	for _, f := range j.files {
		if f.Name == j.entrypoint && len(bytes.TrimSpace(f.Content)) == 0 {
			return badRequest(api.CodeInvalidRequest, "code is empty")
		}
	}
	return nil
}

func decodeContent(f api.File) ([]byte, error) {
	switch f.Encoding {
	case "", api.EncodingUTF8:
		return []byte(f.Content), nil
	case api.EncodingBase64:
		b, err := base64.StdEncoding.DecodeString(f.Content)
		if err != nil {
			return nil, fmt.Errorf("content is not valid base64: %v", err)
		}
		return b, nil
	}
	return nil, fmt.Errorf("unknown encoding %q: want utf8 or base64", f.Encoding)
}

// hashFiles is a stable digest of the submitted program (names + contents)
// recorded in history instead of the source itself.
func hashFiles(files []jail.File) string {
	sorted := append([]jail.File(nil), files...)
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	h := sha256.New()
	for _, f := range sorted {
		fmt.Fprintf(h, "%d:%s%d:", len(f.Name), f.Name, len(f.Content))
		h.Write(f.Content)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (j *job) setArgsEnv(req *api.RunRequest, prof *policy.Profile) error {
	total := 0
	if len(req.Args) > maxArgs {
		return badRequest(api.CodeInvalidRequest, "%d args: at most %d allowed", len(req.Args), maxArgs)
	}
	for i, a := range req.Args {
		if strings.ContainsRune(a, 0) {
			return badRequest(api.CodeInvalidRequest, "args[%d] contains NUL", i)
		}
		total += len(a) + 1
	}
	if len(req.Env) > maxEnv {
		return badRequest(api.CodeInvalidRequest, "%d env variables: at most %d allowed", len(req.Env), maxEnv)
	}
	names := make([]string, 0, len(req.Env))
	for k := range req.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v := req.Env[k]
		if !envName().MatchString(k) {
			return badRequest(api.CodeInvalidRequest, "env name %q is not a valid variable name", k)
		}
		if strings.ContainsRune(v, 0) {
			return badRequest(api.CodeInvalidRequest, "env %s contains NUL", k)
		}
		if !prof.EnvAllowed(k) {
			allowed := strings.Join(prof.Env, ", ")
			if allowed == "" {
				allowed = "none"
			}
			return badRequest(api.CodeEnvNotAllowed, "env %s is not allowed by profile %s (allowed: %s)", k, prof.Name, allowed)
		}
		j.env = append(j.env, k+"="+v)
		total += len(k) + len(v) + 2
	}
	if total > maxArgBytes {
		return badRequest(api.CodeInvalidRequest, "args and env total %d bytes: at most %d allowed", total, maxArgBytes)
	}
	return nil
}

// effectiveLimits fills omitted limits from the profile's defaults and
// refuses any above its maximum, naming the limit and the maximum.
func effectiveLimits(req *api.Limits, def, maxL api.Limits, cpus float64) (jail.Limits, api.Limits, error) {
	eff := def
	if req != nil {
		in := *req
		for _, f := range limitFields(&in, &maxL) {
			if *f.def < 0 {
				return jail.Limits{}, eff, badRequest(api.CodeLimitOutOfRange, "limits.%s must not be negative", f.name)
			}
			if *f.def > *f.max {
				return jail.Limits{}, eff, badRequest(api.CodeLimitOutOfRange,
					"limits.%s = %d exceeds the maximum %d", f.name, *f.def, *f.max)
			}
		}
		overlay(&eff, in)
	}
	l := jail.Limits{
		Wall:      time.Duration(eff.WallMS) * time.Millisecond,
		CPUTime:   time.Duration(eff.CPUMS) * time.Millisecond,
		CPUs:      cpus,
		Memory:    eff.MemoryBytes,
		Pids:      eff.Pids,
		Output:    eff.OutputBytes,
		Tmp:       eff.TmpBytes,
		OpenFiles: jail.DefaultLimits().OpenFiles,
	}
	if err := l.Validate(); err != nil {
		return l, eff, badRequest(api.CodeLimitOutOfRange, "%s", strings.TrimPrefix(err.Error(), jail.ErrInvalidSpec.Error()+": "))
	}
	return l, eff, nil
}

// overlay copies every limit set (non-zero) in src over dst.
func overlay(dst *api.Limits, src api.Limits) {
	set := func(d *int64, s int64) {
		if s > 0 {
			*d = s
		}
	}
	set(&dst.WallMS, src.WallMS)
	set(&dst.CPUMS, src.CPUMS)
	set(&dst.MemoryBytes, src.MemoryBytes)
	set(&dst.Pids, src.Pids)
	set(&dst.OutputBytes, src.OutputBytes)
	set(&dst.TmpBytes, src.TmpBytes)
}
