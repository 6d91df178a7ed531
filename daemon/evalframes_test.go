package daemon

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

const testNonce = "00112233445566778899aabbccddeeff"

func frameLine(nonce string, f map[string]any) string {
	b, _ := json.Marshal(f)
	return nonce + " " + string(b) + "\n"
}

func ret(i int, v string) string {
	return frameLine(testNonce, map[string]any{"case": i, "kind": "return", "value": v})
}

func doneLine(n int) string { return frameLine(testNonce, map[string]any{"case": n, "kind": "done"}) }

func TestParseFrames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		out      string
		complete bool
		frames   int
		done     bool
		tampered bool
	}{
		{"two cases", ret(0, "1") + ret(1, "2") + doneLine(2), true, 2, true, false},
		{"no done: killed", ret(0, "1"), false, 1, false, false},
		{"cut-off last line of a killed jail", ret(0, "1") + testNonce + ` {"case":1,"ki`, false, 1, false, false},
		{"cut-off last line of a clean exit", ret(0, "1") + testNonce + ` {"case":1,"ki`, true, 0, false, true},
		{"printed line", "42\n" + ret(0, "1") + ret(1, "2") + doneLine(2), true, 0, false, true},
		{"wrong nonce", frameLine(strings.Repeat("0", 32), map[string]any{"case": 0, "kind": "return", "value": "42"}) + ret(1, "2") + doneLine(2), true, 0, false, true},
		{"duplicate case", ret(0, "1") + ret(0, "42") + ret(1, "2") + doneLine(2), true, 0, false, true},
		{"out of order", ret(1, "2") + ret(0, "1") + doneLine(2), true, 0, false, true},
		{"case past the end", ret(0, "1") + ret(1, "2") + ret(2, "3") + doneLine(2), true, 0, false, true},
		{"early done", ret(0, "1") + doneLine(2), true, 0, false, true},
		{"after done", ret(0, "1") + ret(1, "2") + doneLine(2) + ret(1, "42"), true, 0, false, true},
		{"unknown kind", frameLine(testNonce, map[string]any{"case": 0, "kind": "pass"}), true, 0, false, true},
		{"unknown field", frameLine(testNonce, map[string]any{"case": 0, "kind": "return", "value": "1", "verdict": "pass"}), true, 0, false, true},
		{"not json", testNonce + " {nope}\n", true, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, done, err := parseFrames([]byte(tc.out), testNonce, 2, tc.complete)
			if tc.tampered {
				if !errors.Is(err, errTampered) {
					t.Fatalf("err = %v, want errTampered", err)
				}
				return
			}
			if err != nil || len(frames) != tc.frames || done != tc.done {
				t.Fatalf("parseFrames = %d frames, done %v, err %v; want %d, %v", len(frames), done, err, tc.frames, tc.done)
			}
		})
	}
}

func fnCase(expected string) evalCase {
	return evalCase{function: "solve", expected: json.RawMessage(expected), cmp: comparison{mode: api.CompareExact}}
}

func TestJudgeHarness(t *testing.T) {
	cases := []evalCase{fnCase("1"), fnCase("2"), fnCase("3")}
	ok := jail.Result{Status: jail.StatusOK}
	parse := func(out string, complete bool) ([]frame, bool, error) {
		return parseFrames([]byte(out), testNonce, 3, complete)
	}
	kill := func(i int) string {
		return frameLine(testNonce, map[string]any{"case": i, "kind": "signaled", "signal": "SIGKILL"})
	}
	for _, tc := range []struct {
		name string
		raw  jail.Result
		out  string
		want string
	}{
		{"all answered", ok, ret(0, "1") + ret(1, "5") + ret(2, `"3"`) + doneLine(3), "pass,fail,fail"},
		{"not json", ok, ret(0, "NaN") + ret(1, "2") + ret(2, "3 4") + doneLine(3), "error,pass,error"},
		{"tampered", ok, "fake\n" + ret(0, "1") + ret(1, "2") + ret(2, "3") + doneLine(3), "error,error,error"},
		{"jail timed out", jail.Result{Status: jail.StatusTimeout}, ret(0, "1"), "pass,timeout,skipped"},
		{"jail cpu limit", jail.Result{Status: jail.StatusCPULimit}, "", "cpu_limit,skipped,skipped"},
		{"worker SIGKILLed in an OOM jail", jail.Result{Status: jail.StatusOOM, ExitCode: -1},
			ret(0, "1") + kill(1) + ret(2, "3") + doneLine(3), "pass,oom,pass"},
		{"worker SIGKILLed, no OOM", jail.Result{Status: jail.StatusExitNonzero, ExitCode: 3},
			ret(0, "1") + kill(1) + ret(2, "3") + doneLine(3), "pass,signaled,pass"},
		{"harness crashed", jail.Result{Status: jail.StatusExitNonzero, ExitCode: 1, Stderr: []byte("Traceback")},
			ret(0, "1"), "pass,error,skipped"},
		{"internal error", jail.Result{Status: jail.StatusInternalError, Error: "no cgroup"}, "", "error,skipped,skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, done, perr := parse(tc.out, tc.raw.Status == jail.StatusOK)
			res := judgeHarness(tc.raw, frames, done, perr, cases)
			var got []string
			for _, c := range res {
				got = append(got, c.Verdict)
				if c.Verdict == api.VerdictError && c.Error == nil {
					t.Errorf("error verdict without an error: %+v", c)
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("verdicts %s, want %s", strings.Join(got, ","), tc.want)
			}
		})
	}
}

// fakeHarness answers a harness jail like the real harness would: the
// value of each function case is the sum of its arguments; a stdin/stdout
// case prints its stdin.
func fakeHarness(calls *[]harnessCtl) func(spec jail.Spec) (jail.Result, error) {
	return func(spec jail.Spec) (jail.Result, error) {
		var ctl harnessCtl
		if err := json.Unmarshal(spec.Stdin, &ctl); err != nil || ctl.Nonce == "" {
			// A plain run (isolated stdin/stdout case): echo stdin.
			return jail.Result{Status: jail.StatusOK, Stdout: spec.Stdin, Wall: time.Millisecond}, nil
		}
		*calls = append(*calls, ctl)
		var out strings.Builder
		for i, c := range ctl.Cases {
			f := map[string]any{"case": i, "kind": "return"}
			if ctl.Mode == "stdio" {
				f = map[string]any{"case": i, "kind": "exit", "exit_code": 0,
					"stdout": b64(c.Stdin)}
			} else {
				var args []float64
				_ = json.Unmarshal(c.Args, &args)
				sum := 0.0
				for _, a := range args {
					sum += a
				}
				f["value"] = fmt.Sprint(sum)
			}
			out.WriteString(frameLine(ctl.Nonce, f))
		}
		out.WriteString(frameLine(ctl.Nonce, map[string]any{"case": len(ctl.Cases), "kind": "done"}))
		return jail.Result{Status: jail.StatusOK, Stdout: []byte(out.String()), Wall: time.Millisecond}, nil
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
