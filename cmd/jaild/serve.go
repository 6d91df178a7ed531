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
	"os/signal"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/jaild/jaild/daemon"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/jail/container"
	"github.com/jaild/jaild/rootfs"
	"github.com/jaild/jaild/systemd"
)

// serveFlags are the flags of jaild serve. They override the config file,
// at start and again on every reload.
type serveFlags struct {
	fs           *flag.FlagSet
	configPath   *string
	socket       *string
	stateDir     *string
	cgroupParent *string
	listenTCP    *string
	maxConc      *int
	queue        *int
	logLevel     *string
	policyPath   *string
	warmer       *bool
	poolSize     *int
	zygote       *bool
}

func newServeFlags(stderr io.Writer) *serveFlags {
	cfg := daemon.Default()
	fs := newFlagSet("serve", stderr)
	return &serveFlags{fs: fs,
		configPath:   fs.String("config", "", "TOML config file (flags override it; re-read on SIGHUP)"),
		socket:       fs.String("socket", cfg.Socket, "Unix socket to listen on (unless systemd passes one)"),
		stateDir:     fs.String("state-dir", cfg.StateDir, "state directory (rootfs store, jail state, history)"),
		cgroupParent: fs.String("cgroup-parent", cfg.CgroupParent, "cgroup path jails are created under"),
		listenTCP:    fs.String("listen-tcp", "", "also listen on this loopback TCP address, e.g. 127.0.0.1:7070"),
		maxConc:      fs.Int("max-concurrent", cfg.MaxConcurrent, "jails running at once"),
		queue:        fs.Int("queue-size", cfg.QueueSize, "requests waiting for a slot before 429"),
		logLevel:     fs.String("log-level", "info", "log level: debug, info, warn, error"),
		policyPath:   fs.String("policy", cfg.Policy, "operator policy file (absent: the built-in default; re-read on SIGHUP)"),
		warmer:       fs.Bool("cgroup-warmer", true, "keep cgroup v1 attaches fast between jail starts (off only to measure)"),
		poolSize:     fs.Int("pool-size", cfg.Pool.Size, "warm jails kept parked per profile (0: every run cold)"),
		zygote:       fs.Bool("zygote", cfg.Pool.Zygote, "run python profiles in children of a per-profile zygote (README \"Zygote\")"),
	}
}

// load builds the configuration: defaults, then the file, then the flags
// given on the command line. It is called at start and on SIGHUP.
func (f *serveFlags) load() (daemon.Config, error) {
	cfg := daemon.Default()
	if *f.configPath != "" {
		if err := cfg.LoadFile(*f.configPath); err != nil {
			return cfg, err
		}
	}
	f.fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "socket":
			cfg.Socket = *f.socket
		case "state-dir":
			cfg.StateDir = *f.stateDir
		case "cgroup-parent":
			cfg.CgroupParent = *f.cgroupParent
		case "listen-tcp":
			cfg.ListenTCP = *f.listenTCP
		case "max-concurrent":
			cfg.MaxConcurrent = *f.maxConc
		case "queue-size":
			cfg.QueueSize = *f.queue
		case "policy":
			cfg.Policy = *f.policyPath
		case "pool-size":
			cfg.Pool.Size = *f.poolSize
		case "zygote":
			cfg.Pool.Zygote = *f.zygote
		}
	})
	return cfg, cfg.Validate()
}

