package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/jail/container"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// cmdRun runs one script in a jail in this process: the engine without
// the daemon, for operators and for trying a rootfs out.
func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	var c common
	fs := newFlagSet("run", stderr)
	c.register(fs)
	lang := fs.String("l", "", "language: python or node (default: from the file extension)")
	ref := fs.String("rootfs", "", "rootfs name or name@sha256:… (default: the language's name)")
	useStdin := fs.Bool("stdin", false, "pass this process's standard input to the script")
	asJSON := fs.Bool("json", false, "print the whole result as JSON instead of the script's output")
	seccompFile := fs.String("seccomp", "", "OCI seccomp JSON filter (default: the language's built-in one); used unchecked, for deriving profiles")
	l := jail.DefaultLimits()
	fs.DurationVar(&l.Wall, "wall", l.Wall, "wall-clock limit")
	fs.DurationVar(&l.CPUTime, "cpu-time", l.CPUTime, "CPU time limit")
	fs.Float64Var(&l.CPUs, "cpus", l.CPUs, "CPU quota in cores")
	fs.Int64Var(&l.Memory, "memory", l.Memory, "memory+swap limit in bytes")
	fs.Int64Var(&l.Pids, "pids", l.Pids, "maximum tasks")
	fs.Int64Var(&l.Output, "output", l.Output, "bytes kept per output stream")
	fs.Int64Var(&l.Tmp, "tmp", l.Tmp, "size of /tmp plus the work dir in bytes")
	if err := parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() < 1 {
		return 0, usageError{"want FILE or - (code on standard input)"}
	}
	log, err := c.logger(stderr)
	if err != nil {
		return 0, err
	}
	file := fs.Arg(0)
	language, err := pickLanguage(*lang, file)
	if err != nil {
		return 0, err
	}
	code, err := readSource(file)
	if err != nil {
		return 0, err
	}
	var stdin []byte
	if *useStdin {
		if file == "-" {
			return 0, usageError{"--stdin cannot be used when the code comes from standard input"}
		}
		if stdin, err = io.ReadAll(os.Stdin); err != nil {
			return 0, fmt.Errorf("read stdin: %w", err)
		}
	}
	store, err := rootfs.Open(filepath.Join(c.stateDir, "rootfs"))
	if err != nil {
		return 0, err
	}
	if *ref == "" {
		*ref = string(language)
	}
	img, err := store.Lookup(*ref)
	if err != nil {
		return 0, fmt.Errorf("%w (build one with: jaild rootfs build %s)", err, language)
	}
	entry := policy.DefaultEntrypoint(language)
	argv, err := policy.Command(language, img.Interpreter, entry, fs.Args()[1:])
	if err != nil {
		return 0, err
	}
	filter := policy.SeccompFor(string(language))
	if *seccompFile != "" {
		if filter, err = policy.LoadSeccompFile(*seccompFile); err != nil {
			return 0, err
		}
	}
	r, err := container.New(container.Config{StateDir: c.stateDir, Logger: log})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	res, err := r.Run(ctx, jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     policy.BaseEnv(language),
		Files:   []jail.File{{Name: entry, Content: code}},
		Stdin:   stdin,
		Limits:  l,
		Seccomp: filter,
	})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(resultJSON(res, img))
	} else {
		_, _ = stdout.Write(res.Stdout)
		_, _ = stderr.Write(res.Stderr)
		fmt.Fprintf(stderr, "jaild: %s", res.Status)
		if res.Signal != "" {
			fmt.Fprintf(stderr, " (%s)", res.Signal)
		}
		if res.Syscall != "" {
			fmt.Fprintf(stderr, " syscall=%s", res.Syscall)
		}
		fmt.Fprintf(stderr, " exit=%d wall=%v cpu=%v peak=%dKiB\n", res.ExitCode,
			res.Wall.Round(time.Millisecond), res.CPU.Round(time.Millisecond), res.MemoryPeak>>10)
	}
	if err != nil {
		return 0, err
	}
	return exitCode(res), nil
}

// exitCode follows coreutils timeout: the script's own code, 124 on a
// time limit, 128+9 when killed by the OOM killer, 128+N for signal N.
func exitCode(res jail.Result) int {
	switch res.Status {
	case jail.StatusOK, jail.StatusExitNonzero:
		return res.ExitCode
	case jail.StatusTimeout, jail.StatusCPULimit:
		return 124
	case jail.StatusOOM:
		return 137
	case jail.StatusSignaled:
		return 128 + signalNumber(res.Signal)
	}
	return 125
}

func pickLanguage(flagValue, file string) (jail.Language, error) {
	if flagValue != "" {
		if l := jail.Language(flagValue); l.Valid() {
			return l, nil
		}
		return "", usageError{fmt.Sprintf("unknown language %q (want python or node)", flagValue)}
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".py":
		return jail.Python, nil
	case ".js", ".mjs", ".cjs":
		return jail.Node, nil
	}
	return "", usageError{"cannot tell the language from the file name: pass -l python or -l node"}
}

func readSource(file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(file)
}

type runJSON struct {
	Status        jail.Status `json:"status"`
	ExitCode      int         `json:"exit_code"`
	Signal        string      `json:"signal,omitempty"`
	Syscall       string      `json:"syscall,omitempty"`
	Stdout        string      `json:"stdout"`
	Stderr        string      `json:"stderr"`
	StdoutDropped int64       `json:"stdout_dropped_bytes"`
	StderrDropped int64       `json:"stderr_dropped_bytes"`
	WallMS        int64       `json:"wall_ms"`
	CPUMS         int64       `json:"cpu_ms"`
	MemoryPeak    int64       `json:"memory_peak_bytes"`
	Rootfs        string      `json:"rootfs"`
	Error         string      `json:"error,omitempty"`
}

func resultJSON(res jail.Result, img rootfs.Image) runJSON {
	return runJSON{Status: res.Status, ExitCode: res.ExitCode, Signal: res.Signal, Syscall: res.Syscall,
		Stdout: string(res.Stdout), Stderr: string(res.Stderr),
		StdoutDropped: res.StdoutDropped, StderrDropped: res.StderrDropped,
		WallMS: res.Wall.Milliseconds(), CPUMS: res.CPU.Milliseconds(), MemoryPeak: res.MemoryPeak,
		Rootfs: img.Name + "@" + res.RootfsDigest, Error: res.Error}
}
