package daemon

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// frame is one report line the harness parent writes on the jail's
// stdout: "<nonce> <json>\n".
type frame struct {
	Case          int     `json:"case"`
	Kind          string  `json:"kind"` // return raise timeout exited signaled protocol exit skipped done
	Value         *string `json:"value,omitempty"`
	Type          string  `json:"type,omitempty"`
	Message       string  `json:"message,omitempty"`
	Traceback     string  `json:"traceback,omitempty"`
	Stdout        string  `json:"stdout,omitempty"` // base64
	Stderr        string  `json:"stderr,omitempty"`
	StdoutDropped int64   `json:"stdout_dropped,omitempty"`
	StderrDropped int64   `json:"stderr_dropped,omitempty"`
	WallMS        int64   `json:"wall_ms,omitempty"`
	CPUMS         int64   `json:"cpu_ms,omitempty"`
	ExitCode      *int    `json:"exit_code,omitempty"`
	Signal        string  `json:"signal,omitempty"`
}

// errTampered means the jail's stdout is not exactly what the harness
// writes: something else reached the report channel, so no frame of the
// run is trusted.
var errTampered = errors.New("harness report channel tampered with")

var frameKinds = map[string]bool{"return": true, "raise": true, "timeout": true, "exited": true,
	"signaled": true, "protocol": true, "exit": true, "skipped": true}

// parseFrames checks the jail's stdout line by line: every line a frame
// with the nonce, cases in order and each once, one "done" frame last.
// complete is false when the jail was killed: a cut-off last line is then
// expected and dropped. Anything else is errTampered.
func parseFrames(out []byte, nonce string, n int, complete bool) (frames []frame, done bool, err error) {
	prefix := []byte(nonce + " ")
	lines := bytes.Split(out, []byte("\n"))
	last := lines[len(lines)-1]
	lines = lines[:len(lines)-1]
	if len(last) > 0 && complete {
		return nil, false, fmt.Errorf("%w: output after the last frame", errTampered)
	}
	for k, line := range lines {
		if done {
			return nil, false, fmt.Errorf("%w: output after the done frame", errTampered)
		}
		if !bytes.HasPrefix(line, prefix) {
			return nil, false, fmt.Errorf("%w: line %d is not a frame", errTampered, k+1)
		}
		var f frame
		dec := json.NewDecoder(bytes.NewReader(line[len(prefix):]))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return nil, false, fmt.Errorf("%w: line %d: %v", errTampered, k+1, err)
		}
		switch {
		case f.Kind == "done" && f.Case == n && len(frames) == n:
			done = true
		case f.Kind == "done":
			return nil, false, fmt.Errorf("%w: done after %d of %d cases", errTampered, len(frames), n)
		case !frameKinds[f.Kind]:
			return nil, false, fmt.Errorf("%w: unknown frame kind %q", errTampered, f.Kind)
		case f.Case != len(frames) || f.Case >= n:
			return nil, false, fmt.Errorf("%w: frame for case %d where case %d was due", errTampered, f.Case, len(frames))
		default:
			frames = append(frames, f)
		}
	}
	return frames, done, nil
}

// judgeHarness turns a harness jail's result and frames into one result
// per case.
func judgeHarness(raw jail.Result, frames []frame, done bool, perr error, cases []evalCase) []api.CaseResult {
	out := make([]api.CaseResult, len(cases))
	if perr != nil {
		for i := range out {
			out[i] = api.CaseResult{Verdict: api.VerdictError,
				Error: &api.EvalError{Type: "HarnessChannel", Message: perr.Error()}}
		}
		return out
	}
	oom := raw.Status == jail.StatusOOM
	for i, f := range frames {
		out[i] = judgeFrame(f, cases[i], oom)
	}
	if done {
		return out
	}
	i := len(frames)
	out[i] = jailVerdict(raw)
	out[i].WallMS = raw.Wall.Milliseconds()
	for j := i + 1; j < len(out); j++ {
		out[j] = api.CaseResult{Verdict: api.VerdictSkipped, Reason: "the jail ended before this case ran"}
	}
	return out
}

// jailVerdict is the verdict of a case whose jail ended without its frame.
func jailVerdict(raw jail.Result) api.CaseResult {
	switch raw.Status {
	case jail.StatusTimeout:
		return api.CaseResult{Verdict: api.VerdictTimeout, Reason: raw.Error}
	case jail.StatusCPULimit:
		return api.CaseResult{Verdict: api.VerdictCPULimit}
	case jail.StatusOOM:
		return api.CaseResult{Verdict: api.VerdictOOM}
	case jail.StatusSignaled:
		return api.CaseResult{Verdict: api.VerdictSignaled, Signal: raw.Signal}
	case jail.StatusInternalError:
		return api.CaseResult{Verdict: api.VerdictError, Error: &api.EvalError{Type: "InternalError", Message: raw.Error}}
	}
	return api.CaseResult{Verdict: api.VerdictError, Error: &api.EvalError{Type: "HarnessFailed",
		Message:   fmt.Sprintf("the harness exited with code %d before reporting", raw.ExitCode),
		Traceback: tail(string(raw.Stderr), 4096)}}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func decodeStream(b64 string) string {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return ""
	}
	text, _ := encodeOutput(b)
	return text
}

