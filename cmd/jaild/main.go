// Command jaild is the jaild sandbox daemon and its operator tool: it
// builds and imports root filesystems, runs scripts in single-use jails and
// reaps jails left behind by a killed process.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/jaild/jaild/jail/container"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const defaultStateDir = "/var/lib/jaild"

// usageError makes main print the usage and exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	// Must come first: inside a jail this process is libcontainer's init.
	container.Init()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `jaild — run untrusted Python and Node scripts in single-use jails

Usage:
  jaild [serve] [flags]             run the daemon (the default command): --socket PATH,
                                    --state-dir DIR, --config FILE, --listen-tcp ADDR,
                                    --cgroup-parent PATH, --max-concurrent N, --queue-size N,
                                    --policy FILE, --pool-size N, --log-level LEVEL
  jaild run [flags] FILE|-          run one script in a jail in this process and print its output
  jaild rootfs build python|node    build a minimal read-only rootfs from Debian packages
  jaild rootfs import NAME SRC      import a directory or tarball as a rootfs (--language, --strip)
  jaild rootfs ls                   list stored root filesystems
  jaild rootfs verify REF           check a rootfs digest and run its interpreter in a jail
  jaild reap [--cgroup-parent PATH]  remove jails left behind by a killed jaild
  jaild policy check FILE           validate a policy file and print its effective profiles
  jaild policy default              print the commented default policy
  jaild version                     print the version

Every command takes --state-dir DIR (default /var/lib/jaild) and --log-level.
jailctl is the client of a running daemon.
Run "jaild COMMAND -h" for the flags of one command.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	// serve is the default command: "jaild" and "jaild --socket X" serve.
	if len(args) == 0 || (len(args[0]) > 1 && args[0][0] == '-') {
		args = append([]string{"serve"}, args...)
	}
	cmds := map[string]func(context.Context, []string, io.Writer, io.Writer) (int, error){
		"serve":  cmdServe,
		"run":    cmdRun,
		"rootfs": cmdRootfs,
		"reap":   cmdReap,
		"policy": cmdPolicy,
		"version": func(context.Context, []string, io.Writer, io.Writer) (int, error) {
			fmt.Fprintln(stdout, "jaild", version)
			return 0, nil
		},
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "jaild: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	code, err := cmd(ctx, args[1:], stdout, stderr)
	var ue usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "jaild %s: %s\n", args[0], ue.msg)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "jaild %s: %v\n", args[0], err)
		return 1
	}
	return code
}

// common are the flags every command shares.
type common struct {
	stateDir string
	logLevel string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.stateDir, "state-dir", defaultStateDir, "state directory (rootfs store, jail state)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{fmt.Sprintf("bad --log-level %q", c.logLevel)}
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// parse parses flags and maps flag errors to usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
}

// parseInterspersed parses flags anywhere among the positional
// arguments ("rootfs build python --state-dir X"); "--" ends the flags.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parse(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("jaild "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func cmdReap(_ context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var c common
	fs := newFlagSet("reap", stderr)
	c.register(fs)
	cgroupParent := fs.String("cgroup-parent", "/jaild", "cgroup path the jails were created under (the daemon's --cgroup-parent)")
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return 0, err
	}
	r, err := container.New(container.Config{StateDir: c.stateDir, CgroupParent: *cgroupParent, Logger: log})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	ids, err := r.Reap()
	fmt.Fprintf(stdout, "reaped %d jail(s)\n", len(ids))
	return 0, err
}
