package main

import (
	"fmt"
	"strings"

	"github.com/jaild/jaild/daemon/api"
)

// kind is one sort of run in the mix and how its answer must look.
type kind struct {
	name   string
	weight int
	req    api.RunRequest
	// disconnect: the client hangs up once the run has started; the
	// answer is then checked in the history.
	disconnect bool
	check      func(r api.RunResult) error
}

func want(status string, extra func(r api.RunResult) error) func(api.RunResult) error {
	return func(r api.RunResult) error {
		if r.Status != status {
			return fmt.Errorf("status %s (error %q, stderr %q), want %s", r.Status, r.Error, clip(r.Stderr), status)
		}
		if extra != nil {
			return extra(r)
		}
		return nil
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

func stdoutIs(s string) func(api.RunResult) error {
	return func(r api.RunResult) error {
		if r.Stdout != s {
			return fmt.Errorf("stdout %q, want %q", clip(r.Stdout), s)
		}
		return nil
	}
}

// generous is the wall budget of runs that must not time out: the queue
// wait counts against it, and a loaded host can queue a run for seconds.
var generous = &api.Limits{WallMS: 30000}

func kinds() []kind {
	return []kind{
		{name: "ok_python", weight: 30, req: api.RunRequest{Language: "python", Code: "import sys; print(sum(range(10)), len(sys.argv))", Limits: generous},
			check: want(api.StatusOK, stdoutIs("45 2\n"))},
		{name: "ok_node", weight: 10, req: api.RunRequest{Language: "node", Code: "console.log('n' + (1 + 1))", Limits: generous},
			check: want(api.StatusOK, stdoutIs("n2\n"))},
		{name: "exit_nonzero", weight: 15, req: api.RunRequest{Language: "python", Code: "print('bye'); raise SystemExit(3)", Limits: generous},
			check: want(api.StatusExitNonzero, func(r api.RunResult) error {
				if r.ExitCode != 3 || r.Stdout != "bye\n" {
					return fmt.Errorf("exit %d stdout %q, want 3 and bye", r.ExitCode, r.Stdout)
				}
				return nil
			})},
		{name: "timeout", weight: 10, req: api.RunRequest{Language: "python", Code: "import time; time.sleep(30)",
			Limits: &api.Limits{WallMS: 300}}, check: want(api.StatusTimeout, nil)},
		{name: "oom", weight: 10, req: api.RunRequest{Language: "python", Code: "x = b'x' * (1 << 30)",
			Limits: &api.Limits{WallMS: 30000, MemoryBytes: 32 << 20}}, check: want(api.StatusOOM, nil)},
		{name: "fork_bomb", weight: 5, req: api.RunRequest{Language: "python",
			Code:   "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
			Limits: &api.Limits{WallMS: 800, CPUMS: 30000, Pids: 16}}, check: want(api.StatusTimeout, nil)},
		{name: "output_flood", weight: 10, req: api.RunRequest{Language: "python",
			Code:   "import sys\nfor _ in range(20): sys.stdout.write('y' * 100000)",
			Limits: &api.Limits{WallMS: 30000, OutputBytes: 1000}}, check: want(api.StatusOK, func(r api.RunResult) error {
			if r.Stdout != strings.Repeat("y", 1000) || r.StdoutDropped != 2000000-1000 {
				return fmt.Errorf("kept %d dropped %d, want 1000 and %d", len(r.Stdout), r.StdoutDropped, 2000000-1000)
			}
			return nil
		})},
		{name: "disconnect", weight: 10, disconnect: true, req: api.RunRequest{Language: "python",
			Code: "import time; print('started', flush=True); time.sleep(30)", Limits: &api.Limits{WallMS: 30000}},
			check: want(api.StatusInternalError, func(r api.RunResult) error {
				if !strings.Contains(r.Error, "client went away") {
					return fmt.Errorf("error %q, want the client's hang-up named", r.Error)
				}
				return nil
			})},
	}
}

// schedule spreads n runs over the kinds by weight, deterministically.
func schedule(ks []kind, n int) []int {
	var wheel []int
	for i, k := range ks {
		for j := 0; j < k.weight; j++ {
			wheel = append(wheel, i)
		}
	}
	out := make([]int, n)
	for i := range out {
		out[i] = wheel[(i*37)%len(wheel)] // 37 is prime to len(wheel): kinds interleave
	}
	return out
}
