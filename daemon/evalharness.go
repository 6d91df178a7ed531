package daemon

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// The harness runs inside the jail; see harness/harness.py for its two
// processes. Threat model, in short: the submitted code runs in a worker
// process that never holds the jail's stdout, never sees the per-run
// nonce and never sees the expected values, which stay in the daemon. The
// worker can report any return value it likes over its private pipe, but
// that is no more than returning it; it cannot write a frame, so prints,
// fake markers, monkeypatched json, sys.exit, os._exit and closing or
// replacing fds all end in error, timeout or fail. The daemon trusts a
// frame only if the whole stdout is nonce-prefixed frames in case order,
// each case once, ended by one "done" frame.
//
//go:embed harness/harness.py harness/harness.js
var harnessFS embed.FS

// harnessDir holds the harness files in the work directory; submitted
// files may not use it.
const harnessDir = ".jaild"

const (
	// maxCaseOutput caps the stdout and stderr kept per case (and stream),
	// so that a shared jail's report stays bounded.
	maxCaseOutput = 256 << 10
	// valueCap is the harness's cap on a JSON-encoded return value and on
	// each of an exception's type, message and traceback.
	valueCap = 256 << 10
	// Budget added to a harness jail on top of the case's own limits: the
	// harness's two interpreters must start before the case's clock runs.
	harnessWallSlack = time.Second
	harnessCPUSlack  = time.Second
)

// harnessMemorySlack is what the harness's own processes need on top of
// the case's memory limit.
func harnessMemorySlack(l jail.Language) (mem, pids int64) {
	if l == jail.Node {
		return 96 << 20, 24
	}
	return 32 << 20, 4
}

type harnessCtl struct {
	Nonce       string        `json:"nonce"`
	Mode        string        `json:"mode"` // "function" or "stdio"
	Entrypoint  string        `json:"entrypoint"`
	OutputBytes int64         `json:"output_bytes"`
	TotalMS     int64         `json:"total_ms,omitempty"` // budget of all cases, kept by the harness (shared jails)
	Cases       []harnessCase `json:"cases"`
}

type harnessCase struct {
	Function string          `json:"function,omitempty"`
	Args     json.RawMessage `json:"args,omitempty"`
	Kwargs   json.RawMessage `json:"kwargs,omitempty"`
	Stdin    string          `json:"stdin,omitempty"`
	Argv     []string        `json:"argv,omitempty"`
	WallMS   int64           `json:"wall_ms"`
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// caseOutputCap is the per-stream output kept for a case.
func caseOutputCap(eff api.Limits) int64 { return min(eff.OutputBytes, maxCaseOutput) }

// harnessSpec builds the jail that runs cases under the harness.
func harnessSpec(ej *evalJob, img rootfs.Image, cases []evalCase, lim jail.Limits, outCap int64, nonce string, total time.Duration) (jail.Spec, error) {
	lang := ej.run.language
	name, argv := "harness.py", []string{img.Interpreter, "-I", "-B", "-S"}
	if lang == jail.Node {
		name, argv = "harness.js", []string{img.Interpreter}
	}
	src, err := harnessFS.ReadFile("harness/" + name)
	if err != nil {
		return jail.Spec{}, fmt.Errorf("read embedded harness: %w", err)
	}
	file := path.Join(harnessDir, name)
	argv = append(argv, path.Join(jail.WorkDir, file))
	ctl := harnessCtl{Nonce: nonce, Mode: "stdio", Entrypoint: ej.run.entrypoint, OutputBytes: outCap,
		TotalMS: total.Milliseconds()}
	if ej.function {
		ctl.Mode = "function"
	}
	for _, c := range cases {
		ctl.Cases = append(ctl.Cases, harnessCase{Function: c.function, Args: c.args, Kwargs: c.kwargs,
			Stdin: c.stdin, Argv: c.argv, WallMS: c.limits.Wall.Milliseconds()})
	}
	stdin, err := json.Marshal(ctl)
	if err != nil {
		return jail.Spec{}, fmt.Errorf("encode harness control: %w", err)
	}
	mem, pids := harnessMemorySlack(lang)
	lim.Memory += mem
	lim.Pids += pids
	// Every case's frame: both streams in base64, plus a return value or
	// an exception whose strings JSON may escape up to 6× (\u00XX).
	perCase := 2*outCap*4/3 + 4*6*valueCap + 4096
	lim.Output = min(int64(len(cases))*perCase+4096, 1<<30)
	files := append(append([]jail.File(nil), ej.run.files...), jail.File{Name: file, Content: src})
	return jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     append(policy.BaseEnv(lang), ej.run.env...),
		Files:   files,
		Stdin:   stdin,
		Limits:  lim,
		Seccomp: harnessFilter(ej.a.prof.Filter),
	}, nil
}

// newEvalRun is the history row of one jail of an eval.
func newEvalRun(ej *evalJob, img rootfs.Image, caller *api.Caller, eff api.Limits) *api.RunResult {
	now := time.Now()
	return &api.RunResult{ID: newRunID(now), Language: string(ej.run.language), Rootfs: img.Ref(),
		Limits: eff, CreatedAt: now.UTC(), Caller: caller, CodeSHA256: ej.run.codeHash, ExitCode: -1,
		Profile: ej.a.prof.Name, PolicyDigest: ej.a.ap.p.Digest}
}

