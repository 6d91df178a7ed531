package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jaild/jaild/daemon/api"
)

const runSynopsis = `[flags] FILE|- [ARGS...]

Runs FILE (or, with -, code read from standard input) in a jail and prints
its output as it arrives, then exits with the script's exit code: 124 when
it hit its wall or CPU limit, 137 when killed for memory, 128+N when killed
by signal N, 125 when jailctl or the daemon failed. Flags go before FILE;
everything after it is passed to the script.`

// runFlags are the flags of jailctl run.
type runFlags struct {
	lang, profile       string
	useStdin, asJSON    bool
	verbose             bool
	wall, cpu           time.Duration
	memory, output, tmp byteSize
	pids                int64
	env                 map[string]string
	files               [][2]string // NAME, PATH in the order given
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.lang, "l", "", "`language`: python or node (default: from FILE's extension)")
	fs.StringVar(&f.profile, "profile", "", "policy `profile` to run under (default: the one named like the language)")
	fs.BoolVar(&f.useStdin, "stdin", false, "pass jailctl's standard input to the script")
	fs.BoolVar(&f.asJSON, "json", false, "wait for the run and print its whole result as JSON instead of streaming")
	fs.BoolVar(&f.verbose, "v", false, "print a one-line summary of the run to standard error")
	fs.DurationVar(&f.wall, "wall", 0, "wall-clock `limit` (default: the daemon's)")
	fs.DurationVar(&f.cpu, "cpu", 0, "CPU-time `limit` (default: the daemon's)")
	fs.Var(&f.memory, "memory", "memory limit in `bytes`; K, M and G suffixes are powers of 1024 (default: the daemon's)")
	fs.Int64Var(&f.pids, "pids", 0, "maximum `tasks` (default: the daemon's)")
	fs.Var(&f.output, "output", "`bytes` of output kept per stream (default: the daemon's)")
	fs.Var(&f.tmp, "tmp", "`bytes` of /tmp plus the work directory (default: the daemon's)")
	f.env = map[string]string{}
	fs.Func("env", "set `K=V` in the script's environment (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok || k == "" {
			return fmt.Errorf("want K=V")
		}
		f.env[k] = v
		return nil
	})
	fs.Func("file", "`NAME=PATH`: copy local file PATH into the work directory as NAME (repeatable)", func(s string) error {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return fmt.Errorf("want NAME=PATH")
		}
		f.files = append(f.files, [2]string{name, path})
		return nil
	})
}

func cmdRun(c *cli, args []string) (int, error) {
	fs := c.flagSet("run", runSynopsis)
	var f runFlags
	f.register(fs)
	if err := c.parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() == 0 {
		return 0, usagef("want FILE, or - to read the code from standard input")
	}
	req, err := f.request(c.ctx, fs.Arg(0), fs.Args()[1:], c.stdin)
	if err != nil {
		return 0, err
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	if f.asJSON {
		res, err := cl.Run(c.ctx, req)
		if err != nil {
			printFindings(c.stderr, err)
			return 0, err
		}
		if err := writeJSON(c.stdout, res); err != nil {
			return 0, err
		}
		if f.verbose {
			fmt.Fprintln(c.stderr, summary(res))
		}
		return exitCode(res), nil
	}
	out := &chunkWriter{stdout: c.stdout, stderr: c.stderr}
	res, err := cl.RunStream(c.ctx, req, out.write)
	if err != nil {
		printFindings(c.stderr, err)
		return 0, err
	}
	if err := out.rest(res); err != nil {
		return 0, err
	}
	c.report(res, f.verbose)
	return exitCode(res), nil
}

// request builds the run request. A named FILE is sent as a file under its
// own base name, so the script sees its name (and node its .mjs or .cjs
// module type); code from standard input is sent as inline code unless
// --file needs a file list.
func (f *runFlags) request(ctx context.Context, file string, args []string, stdin io.Reader) (api.RunRequest, error) {
	lang, err := language(f.lang, file)
	if err != nil {
		return api.RunRequest{}, err
	}
	if file == "-" && f.useStdin {
		return api.RunRequest{}, usagef("--stdin cannot be used with -: standard input already holds the code")
	}
	limits, err := f.limits()
	if err != nil {
		return api.RunRequest{}, err
	}
	req := api.RunRequest{Language: lang, Profile: f.profile, Args: args, Limits: limits}
	if len(f.env) > 0 {
		req.Env = f.env
	}
	var code []byte
	if file == "-" {
		code, err = readAll(ctx, stdin)
		err = wrapIf(err, "read code from standard input")
	} else {
		code, err = os.ReadFile(file)
	}
	if err != nil {
		return api.RunRequest{}, err
	}
	if f.useStdin {
		in, err := readAll(ctx, stdin)
		if err != nil {
			return api.RunRequest{}, fmt.Errorf("read standard input: %w", err)
		}
		if utf8.Valid(in) {
			req.Stdin = string(in)
		} else {
			// JSON strings cannot carry these bytes: send them base64.
			req.StdinBase64 = base64.StdEncoding.EncodeToString(in)
		}
	}
	if file == "-" && len(f.files) == 0 && utf8.Valid(code) {
		req.Code = string(code)
		return req, nil
	}
	req.Entrypoint = filepath.Base(file)
	if file == "-" {
		req.Entrypoint = defaultEntrypoint(lang)
	}
	req.Files = []api.File{apiFile(req.Entrypoint, code)}
	seen := map[string]bool{req.Entrypoint: true}
	for _, nf := range f.files {
		name, path := nf[0], nf[1]
		if seen[name] {
			return api.RunRequest{}, usagef("--file %s: the name is already taken by the script or another --file", name)
		}
		seen[name] = true
		data, err := os.ReadFile(path)
		if err != nil {
			return api.RunRequest{}, fmt.Errorf("--file %s: %w", name, err)
		}
		req.Files = append(req.Files, apiFile(name, data))
	}
	return req, nil
}

// readAll reads r to EOF, or until ctx ends: a Ctrl-C while jailctl waits
// for a terminal's input must stop it, and a read cannot be interrupted.
func readAll(ctx context.Context, r io.Reader) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(r)
		done <- result{b, err}
	}()
	select {
	case res := <-done:
		return res.b, res.err
	case <-ctx.Done():
		return nil, ctx.Err() // the reader goroutine ends with the process
	}
}

