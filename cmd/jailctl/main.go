// Command jailctl is the command-line client of jaild: it runs scripts in
// the daemon's jails and reads its history, info and health, over the
// daemon's Unix socket or its loopback TCP listener. It is a thin layer over
// daemon/client; everything it knows about the wire comes from there.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/daemon/client"
)

const usage = `jailctl — run scripts in jaild's single-use jails and read its history

Usage:
  jailctl [--socket PATH | --tcp ADDR] COMMAND [flags] [args]

Commands:
  run [flags] FILE|- [ARGS...]   run a script and print its output as it comes;
                                 exit with the script's exit code
  history [flags]                list past runs, newest first
  show ID                        print one run's result and output
  info                           print the daemon's version, languages and limits
  health                         print whether the daemon can run jails
  validate [flags] FILE|-        run the profile's static checks on a script (nothing runs it);
                                 exit 0 when clean, 1 with findings
  help [COMMAND]                 print this help, or a command's flags

Every command takes --socket PATH (default $JAILD_SOCKET, else ` + api.DefaultSocket + `)
or --tcp ADDR (the daemon's loopback listener, such as 127.0.0.1:7070).
Run "jailctl COMMAND -h" for the flags of one command.
`

// Exit codes of jailctl itself. run otherwise exits with the script's code,
// as coreutils timeout(1) and docker run do.
const (
	exitUsage   = 2
	exitTimeout = 124 // the run hit its wall-clock or CPU-time limit
	exitFailed  = 125 // jailctl, the API or the daemon failed, not the script
	exitSignal  = 128 // plus the signal number
	exitOOM     = exitSignal + 9
)

func main() {
	// The first SIGINT or SIGTERM cancels the request, which makes the
	// daemon kill the jail; stop then restores the default action, so a
	// second one ends jailctl at once whatever it is doing.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand: fn does the work, failCode is its exit code
// when fn fails. run's is 125, as for docker run, so that a failure of
// jailctl or the daemon stands apart from most scripts' own codes.
type command struct {
	fn       func(c *cli, args []string) (int, error)
	failCode int
}

var commands = map[string]command{
	"run":      {cmdRun, exitFailed},
	"history":  {cmdHistory, 1},
	"show":     {cmdShow, 1},
	"info":     {cmdInfo, 1},
	"health":   {cmdHealth, 1},
	"validate": {cmdValidate, 2},
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	c.conn.socket = os.Getenv("JAILD_SOCKET")
	if c.conn.socket == "" {
		c.conn.socket = api.DefaultSocket
	}
	fs := flag.NewFlagSet("jailctl", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), usage) }
	c.addConnFlags(fs)
	if err := parseFlags(fs, args, stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "jailctl: %v\nRun \"jailctl help\" for usage.\n", err)
		return exitUsage
	}
	c.noteSocketFlag(fs)
	rest := fs.Args()
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "jailctl: no command given\n\n%s", usage)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) == 0 {
			fmt.Fprint(stdout, usage)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
		c.stderr = stdout // asked-for help goes to stdout
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "jailctl: unknown command %q: want one of %v (see jailctl help)\n", name, commandNames())
		return exitUsage
	}
	code, err := cmd.fn(c, rest)
	if err == nil {
		return code
	}
	return c.fail(name, err, cmd.failCode)
}

// fail reports err from command name and returns the exit code for it.
func (c *cli) fail(name string, err error, failCode int) int {
	var ue usageError
	var ae *client.Error
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(c.stderr, "jailctl %s: %s\nRun \"jailctl %s -h\" for usage.\n", name, ue.msg, name)
		return exitUsage
	case c.ctx.Err() != nil:
		// Our request is gone, so the daemon kills the jail.
		fmt.Fprintf(c.stderr, "jailctl %s: interrupted\n", name)
		return exitSignal + int(syscall.SIGINT)
	case errors.As(err, &ae):
		code := ae.Code
		if code == "" {
			code = fmt.Sprintf("HTTP %d", ae.StatusCode)
		}
		fmt.Fprintf(c.stderr, "jailctl %s: %s: %s", name, code, ae.Message)
		if ae.RetryAfter > 0 {
			fmt.Fprintf(c.stderr, " (retry after %v)", ae.RetryAfter)
		}
		fmt.Fprintln(c.stderr)
	case isNoDaemon(err):
		fmt.Fprintf(c.stderr, "jailctl %s: %v\n(is jaild running? --socket, $JAILD_SOCKET or --tcp say where it listens)\n", name, err)
	default:
		fmt.Fprintf(c.stderr, "jailctl %s: %v\n", name, err)
	}
	return failCode
}

// isNoDaemon reports whether err is a failure to reach any daemon, as
// opposed to a local file that does not exist.
func isNoDaemon(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "dial" &&
		(errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED))
}

func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// usageError is bad usage: jailctl prints it and exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// cli is one invocation: its context, standard streams and where the
// daemon listens.
type cli struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	conn           struct {
		socket    string
		socketSet bool // given as a flag, not from the environment or default
		tcp       string
	}
}

// flagSet is a subcommand's flag set; synopsis follows "jailctl NAME" in
// its usage. The connection flags are added when it is parsed.
func (c *cli) flagSet(name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet("jailctl "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: jailctl %s %s\n\nFlags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse adds the connection flags to fs and parses args.
func (c *cli) parse(fs *flag.FlagSet, args []string) error {
	c.addConnFlags(fs)
	if err := parseFlags(fs, args, c.stderr); err != nil {
		return err
	}
	c.noteSocketFlag(fs)
	return nil
}

// parseInterspersed is parse for commands whose flags may follow their
// positional arguments, as in "jailctl show ID --json"; it returns the
// positional arguments.
func (c *cli) parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	c.addConnFlags(fs)
	var pos []string
	for {
		if err := parseFlags(fs, args, c.stderr); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			break
		}
		pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
	c.noteSocketFlag(fs)
	return pos, nil
}

func (c *cli) addConnFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.conn.socket, "socket", c.conn.socket, "`path` of jaild's Unix socket")
	fs.StringVar(&c.conn.tcp, "tcp", c.conn.tcp, "`address` of jaild's loopback TCP listener, instead of the socket")
}

func (c *cli) noteSocketFlag(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "socket" {
			c.conn.socketSet = true
		}
	})
}

// parseFlags parses args into fs. On -h it prints fs's usage to help and
// returns flag.ErrHelp; any other flag error becomes one usage sentence
// rather than the flag package's message followed by every flag.
func parseFlags(fs *flag.FlagSet, args []string, help io.Writer) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.SetOutput(help)
		fs.Usage()
		return err
	case err != nil:
		return usageError{err.Error()}
	}
	return nil
}

// client connects to the daemon named by --socket or --tcp.
func (c *cli) client() (*client.Client, error) {
	switch {
	case c.conn.tcp != "" && c.conn.socketSet:
		return nil, usagef("give --socket or --tcp, not both")
	case c.conn.tcp != "":
		return client.NewTCP(c.conn.tcp), nil
	}
	return client.New(c.conn.socket), nil
}
