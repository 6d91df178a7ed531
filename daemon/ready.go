package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
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
// ready: seccomp is compiled in, and for every language whose rootfs is
// present a real jail (all namespaces, cgroup limits, seccomp, read-only
// rootfs) runs a one-line script and prints what it should. It fails if no
// language can run. It bypasses admission and history: it is not a run of
// any caller.
func (s *Server) Check(ctx context.Context) error {
	if !s.host.Seccomp {
		return fmt.Errorf("%w: seccomp is not compiled in (build with -tags seccomp and cgo)", ErrNotReady)
	}
	imgs := s.images.Load()
	if len(imgs.found) == 0 {
		return fmt.Errorf("%w: no rootfs for any language (run jaild rootfs build python)", ErrNotReady)
	}
	var problems []string
	for _, l := range jail.Languages {
		img, ok := imgs.found[l]
		if !ok {
			continue
		}
		if err := s.smoke(ctx, l, img); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", l, err))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrNotReady, strings.Join(problems, "; "))
	}
	return nil
}

func (s *Server) smoke(ctx context.Context, l jail.Language, img rootfs.Image) error {
	j, err := validateRun(&api.RunRequest{Language: string(l), Code: smokeCode[l]}, s.config())
	if err != nil {
		return err
	}
	spec, err := jobSpec(j, img)
	if err != nil {
		return err
	}
	res, err := s.runner.Run(ctx, spec)
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