// cmdServe runs the daemon until SIGTERM or SIGINT; SIGHUP reloads.
func cmdServe(ctx context.Context, args []string, _, stderr io.Writer) (int, error) {
	f := newServeFlags(stderr)
	if err := parse(f.fs, args); err != nil {
		return 0, err
	}
	if f.fs.NArg() > 0 {
		return 0, usageError{fmt.Sprintf("unexpected argument %q", f.fs.Arg(0))}
	}
	cfg, err := f.load()
	if err != nil {
		return 0, err
	}
	c := common{stateDir: cfg.StateDir, logLevel: *f.logLevel}
	log, err := c.serveLogger(stderr)
	if err != nil {
		return 0, err
	}
	routeLogrus(log)
	notifier := systemd.NewNotifier(log)
	pol, err := loadPolicy(cfg.Policy, log)
	if err != nil {
		return 0, err
	}
	// Before reaping or touching history: only one daemon per state dir.
	unlock, err := daemon.LockStateDir(cfg.StateDir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	runner, err := container.New(container.Config{StateDir: cfg.StateDir, CgroupParent: cfg.CgroupParent, Logger: log,
		NoCgroupWarmer: !*f.warmer})
	if err != nil {
		return 0, err
	}
	defer runner.Close()
	if _, err := runner.Reap(); err != nil {
		log.Error("reap leftover jails", "err", err)
	}
	store, err := rootfs.Open(filepath.Join(cfg.StateDir, "rootfs"))
	if err != nil {
		return 0, err
	}
	info := runner.Info()
	var jr jail.Runner = runner
	var pool *container.Pool
	if cfg.Pool.Size > 0 {
		pool, err = container.NewPool(runner, container.PoolConfig{Size: cfg.Pool.Size, MaxSize: cfg.Pool.MaxSize,
			MemoryBudget: cfg.Pool.MemoryBudget, Builders: cfg.Pool.Builders})
		if err != nil {
			return 0, err
		}
		// Parked jails go when the daemon does (before runner.Close, deferred
		// earlier); after a SIGKILL the next start's Reap removes them.
		defer func() {
			if err := pool.Close(); err != nil {
				log.Error("close warm pool", "err", err)
			}
		}()
		jr = pool
	}
	var zygotes *container.Zygotes
	if cfg.Pool.Zygote {
		// Started with the policy's templates by PoolSpecs below.
		if zygotes, err = container.NewZygotes(runner, jr, nil); err != nil {
			return 0, err
		}
		defer func() {
			if err := zygotes.Close(); err != nil {
				log.Error("close zygotes", "err", err)
			}
		}()
		jr = zygotes
	}
	opts := daemon.Options{Config: cfg, Runner: jr, Images: store, Logger: log,
		Version: version, Policy: pol, Host: daemon.HostInfo{CgroupVersion: info.CgroupVersion, Seccomp: info.Seccomp}}
	if pool != nil || zygotes != nil {
		opts.CheckRunner = runner // smoke runs are cold: not the pool's misses
		// One key per policy profile, with the profile's default limits;
		// replaced on every reload, since a new rootfs, policy or default
		// limit changes the specs requests produce.
		opts.PoolSpecs = func(specs []daemon.PoolSpec) {
			ts := make([]container.PoolTemplate, 0, len(specs))
			for _, ps := range specs {
				ts = append(ts, container.PoolTemplate{Language: ps.Language, Profile: ps.Profile, Spec: ps.Spec})
			}
			if pool != nil {
				pts := ts
				if zygotes != nil { // python runs go to the zygotes: park none
					pts = slices.DeleteFunc(slices.Clone(ts), func(t container.PoolTemplate) bool { return t.Language == jail.Python })
				}
				if perr := pool.SetTemplates(pts); perr != nil {
					log.Warn("warm pool: some profiles get no pool", "err", perr)
				}
			}
			if zygotes != nil {
				if zerr := zygotes.SetTemplates(ts); zerr != nil {
					log.Warn("zygotes: some python profiles get no zygote", "err", zerr)
				}
			}
		}
	}
	srv, err := daemon.New(opts)
	if err != nil {
		return 0, err
	}
	lns, activated, err := listen(cfg)
	if err != nil {
		return 0, err
	}
	if !activated {
		defer removeSocket(cfg.Socket)
	}
	// READY=1 only once a real jail ran. Under systemd a host that cannot
	// run jails fails the start (the reason is in the journal) instead of
	// reporting a daemon that answers every run with an error.
	if err := srv.Check(ctx); err != nil {
		if notifier.Enabled() {
			closeAll(lns)
			return 0, err
		}
		log.Warn("serving, but jails cannot run", "err", err)
	}
	log.Info("jaild serving", "socket", lns[0].Addr().String(), "socket_activated", activated, "tcp", cfg.ListenTCP,
		"state_dir", cfg.StateDir, "max_concurrent", cfg.MaxConcurrent, "queue_size", cfg.QueueSize,
		"policy", pol.Source, "policy_digest", pol.Digest, "cgroup", info.CgroupVersion,
		"cgroup_parent", info.CgroupParent, "version", version)

	// The policy file named by the config in force: the config reloads
	// first, so a reload that changes the key reads the new file.
	policyPath := cfg.Policy
	reloaders := []reloader{{name: "config", reload: func() error {
		next, err := f.load()
		if err != nil {
			return err
		}
		if err := srv.Reload(next); err != nil {
			return err
		}
		policyPath = next.Policy
		return nil
	}}, {name: "policy", reload: func() error { return reloadPolicy(policyPath, srv, log) }}}
	side, stop := context.WithCancel(ctx)
	defer stop()
	// Registered before READY=1: systemctl reload may follow at once, and
	// SIGHUP's default action would kill the daemon.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go handleSIGHUP(side, hup, log, notifier, srv, reloaders)
	go notifier.StatusLoop(side, srv.Changes(), srv.Status)
	go notifier.Watchdog(side, healthProbe(lns[0].Addr()))
	go func() {
		<-ctx.Done()
		notifier.Stopping("draining: " + srv.Status())
	}()
	notifier.Ready(srv.Status())
	if err := srv.Serve(ctx, lns...); err != nil {
		return 0, err
	}
	return 0, nil
}

// listen returns systemd's sockets when socket-activated (activated is
// then true and the socket file belongs to systemd), else opens them.
func listen(cfg daemon.Config) (lns []net.Listener, activated bool, err error) {
	lns, err = systemd.Listeners()
	if err != nil {
		return nil, false, err
	}
	activated = len(lns) > 0
	if !activated {
		ux, err := daemon.ListenUnix(cfg.Socket, cfg.SocketGroup)
		if err != nil {
			return nil, false, err
		}
		lns = append(lns, ux)
	}
	if cfg.ListenTCP != "" {
		tcp, err := daemon.ListenTCP(cfg.ListenTCP)
		if err != nil {
			closeAll(lns)
			if !activated {
				removeSocket(cfg.Socket)
			}
			return nil, false, err
		}
		lns = append(lns, tcp)
	}
	return lns, activated, nil
}

func closeAll(lns []net.Listener) {
	for _, ln := range lns {
		ln.Close()
	}
}

func removeSocket(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "jaild: remove socket: %v\n", err)
	}
}
