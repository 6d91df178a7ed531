package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// ErrNotReady means the host cannot run jails yet; its message says why.
var ErrNotReady = errors.New("jails cannot run")

// smokeCode prints a known line in each language.
var smokeCode = map[jail.Language]string{
	jail.Python: `print("jaild-ready")`,
	jail.Node:   `console.log("jaild-ready")`,
}

// Check proves that jails really run before the daemon tells systemd it is
// ready: seccomp is compiled in, and for every language the policy has a
// profile for whose rootfs is present, a real jail of that profile (all
// namespaces, cgroup limits, the profile's seccomp filter, read-only
// rootfs) runs a one-line script and prints what it should. It fails if
// no language can run. It bypasses admission, quota and history: it is
// not a run of any caller.
func (s *Server) Check(ctx context.Context) error {
	if !s.host.Seccomp {
		return fmt.Errorf("%w: seccomp is not compiled in (build with -tags seccomp and cgo)", ErrNotReady)
	}
	ap := s.pol.Load()
	var problems []string
	ran := 0
	for _, l := range jail.Languages {
		prof, img, ok := ap.smokeProfile(l)
		if !ok {
			continue
		}
		ran++
		if err := s.smoke(ctx, prof, img); err != nil {
			problems = append(problems, fmt.Sprintf("%s (profile %s): %v", l, prof.Name, err))
		}
	}
	if ran == 0 {
		return fmt.Errorf("%w: no rootfs for any language the policy has a profile for (run jaild rootfs build python)", ErrNotReady)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrNotReady, strings.Join(problems, "; "))
	}
	return nil
}

// smokeProfile picks the profile a readiness jail of language l runs
// under: the one named like the language, else the first of that
// language by name, among those whose rootfs is present.
func (ap *activePolicy) smokeProfile(l jail.Language) (*policy.Profile, rootfs.Image, bool) {
	if img, ok := ap.images[string(l)]; ok && ap.p.Profiles[string(l)].Language == l {
		return ap.p.Profiles[string(l)], img, true
	}
	for _, name := range ap.p.ProfileNames() {
		prof := ap.p.Profiles[name]
		if img, ok := ap.images[name]; ok && prof.Language == l {
			return prof, img, true
		}
	}
	return nil, rootfs.Image{}, false
}

func (s *Server) smoke(ctx context.Context, prof *policy.Profile, img rootfs.Image) error {
	j, err := validateRun(&api.RunRequest{Language: string(prof.Language), Code: smokeCode[prof.Language]}, s.config(), prof)
	if err != nil {
		return err
	}
	spec, err := jobSpec(j, img, prof)
	if err != nil {
		return err
	}
	res, err := s.checkRun.Run(ctx, spec)
	if err != nil {
		return fmt.Errorf("smoke jail on %s: %w", img.Ref(), err)
	}
	if res.Status != jail.StatusOK || strings.TrimSpace(string(res.Stdout)) != "jaild-ready" {
		return fmt.Errorf("smoke jail on %s: status %s exit %d error %q stderr %q", img.Ref(), res.Status,
			res.ExitCode, res.Error, firstLine(res.Stderr))
	}
	return nil
}

func firstLine(b []byte) string {
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	return line
}
