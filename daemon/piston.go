package daemon

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/rootfs"
)

// pistonRuntime describes how a jaild language looks to a Piston client.
type pistonRuntime struct {
	lang    jail.Language
	name    string   // Piston's language name
	runtime string   // Piston's "runtime" field
	aliases []string // besides name
}

// Piston's own names: its python package answers to py, py3, python3 and
// python<major.minor>, its node package is language "javascript" with
// runtime "node".
var pistonRuntimes = []pistonRuntime{
	{jail.Python, "python", "", []string{"py", "py3", "python3"}},
	{jail.Node, "javascript", "node", []string{"node-javascript", "node-js", "javascript", "js", "node"}},
}

func (s *Server) pistonRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET "+api.PathPistonRuntimes, s.handlePistonRuntimes)
	mux.HandleFunc("GET "+api.PathPistonEMKCRuntime, s.handlePistonRuntimes)
	mux.HandleFunc("POST "+api.PathPistonExecute, s.handlePistonExecute)
	mux.HandleFunc("POST "+api.PathPistonEMKCExecute, s.handlePistonExecute)
}

func pistonPath(p string) bool {
	return p == api.PathPistonRuntimes || p == api.PathPistonExecute ||
		p == api.PathPistonEMKCRuntime || p == api.PathPistonEMKCExecute
}

// pistonAliases are the names a runtime answers to, with the version's
// major.minor for python ("python3.11") as Piston lists it.
func pistonAliases(rt pistonRuntime, version string) []string {
	al := append([]string(nil), rt.aliases...)
	if rt.lang == jail.Python {
		if p := strings.Split(version, "."); len(p) >= 2 {
			al = append(al, "python"+p[0]+"."+p[1])
		}
	}
	return al
}

// resolvePiston finds the runtime a Piston language name or alias means.
func resolvePiston(name, version string, versions map[jail.Language]string) (pistonRuntime, bool) {
	for _, rt := range pistonRuntimes {
		if name == rt.name || name == string(rt.lang) || contains(pistonAliases(rt, versions[rt.lang]), name) {
			return rt, versionMatches(version, versions[rt.lang])
		}
	}
	return pistonRuntime{}, false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// versionMatches accepts what Piston clients send: "*", the exact
// version, a prefix of it by components ("3", "3.11"), x wildcards
// ("3.x", "3.11.x") and the same with a leading ^, ~, = or v.
func versionMatches(query, have string) bool {
	q := strings.TrimLeft(strings.TrimSpace(query), "^~=v")
	if q == "*" || q == "x" || q == "latest" {
		return true
	}
	qp, hp := strings.Split(q, "."), strings.Split(have, ".")
	if len(qp) > len(hp) {
		return false
	}
	for i, p := range qp {
		if p != "x" && p != "X" && p != "*" && p != hp[i] {
			return false
		}
	}
	return true
}

var debVersion = regexp.MustCompile(`^(?:\d+:)?(\d+(?:\.\d+)*)`)

// interpreterVersion derives the interpreter's version from a rootfs's
// metadata (<ref>.json): the Debian package that ships the interpreter
// (python3.X-minimal, nodejs), else for python the name of its standard
// library directory; "0.0.0" for an import that says nothing.
func interpreterVersion(img rootfs.Image) string {
	var best string
	for _, p := range img.Packages {
		name, ver, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		want := name == "nodejs"
		if img.Language == string(jail.Python) {
			want = regexp.MustCompile(`^python3(\.\d+)?-minimal$`).MatchString(name) || name == "python3"
		}
		if m := debVersion.FindStringSubmatch(ver); want && m != nil && len(m[1]) > len(best) {
			best = m[1]
		}
	}
	if best != "" {
		return best
	}
	if img.Language == string(jail.Python) && img.Path != "" {
		dirs, _ := filepath.Glob(filepath.Join(img.Path, "usr/lib/python3.*"))
		sort.Strings(dirs)
		for _, d := range dirs {
			if v := strings.TrimPrefix(filepath.Base(d), "python"); regexp.MustCompile(`^3\.\d+$`).MatchString(v) {
				best = v + ".0"
			}
		}
	}
	if best == "" {
		best = "0.0.0"
	}
	return best
}

// versions gives each available language's interpreter version; cheap
// enough (metadata in memory, one glob at most) to compute per request.
func (s *Server) versions() map[jail.Language]string {
	vs := map[jail.Language]string{}
	for l, img := range s.images.Load().found {
		vs[l] = interpreterVersion(img)
	}
	return vs
}

func (s *Server) handlePistonRuntimes(w http.ResponseWriter, _ *http.Request) {
	out := []api.PistonRuntime{}
	vs := s.versions()
	for _, rt := range pistonRuntimes {
		if v, ok := vs[rt.lang]; ok {
			out = append(out, api.PistonRuntime{Language: rt.name, Version: v, Aliases: pistonAliases(rt, v), Runtime: rt.runtime})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// pistonError is a failure in Piston's shape: {"message": …}.
type pistonError struct {
	status int
	msg    string
}

func (e *pistonError) Error() string { return e.msg }

func pistonBad(format string, args ...any) error {
	return &pistonError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func writePistonError(w http.ResponseWriter, err error) {
	var pe *pistonError
	if errors.As(err, &pe) {
		writeJSON(w, pe.status, api.PistonError{Message: pe.msg})
		return
	}
	status, body := toHTTP(err)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, api.PistonError{Message: body.Message})
}