// runHarness runs cases in one harness jail and judges them.
func (s *Server) runHarness(ctx context.Context, ej *evalJob, img rootfs.Image, caller *api.Caller,
	cases []evalCase, lim jail.Limits, eff api.Limits, total time.Duration) ([]api.CaseResult, error) {
	nonce := newNonce()
	outCap := caseOutputCap(eff)
	lim.Wall += harnessWallSlack
	lim.CPUTime += harnessCPUSlack
	spec, err := harnessSpec(ej, img, cases, lim, outCap, nonce, total)
	if err != nil {
		return nil, err
	}
	run := newEvalRun(ej, img, caller, eff)
	raw, err := s.execute(ctx, run, spec, func() {})
	if err != nil {
		return nil, err
	}
	frames, done, perr := parseFrames(raw.Stdout, nonce, len(cases), raw.Status == jail.StatusOK)
	out := judgeHarness(*raw, frames, done, perr, cases)
	for i := range out {
		out[i].RunID = run.ID
		if out[i].Verdict != api.VerdictSkipped {
			out[i].MemoryPeak = raw.MemoryPeak
		}
	}
	return out, nil
}

// runStdioCase runs one stdin/stdout case as an ordinary run: the jail's
// own stdout is the program's, so there is nothing to forge.
func (s *Server) runStdioCase(ctx context.Context, ej *evalJob, img rootfs.Image, caller *api.Caller, c evalCase) (api.CaseResult, error) {
	argv, err := policy.Command(ej.run.language, img.Interpreter, ej.run.entrypoint, c.argv)
	if err != nil {
		return api.CaseResult{}, badRequest(api.CodeInvalidRequest, "%v", err)
	}
	spec := jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     append(policy.BaseEnv(ej.run.language), ej.run.env...),
		Files:   ej.run.files,
		Stdin:   []byte(c.stdin),
		Limits:  c.limits,
		Seccomp: ej.a.prof.Filter,
	}
	run := newEvalRun(ej, img, caller, c.eff)
	raw, err := s.execute(ctx, run, spec, func() {})
	if err != nil {
		return api.CaseResult{}, err
	}
	cr := judgeStdioRun(*raw, c)
	cr.RunID = run.ID
	return cr, nil
}

// evalShared runs every case in one jail under one harness. The jail's
// limits are the largest of the cases' (wall: the total budget, by default
// the sum of their walls; CPU: their sum); the harness keeps each case's
// wall limit and the total budget, the jail's limits back it up.
func (s *Server) evalShared(ctx context.Context, ej *evalJob, img rootfs.Image, res *api.EvalResult, caller *api.Caller) error {
	lim, eff := ej.cases[0].limits, ej.cases[0].eff
	lim.Wall, lim.CPUTime = 0, 0
	for _, c := range ej.cases {
		lim.CPUTime += c.limits.CPUTime
		lim.Memory = max(lim.Memory, c.limits.Memory)
		lim.Pids = max(lim.Pids, c.limits.Pids)
		lim.Tmp = max(lim.Tmp, c.limits.Tmp)
		eff.OutputBytes = max(eff.OutputBytes, c.eff.OutputBytes)
	}
	lim.Wall = ej.total
	lim.CPUTime = min(lim.CPUTime, 24*time.Hour-harnessCPUSlack)
	eff.WallMS, eff.CPUMS = lim.Wall.Milliseconds(), lim.CPUTime.Milliseconds()
	eff.MemoryBytes, eff.Pids, eff.TmpBytes = lim.Memory, lim.Pids, lim.Tmp
	out, err := s.runHarness(ctx, ej, img, caller, ej.cases, lim, eff, ej.total)
	if err != nil {
		return err
	}
	for i := range out {
		out[i].Name = ej.cases[i].name
		res.Cases[i] = out[i]
	}
	if ej.stopFail {
		for i, c := range res.Cases {
			if c.Verdict != api.VerdictPass && c.Verdict != api.VerdictSkipped {
				skipFrom(res.Cases, i+1, "stop_on_first_failure (in a shared jail later cases may still have run)")
				for j := i + 1; j < len(res.Cases); j++ {
					res.Cases[j].RunID = out[j].RunID
				}
				break
			}
		}
	}
	return nil
}

// harnessFilter is the profile's seccomp filter plus what the harness
// needs that filters derived from plain scripts lack (found by tracing the
// harness in a jail, as policy/seccomp/derive.sh does):
//   - prctl(PR_SET_DUMPABLE, …) only: the Python harness makes itself
//     unreachable through /proc with it;
//   - clone3 failing with ENOSYS instead of the filter's default errno:
//     glibc's fork and posix_spawn (libuv's spawn) try clone3 first and
//     fall back to clone, which the profile allows without namespace
//     flags, only on ENOSYS. clone3 stays refused.
//
// A syscall the profile already has a rule for is left as the profile says.
// The worker inherits the filter; neither rule gives it anything it could
// not do already.
func harnessFilter(f *specs.LinuxSeccomp) *specs.LinuxSeccomp {
	if f == nil {
		return nil // Spec.Validate refuses a missing filter
	}
	ruled := map[string]bool{}
	for _, sc := range f.Syscalls {
		for _, n := range sc.Names {
			ruled[n] = true
		}
	}
	out := *f
	out.Syscalls = append([]specs.LinuxSyscall(nil), f.Syscalls...)
	if !ruled["prctl"] {
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: []string{"prctl"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.PR_SET_DUMPABLE, Op: specs.OpEqualTo}}})
	}
	if !ruled["clone3"] {
		enosys := uint(unix.ENOSYS)
		out.Syscalls = append(out.Syscalls, specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno,
			ErrnoRet: &enosys})
	}
	return &out
}