func wrapIf(err error, what string) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// language is -l, or else the language FILE's extension names.
func language(flagValue, file string) (string, error) {
	if flagValue != "" {
		if flagValue == "python" || flagValue == "node" {
			return flagValue, nil
		}
		return "", usagef("unknown language %q: want python or node", flagValue)
	}
	if file == "-" {
		return "", usagef("cannot tell the language of code on standard input: pass -l python or -l node")
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".py":
		return "python", nil
	case ".js", ".mjs", ".cjs":
		return "node", nil
	}
	return "", usagef("cannot tell the language of %s from its extension: pass -l python or -l node", file)
}

// defaultEntrypoint names code from standard input when it has to travel
// as a file; it matches the daemon's name for inline code.
func defaultEntrypoint(lang string) string {
	if lang == "node" {
		return "main.js"
	}
	return "main.py"
}

// apiFile sends text as is and anything else as base64, which JSON carries
// without mangling.
func apiFile(name string, data []byte) api.File {
	if utf8.Valid(data) {
		return api.File{Name: name, Content: string(data)}
	}
	return api.File{Name: name, Content: base64.StdEncoding.EncodeToString(data), Encoding: api.EncodingBase64}
}

// limits are the limits given as flags, or nil to take all the daemon's
// defaults.
func (f *runFlags) limits() (*api.Limits, error) {
	for name, d := range map[string]time.Duration{"wall": f.wall, "cpu": f.cpu} {
		if d < 0 {
			return nil, usagef("--%s %v: want a positive duration", name, d)
		}
	}
	if f.pids < 0 {
		return nil, usagef("--pids %d: want a positive number", f.pids)
	}
	l := api.Limits{WallMS: millis(f.wall), CPUMS: millis(f.cpu), MemoryBytes: int64(f.memory),
		Pids: f.pids, OutputBytes: int64(f.output), TmpBytes: int64(f.tmp)}
	if l == (api.Limits{}) {
		return nil, nil
	}
	return &l, nil
}

// millis rounds d up to whole milliseconds, so a tiny limit stays a limit
// rather than becoming 0, which means "the default".
func millis(d time.Duration) int64 {
	return int64((d + time.Millisecond - 1) / time.Millisecond)
}

// byteSize is a flag of bytes with an optional K, M or G suffix (powers of
// 1024, as cgroup memory limits are usually written), such as 256M.
type byteSize int64

func (b *byteSize) String() string { return strconv.FormatInt(int64(*b), 10) }

func (b *byteSize) Set(s string) error {
	num := strings.TrimRight(s, "KMGiBkmgb")
	shift, ok := map[string]uint{"": 0, "b": 0, "k": 10, "kb": 10, "kib": 10,
		"m": 20, "mb": 20, "mib": 20, "g": 30, "gb": 30, "gib": 30}[strings.ToLower(s[len(num):])]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 {
		return fmt.Errorf("want a number of bytes such as 1048576 or 256M")
	}
	if n > (1<<63-1)>>shift {
		return fmt.Errorf("%s is too large", s)
	}
	*b = byteSize(n << shift)
	return nil
}
