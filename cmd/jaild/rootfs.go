package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/jail/container"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

const rootfsUsage = `usage: jaild rootfs build python|node | import NAME SRC | ls | verify REF`

func cmdRootfs(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	if len(args) == 0 {
		return 0, usageError{rootfsUsage}
	}
	var c common
	fs := newFlagSet("rootfs "+args[0], stderr)
	c.register(fs)
	lang := fs.String("language", "", "import: language of the tree (python or node; default: guessed from the interpreter found)")
	strip := fs.Bool("strip", false, "import: drop setuid/setgid bits and special files instead of refusing the tree")
	noVerify := fs.Bool("no-verify", false, "build/import: skip running the interpreter in a jail afterwards")
	asJSON := fs.Bool("json", false, "ls: print JSON")
	rest, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 0, err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return 0, err
	}
	store, err := rootfs.Open(filepath.Join(c.stateDir, "rootfs"))
	if err != nil {
		return 0, err
	}
	var img rootfs.Image
	switch {
	case args[0] == "build" && len(rest) == 1:
		img, err = store.Build(ctx, rest[0], rootfs.BuildOptions{Logger: log})
	case args[0] == "import" && len(rest) == 2:
		img, err = store.Import(ctx, rest[0], *lang, rest[1], rootfs.ImportOptions{Logger: log, Strip: *strip})
	case args[0] == "ls" && len(rest) == 0:
		return 0, listImages(store, stdout, *asJSON)
	case args[0] == "verify" && len(rest) == 1:
		if img, err = store.Lookup(rest[0]); err == nil {
			err = store.Verify(img)
		}
	default:
		return 0, usageError{rootfsUsage}
	}
	if err != nil {
		return 0, err
	}
	if !*noVerify {
		if err := probe(ctx, c.stateDir, log, img); err != nil {
			return 0, fmt.Errorf("verify %s in a jail: %w", img.Ref(), err)
		}
	}
	fmt.Fprintf(stdout, "%s\t%s\t%d files\t%.1f MB\n", img.Ref(), img.Interpreter, img.Files, float64(img.SizeBytes)/1e6)
	return 0, nil
}

func listImages(store *rootfs.Store, stdout io.Writer, asJSON bool) error {
	imgs, err := store.List()
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(imgs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tLANGUAGE\tDIGEST\tSIZE\tFILES\tCREATED")
	for _, i := range imgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.1f MB\t%d\t%s\n", i.Name, i.Language, i.Digest,
			float64(i.SizeBytes)/1e6, i.Files, i.Created.Format(time.RFC3339))
	}
	return tw.Flush()
}

// probeCode exercises what a rootfs must provide for its language.
var probeCode = map[jail.Language]string{
	jail.Python: "import json, sqlite3, ssl, asyncio, ctypes, decimal, zlib, hashlib, multiprocessing\nprint('ok')",
	jail.Node:   "require('crypto'); require('zlib'); console.log('ok')",
}

// probe runs the image's interpreter in a real jail and checks it works.
func probe(ctx context.Context, stateDir string, log *slog.Logger, img rootfs.Image) error {
	lang := jail.Language(img.Language)
	code, ok := probeCode[lang]
	if !ok {
		return fmt.Errorf("unknown language %q", img.Language)
	}
	r, err := container.New(container.Config{StateDir: stateDir, Logger: log})
	if err != nil {
		return err
	}
	defer r.Close()
	entry := policy.DefaultEntrypoint(lang)
	argv, err := policy.Command(lang, img.Interpreter, entry, nil)
	if err != nil {
		return err
	}
	res, err := r.Run(ctx, jail.Spec{
		Rootfs: jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:   argv, Env: policy.BaseEnv(lang),
		Files:   []jail.File{{Name: entry, Content: []byte(code)}},
		Limits:  jail.DefaultLimits(),
		Seccomp: policy.SeccompFor(string(lang)),
	})
	if err != nil {
		return err
	}
	if res.Status != jail.StatusOK || strings.TrimSpace(string(res.Stdout)) != "ok" || len(res.Stderr) > 0 {
		return fmt.Errorf("interpreter check: status %s, stdout %q, stderr %q", res.Status, res.Stdout, res.Stderr)
	}
	log.Info("rootfs verified in a jail", "rootfs", img.Ref(), "wall_ms", res.Wall.Milliseconds())
	return nil
}
