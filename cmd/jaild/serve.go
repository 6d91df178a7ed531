package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/jaild/jaild/daemon"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/jail/container"
	"github.com/jaild/jaild/rootfs"
)

// cmdServe runs the daemon until SIGTERM or SIGINT.
func cmdServe(ctx context.Context, args []string, _, stderr io.Writer) (int, error) {
	cfg := daemon.Default()
	fs := newFlagSet("serve", stderr)
	configPath := fs.String("config", "", "TOML config file (flags override it)")
	socket := fs.String("socket", cfg.Socket, "Unix socket to listen on")
	stateDir := fs.String("state-dir", cfg.StateDir, "state directory (rootfs store, jail state, history)")
	cgroupParent := fs.String("cgroup-parent", cfg.CgroupParent, "cgroup path jails are created under")
	listenTCP := fs.String("listen-tcp", "", "also listen on this loopback TCP address, e.g. 127.0.0.1:7070")
	maxConc := fs.Int("max-concurrent", cfg.MaxConcurrent, "jails running at once")
	queue := fs.Int("queue-size", cfg.QueueSize, "requests waiting for a slot before 429")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn, error")
	warmer := fs.Bool("cgroup-warmer", true, "keep cgroup v1 attaches fast between jail starts (off only to measure)")
	poolSize := fs.Int("pool-size", cfg.Pool.Size, "warm jails kept parked per language (0: every run cold)")
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	if *configPath != "" {
		if err := cfg.LoadFile(*configPath); err != nil {
			return 0, err
		}
	}
	// Flags given on the command line override the file.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "socket":
			cfg.Socket = *socket
		case "state-dir":
			cfg.StateDir = *stateDir
		case "cgroup-parent":
			cfg.CgroupParent = *cgroupParent
		case "listen-tcp":
			cfg.ListenTCP = *listenTCP
		case "max-concurrent":
			cfg.MaxConcurrent = *maxConc
		case "queue-size":
			cfg.QueueSize = *queue
		case "pool-size":
			cfg.Pool.Size = *poolSize
		}
	})
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	c := common{stateDir: cfg.StateDir, logLevel: *logLevel}
	log, err := c.logger(stderr)
	if err != nil {
		return 0, err
	}
	runner, err := container.New(container.Config{StateDir: cfg.StateDir, CgroupParent: cfg.CgroupParent, Logger: log,
		NoCgroupWarmer: !*warmer})
	if err != nil {
		return 0, err
	}
	if _, err := runner.Reap(); err != nil {
		log.Error("reap leftover jails", "err", err)
	}
	store, err := rootfs.Open(filepath.Join(cfg.StateDir, "rootfs"))
	if err != nil {
		return 0, err
	}
	info := runner.Info()
	var jr jail.Runner = runner
	if cfg.Pool.Size > 0 {
		pool, err := newPool(runner, &cfg, store)
		if err != nil {
			return 0, err
		}
		// Parked jails go when the daemon does; after a SIGKILL the next
		// start's Reap removes them like any other jail.
		defer func() {
			if err := pool.Close(); err != nil {
				log.Error("close warm pool", "err", err)
			}
		}()
		jr = pool
	}
	srv, err := daemon.New(daemon.Options{Config: cfg, Runner: jr, Images: store, Logger: log,
		Version: version, Host: daemon.HostInfo{CgroupVersion: info.CgroupVersion, Seccomp: info.Seccomp}})
	if err != nil {
		return 0, err
	}
	lns, err := listen(cfg)
	if err != nil {
		return 0, err
	}
	defer removeSocket(cfg.Socket)
	log.Info("jaild serving", "socket", cfg.Socket, "tcp", cfg.ListenTCP, "state_dir", cfg.StateDir,
		"max_concurrent", cfg.MaxConcurrent, "queue_size", cfg.QueueSize, "cgroup", info.CgroupVersion, "version", version)
	if err := srv.Serve(ctx, lns...); err != nil {
		return 0, err
	}
	return 0, nil
}

func listen(cfg daemon.Config) ([]net.Listener, error) {
	ux, err := daemon.ListenUnix(cfg.Socket, cfg.SocketGroup)
	if err != nil {
		return nil, err
	}
	lns := []net.Listener{ux}
	if cfg.ListenTCP != "" {
		tcp, err := daemon.ListenTCP(cfg.ListenTCP)
		if err != nil {
			ux.Close()
			removeSocket(cfg.Socket)
			return nil, err
		}
		lns = append(lns, tcp)
	}
	return lns, nil
}

func removeSocket(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "jaild: remove socket: %v\n", err)
	}
}

// newPool keeps parked jails for each language's default request.
func newPool(r *container.Runner, cfg *daemon.Config, images daemon.Images) (*container.Pool, error) {
	pc := container.PoolConfig{Size: cfg.Pool.Size, MaxSize: cfg.Pool.MaxSize,
		MemoryBudget: cfg.Pool.MemoryBudget, Builders: cfg.Pool.Builders}
	for lang, spec := range daemon.PoolSpecs(cfg, images) {
		pc.Templates = append(pc.Templates, container.PoolTemplate{Language: lang, Spec: spec})
	}
	return container.NewPool(r, pc)
}
