package daemon

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
)

// FuzzDecodeRun feeds arbitrary bodies to the request decoder (decoding,
// then validation against the default policy's profile for the language). It must never
// panic, and whatever it accepts must be a job the runner can take as is:
// valid file names, the entrypoint among the files, limits within the
// maximum and the kernel's bounds, env as KEY=VALUE, argv+env within budget.
func FuzzDecodeRun(f *testing.F) {
	cfg, pol := defaultPolicy(f)
	decodeRun := func(r *http.Request, w http.ResponseWriter, cfg *Config) (*job, error) {
		var req api.RunRequest
		if err := decodeJSON(w, r, cfg.MaxBodyBytes, &req); err != nil {
			return nil, err
		}
		prof, ok := pol.Profiles[req.Language]
		if !ok || !jail.Language(req.Language).Valid() {
			return nil, badRequest(api.CodeUnknownLanguage, "unknown language %q", req.Language)
		}
		return validateRun(&req, cfg, prof)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/v1/runs", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		j, err := decodeRun(r, httptest.NewRecorder(), &cfg)
		if err != nil {
			var re *requestError
			var mbe *http.MaxBytesError
			if !errors.As(err, &re) && !errors.As(err, &mbe) {
				t.Fatalf("error %v (%T) is neither a request error nor a size error: it would become a 500", err, err)
			}
			if status, _ := toHTTP(err); status >= 500 {
				t.Fatalf("bad input mapped to %d: %v", status, err)
			}
			return
		}
		checkJob(t, j, &cfg)
	})
}

func checkJob(t *testing.T, j *job, cfg *Config) {
	t.Helper()
	if !j.language.Valid() {
		t.Fatalf("accepted language %q", j.language)
	}
	if len(j.files) == 0 || len(j.files) > max(cfg.MaxFiles, 1) {
		t.Fatalf("accepted %d files", len(j.files))
	}
	found := false
	for _, f := range j.files {
		if err := jail.ValidFileName(f.Name); err != nil {
			t.Fatalf("accepted file name %q: %v", f.Name, err)
		}
		found = found || f.Name == j.entrypoint
	}
	if !found {
		t.Fatalf("entrypoint %q is not among the files", j.entrypoint)
	}
	if err := j.limits.Validate(); err != nil {
		t.Fatalf("accepted limits %+v: %v", j.limits, err)
	}
	m, e := cfg.MaxLimits, j.effective
	if e.WallMS > m.WallMS || e.CPUMS > m.CPUMS || e.MemoryBytes > m.MemoryBytes || e.Pids > m.Pids ||
		e.OutputBytes > m.OutputBytes || e.TmpBytes > m.TmpBytes {
		t.Fatalf("effective limits %+v exceed the maximum %+v", e, m)
	}
	total := 0
	for _, a := range j.args {
		if strings.ContainsRune(a, 0) {
			t.Fatalf("accepted an argument with NUL")
		}
		total += len(a) + 1
	}
	for _, kv := range j.env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envName().MatchString(k) || strings.ContainsRune(kv, 0) {
			t.Fatalf("accepted env entry %q", kv)
		}
		total += len(kv) + 1
	}
	if total > maxArgBytes {
		t.Fatalf("accepted %d bytes of argv+env", total)
	}
	if len(j.codeHash) != 64 {
		t.Fatalf("code hash %q", j.codeHash)
	}
}

// FuzzConfigFile feeds arbitrary TOML to the config loader. Loading must not
// panic, and a file that loads and validates must give a usable daemon
// config: defaults within the maximum, positive sizes.
//
// The operator policy file (issue 5) is not in this tree yet; its parser
// needs a twin of this target when it lands.
func FuzzConfigFile(f *testing.F) {
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body []byte) {
		p := filepath.Join(dir, "jaild.toml")
		if err := os.WriteFile(p, body, 0o600); err != nil {
			t.Fatal(err)
		}
		c := Default()
		if err := c.LoadFile(p); err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			return
		}
		d, m := c.DefaultLimits, c.MaxLimits
		if d.WallMS > m.WallMS || d.CPUMS > m.CPUMS || d.MemoryBytes > m.MemoryBytes || d.Pids > m.Pids ||
			d.OutputBytes > m.OutputBytes || d.TmpBytes > m.TmpBytes {
			t.Fatalf("validated defaults %+v above the maximum %+v", d, m)
		}
		if c.MaxConcurrent <= 0 || c.QueueSize < 0 || c.MaxBodyBytes <= 0 || c.MaxFiles <= 0 {
			t.Fatalf("validated sizes: concurrent %d queue %d body %d files %d", c.MaxConcurrent, c.QueueSize, c.MaxBodyBytes, c.MaxFiles)
		}
		// The defaults must be a limit set a jail can start with.
		if _, _, err := effectiveLimits(nil, c.DefaultLimits, c.MaxLimits, c.CPUs); err != nil {
			t.Fatalf("validated config whose default limits are refused: %v", err)
		}
	})
}

// defaultPolicy is the daemon's default config and the shipped policy with
// its profiles' unset limits filled from that config, as the server does.
func defaultPolicy(f *testing.F) (Config, *policy.Policy) {
	f.Helper()
	cfg := Default()
	pol, err := policy.LoadDefault()
	if err != nil {
		f.Fatal(err)
	}
	if err := pol.Inherit(toPolicyLimits(cfg.DefaultLimits), toPolicyLimits(cfg.MaxLimits)); err != nil {
		f.Fatal(err)
	}
	return cfg, pol
}