func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// judgeFrame decides one case from its frame; the comparison happens
// here, with the expected value that never left the daemon.
func judgeFrame(f frame, c evalCase, oom bool) api.CaseResult {
	cr := api.CaseResult{Stdout: decodeStream(f.Stdout), Stderr: decodeStream(f.Stderr),
		StdoutDropped: f.StdoutDropped, StderrDropped: f.StderrDropped, WallMS: f.WallMS, CPUMS: f.CPUMS}
	if c.function != "" {
		cr.Expected = c.expected
	} else {
		cr.Expected = jsonString(c.want)
	}
	switch f.Kind {
	case "return":
		judgeValue(&cr, f, c)
	case "raise":
		cr.Verdict = api.VerdictError
		cr.Error = &api.EvalError{Type: f.Type, Message: f.Message, Traceback: f.Traceback}
	case "timeout":
		cr.Verdict = api.VerdictTimeout
	case "exited":
		cr.Verdict, cr.ExitCode = api.VerdictError, f.ExitCode
		cr.Error = &api.EvalError{Type: "Exit", Message: "the process exited with code " + code(f.ExitCode) + " before the function returned"}
	case "signaled":
		cr.Verdict, cr.Signal = api.VerdictSignaled, f.Signal
		if f.Signal == "SIGKILL" && oom {
			cr.Verdict = api.VerdictOOM
		}
	case "skipped":
		return api.CaseResult{Verdict: api.VerdictSkipped, Reason: "total_wall_ms budget spent"}
	case "protocol":
		cr.Verdict = api.VerdictError
		cr.Error = &api.EvalError{Type: "HarnessProtocol", Message: f.Message}
	case "exit":
		cr.ExitCode = f.ExitCode
		judgeStdout(&cr, f.ExitCode != nil && *f.ExitCode == 0, code(f.ExitCode), c)
	}
	return cr
}

func code(p *int) string {
	if p == nil {
		return "?"
	}
	return strconv.Itoa(*p)
}

func judgeValue(cr *api.CaseResult, f frame, c evalCase) {
	if f.Value == nil || c.function == "" {
		cr.Verdict = api.VerdictError
		cr.Error = &api.EvalError{Type: "HarnessProtocol", Message: "return frame without a value"}
		return
	}
	v := []byte(*f.Value)
	if json.Valid(v) {
		cr.Got = v
	} else {
		cr.Got = jsonString(*f.Value)
	}
	ok, reason, err := c.cmp.values(v, c.expected)
	switch {
	case err != nil:
		cr.Verdict = api.VerdictError
		cr.Error = &api.EvalError{Type: "InvalidReturn", Message: "the return value is not JSON: " + err.Error()}
	case ok:
		cr.Verdict = api.VerdictPass
	default:
		cr.Verdict, cr.Reason = api.VerdictFail, reason
	}
}

// judgeStdout compares a finished stdin/stdout case's output.
func judgeStdout(cr *api.CaseResult, exitedZero bool, exitCode string, c evalCase) {
	cr.Got = jsonString(cr.Stdout)
	switch {
	case !exitedZero:
		cr.Verdict = api.VerdictError
		cr.Error = &api.EvalError{Type: "ExitNonzero", Message: "the program exited with code " + exitCode,
			Traceback: tail(cr.Stderr, 4096)}
	case cr.StdoutDropped > 0:
		cr.Verdict, cr.Reason = api.VerdictFail, "stdout is longer than the output limit kept for comparison"
	default:
		ok, reason := c.cmp.stdout(cr.Stdout, c.want)
		cr.Verdict, cr.Reason = api.VerdictFail, reason
		if ok {
			cr.Verdict = api.VerdictPass
		}
	}
}

// judgeStdioRun decides a stdin/stdout case that ran as a plain run.
func judgeStdioRun(raw jail.Result, c evalCase) api.CaseResult {
	cr := api.CaseResult{StdoutDropped: raw.StdoutDropped, StderrDropped: raw.StderrDropped,
		WallMS: raw.Wall.Milliseconds(), CPUMS: raw.CPU.Milliseconds(), MemoryPeak: raw.MemoryPeak,
		Expected: jsonString(c.want)}
	cr.Stdout, _ = encodeOutput(raw.Stdout)
	cr.Stderr, _ = encodeOutput(raw.Stderr)
	switch raw.Status {
	case jail.StatusOK, jail.StatusExitNonzero:
		ec := raw.ExitCode
		cr.ExitCode = &ec
		judgeStdout(&cr, raw.Status == jail.StatusOK, strconv.Itoa(ec), c)
		return cr
	}
	v := jailVerdict(raw)
	cr.Verdict, cr.Signal, cr.Error, cr.Reason = v.Verdict, v.Signal, v.Error, v.Reason
	return cr
}
