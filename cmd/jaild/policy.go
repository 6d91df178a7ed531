package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/jaild/jaild/daemon"
	"github.com/jaild/jaild/policy"
)

// cmdPolicy is `jaild policy check FILE` and `jaild policy default`.
func cmdPolicy(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fset := newFlagSet("policy", stderr)
	configPath := fset.String("config", "", "daemon config whose default_limits/max_limits profiles inherit")
	pos, err := parseInterspersed(fset, args)
	if err != nil {
		return 0, err
	}
	switch {
	case len(pos) == 1 && pos[0] == "default":
		_, err := stdout.Write(policy.DefaultFile())
		return 0, err
	case len(pos) == 2 && pos[0] == "check":
	default:
		return 0, usageError{"want: policy check FILE | policy default"}
	}
	cfg := daemon.Default()
	if *configPath != "" {
		if err := cfg.LoadFile(*configPath); err != nil {
			return 0, err
		}
	}
	p, err := policy.Load(pos[1])
	if err != nil {
		return 0, err
	}
	if err := p.Inherit(policy.Limits(cfg.DefaultLimits), policy.Limits(cfg.MaxLimits)); err != nil {
		return 0, err
	}
	for _, w := range p.Warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	fmt.Fprint(stdout, p.Describe())
	return 0, nil
}

// loadPolicy reads the daemon's policy: the file when it exists, else
// the embedded default (logged). An invalid file is an error, never a
// fallback.
func loadPolicy(path string, log *slog.Logger) (*policy.Policy, error) {
	p, err := policy.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		log.Info("no policy file: using the built-in default policy (jaild policy default prints it)", "path", path)
		return policy.LoadDefault()
	}
	if err != nil {
		return nil, fmt.Errorf("load policy: %s", strings.TrimSpace(err.Error()))
	}
	return p, nil
}

// reloadPolicy is the SIGHUP step for the policy file at path. A file
// that is invalid, or that does not fit the daemon's config, is refused
// and the policy in force stays. An absent file falls back to the
// built-in default only while the default is what is in force: when the
// policy in force came from a file, its disappearance (a botched deploy,
// an editor's rename) must not silently widen access to the default's
// grants, so the reload is refused; `jaild policy default > FILE`
// restores the default on purpose.
func reloadPolicy(path string, srv *daemon.Server, log *slog.Logger) error {
	p, err := policy.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		if cur := srv.Policy(); cur.Source != policy.BuiltinSource {
			return fmt.Errorf("policy file %s is gone: keeping the policy loaded from %s (%s); "+
				"write `jaild policy default` to it for the built-in one", path, cur.Source, cur.Digest)
		}
		p, err = loadPolicy(path, log)
	}
	if err != nil {
		return fmt.Errorf("load policy: %s", strings.TrimSpace(err.Error()))
	}
	return srv.ReloadPolicy(p)
}
