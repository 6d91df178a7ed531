package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

const evalSynopsis = `[flags] FILE CASES.json

Runs FILE against the test cases in CASES.json and prints one line per
case and a summary; exits 0 when every case passed, 1 when one did not.
CASES.json is either an array of cases or an object with "cases" and any
other field of POST /v1/evals (shared_jail, stop_on_first_failure,
compare, float_tolerance, total_wall_ms, limits); flags override it.
A function case: {"name": "t1", "function": "solve", "args": [1, 2],
"expected": 3}. A stdin/stdout case: {"stdin": "1 2\n",
"expected_stdout": "3\n"}.`

func cmdEval(c *cli, args []string) (int, error) {
	fs := c.flagSet("eval", evalSynopsis)
	var f runFlags
	f.register(fs)
	shared := fs.Bool("shared", false, "run every case in one jail (faster; cases may see each other's side effects)")
	stop := fs.Bool("stop", false, "stop at the first case that does not pass")
	compare := fs.String("compare", "", "compare `mode`: exact, trimmed or float (default: exact, or CASES.json's)")
	total := fs.Duration("total", 0, "wall-clock `budget` of the whole eval (default: the sum of the cases' limits)")
	if err := c.parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 2 {
		return 0, usagef("want FILE and CASES.json, got %d arguments", fs.NArg())
	}
	if f.useStdin {
		return 0, usagef("--stdin does not apply: each case carries its own stdin")
	}
	req, err := evalRequest(fs.Arg(1))
	if err != nil {
		return 0, err
	}
	run, err := f.request(c.ctx, fs.Arg(0), nil, c.stdin)
	if err != nil {
		return 0, err
	}
	req.Language, req.Profile, req.Code, req.Files, req.Entrypoint, req.Env =
		run.Language, run.Profile, run.Code, run.Files, run.Entrypoint, run.Env
	if run.Limits != nil {
		req.Limits = run.Limits
	}
	flagSet := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { flagSet[fl.Name] = true })
	if flagSet["shared"] {
		req.SharedJail = *shared
	}
	if flagSet["stop"] {
		req.StopOnFirstFailure = *stop
	}
	if *compare != "" {
		req.Compare = *compare
	}
	if *total > 0 {
		req.TotalWallMS = total.Milliseconds()
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	res, err := cl.Eval(c.ctx, *req)
	if err != nil {
		return 0, err
	}
	if f.asJSON {
		err = writeJSON(c.stdout, res)
	} else {
		err = writeEval(c.stdout, res)
	}
	if err != nil {
		return 0, err
	}
	if res.Summary.Passed != res.Summary.Total {
		return 1, nil
	}
	return 0, nil
}

// evalRequest reads CASES.json: an array of cases or a request object.
func evalRequest(path string) (*api.EvalRequest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	req := &api.EvalRequest{}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		err = dec.Decode(&req.Cases)
	} else {
		err = dec.Decode(req)
	}
	if err != nil {
		return nil, fmt.Errorf("read cases from %s: %w", path, err)
	}
	if req.Language != "" || req.Code != "" || len(req.Files) > 0 {
		return nil, fmt.Errorf("read cases from %s: the program comes from FILE, not from language, code or files", path)
	}
	return req, nil
}

// writeEval prints one line per case, the details of those that did not
// pass, and the summary.
func writeEval(w io.Writer, r *api.EvalResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tNAME\tVERDICT\tWALL\tCPU\tDETAIL")
	for i, c := range r.Cases {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", i, dash(c.Name), c.Verdict, ms(c.WallMS), ms(c.CPUMS), caseDetail(c))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	s := r.Summary
	_, err := fmt.Fprintf(w, "\n%d/%d passed, %d failed, %d skipped in %s (eval %s)\n", s.Passed, s.Total, s.Failed,
		s.Skipped, ms(s.WallMS), r.ID)
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func ms(v int64) string { return (time.Duration(v) * time.Millisecond).String() }

// caseDetail is one line on why a case did not pass.
func caseDetail(c api.CaseResult) string {
	var d string
	switch {
	case c.Verdict == api.VerdictPass:
		return ""
	case c.Error != nil:
		d = c.Error.Type + ": " + c.Error.Message
	case c.Verdict == api.VerdictFail:
		d = fmt.Sprintf("got %s, want %s", clipJSON(c.Got), clipJSON(c.Expected))
		if c.Reason != "" {
			d += " (" + c.Reason + ")"
		}
	case c.Signal != "":
		d = c.Signal
	default:
		d = c.Reason
	}
	return strings.ReplaceAll(d, "\n", " ")
}

func clipJSON(b json.RawMessage) string {
	s := string(b)
	if len(s) > 60 {
		s = s[:60] + "…"
	}
	return s
}
