package daemon

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// FuzzPistonExecute feeds arbitrary bodies to the Piston v2 execute
// handler's decoding and mapping (decodePiston, then toJob under the
// default policy's profile for the language). It must never panic; input
// it refuses must get Piston's error shape ({"message": …}) with a 4xx;
// input it accepts must be a job that passes the same checks as one from
// POST /v1/runs (checkJob), in the language Piston asked for, with the
// first utf8 file as entrypoint and limits within the profile's maximum.
func FuzzPistonExecute(f *testing.F) {
	cfg, pol := defaultPolicy(f)
	versions := map[jail.Language]string{jail.Python: "3.11.2", jail.Node: "18.20.4"}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, api.PathPistonExecute, bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		j, pj, err := func() (*job, *pistonJob, error) {
			preq, pj, err := decodePiston(rec, r, cfg.MaxBodyBytes, versions)
			if err != nil {
				return nil, nil, err
			}
			prof, ok := pol.Profiles[string(pj.rt.lang)]
			if !ok {
				t.Fatalf("mapped to language %q, which has no profile", pj.rt.lang)
			}
			j, err := pj.toJob(preq, &cfg, prof)
			return j, pj, err
		}()
		if err != nil {
			writePistonError(rec, err)
			var pe api.PistonError
			if rec.Code < 400 || rec.Code >= 500 {
				t.Fatalf("bad input answered %d: %v", rec.Code, err)
			}
			if json.Unmarshal(rec.Body.Bytes(), &pe) != nil || pe.Message == "" {
				t.Fatalf("error body %q is not Piston's {\"message\": …}", rec.Body.Bytes())
			}
			return
		}
		checkJob(t, j, &cfg)
		if j.language != pj.rt.lang || string(j.language) != pj.req.Language {
			t.Fatalf("Piston runtime %s mapped to a %s job", pj.rt.lang, j.language)
		}
		entry := ""
		for _, f := range pj.req.Files {
			if f.Encoding != api.EncodingBase64 {
				entry = f.Name
				break
			}
		}
		if j.entrypoint != entry {
			t.Fatalf("entrypoint %q, want the first utf8 file %q", j.entrypoint, entry)
		}
		m, e := pol.Profiles[string(j.language)].MaxLimits, j.effective
		if e.WallMS > m.WallMS || e.CPUMS > m.CPUMS || e.MemoryBytes > m.MemoryBytes {
			t.Fatalf("effective limits %+v exceed the profile's maximum %+v", e, m)
		}
	})
}
