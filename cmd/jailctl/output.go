package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/jaild/jaild/daemon/api"
)

// chunkWriter copies a run's streamed output to jailctl's own stdout and
// stderr as it arrives.
type chunkWriter struct {
	stdout, stderr       io.Writer
	sawStdout, sawStderr bool
}

func (w *chunkWriter) write(ev api.StreamEvent) error {
	if err := emit(w.stdout, &w.sawStdout, "stdout", ev.Stdout, ev.StdoutBase64); err != nil {
		return err
	}
	return emit(w.stderr, &w.sawStderr, "stderr", ev.Stderr, ev.StderrBase64)
}

// rest prints output that the result holds but no chunk carried, so that
// a daemon that sends everything in the result still shows it.
func (w *chunkWriter) rest(res *api.RunResult) error {
	if !w.sawStdout {
		if err := emit(w.stdout, &w.sawStdout, "stdout", res.Stdout, res.StdoutBase64); err != nil {
			return err
		}
	}
	if !w.sawStderr {
		return emit(w.stderr, &w.sawStderr, "stderr", res.Stderr, res.StderrBase64)
	}
	return nil
}

func emit(dst io.Writer, saw *bool, name, plain, b64 string) error {
	b, err := outputBytes(plain, b64)
	if err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	if len(b) == 0 {
		return nil
	}
	*saw = true
	if _, err := dst.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// outputBytes is one stream's raw bytes: the daemon sends output that is
// not valid UTF-8 as base64 instead of as text.
func outputBytes(plain, b64 string) ([]byte, error) {
	if b64 == "" {
		return []byte(plain), nil
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	return append([]byte(plain), raw...), err
}

// exitCode is jailctl run's exit code for a finished run, following
// coreutils timeout(1): the script's own code, 124 for a time limit,
// 128+9 for the OOM killer, 128+N for signal N, 125 when the run failed
// for a reason of the daemon's.
func exitCode(res *api.RunResult) int {
	switch res.Status {
	case api.StatusOK, api.StatusExitNonzero:
		return res.ExitCode
	case api.StatusTimeout, api.StatusCPULimit:
		return exitTimeout
	case api.StatusOOM:
		return exitOOM
	case api.StatusSignaled:
		if n := signalNumber(res.Signal); n > 0 {
			return exitSignal + n
		}
	}
	return exitFailed
}

// report tells on stderr what the script's own output cannot: output the
// daemon dropped, why a run failed, and with -v a summary.
func (c *cli) report(res *api.RunResult, verbose bool) {
	for _, d := range []struct {
		name    string
		dropped int64
	}{{"stdout", res.StdoutDropped}, {"stderr", res.StderrDropped}} {
		if d.dropped > 0 {
			limit := ""
			if res.Limits.OutputBytes > 0 {
				limit = " of " + formatBytes(res.Limits.OutputBytes)
			}
			fmt.Fprintf(c.stderr, "jailctl run: %s truncated: %d bytes over the output limit%s were dropped\n",
				d.name, d.dropped, limit)
		}
	}
	switch res.Status {
	case api.StatusOK, api.StatusExitNonzero, api.StatusTimeout, api.StatusCPULimit, api.StatusOOM:
		// The script's own doing: its output and the exit code say it.
	case api.StatusInternalError, api.StatusAborted:
		fmt.Fprintf(c.stderr, "jailctl run: run %s %s: %s\n", res.ID, res.Status, res.Error)
	case api.StatusSignaled:
		if signalNumber(res.Signal) == 0 {
			fmt.Fprintf(c.stderr, "jailctl run: run %s was killed by unknown signal %q\n", res.ID, res.Signal)
		}
	default:
		fmt.Fprintf(c.stderr, "jailctl run: run %s ended with unknown status %q\n", res.ID, res.Status)
	}
	if verbose {
		fmt.Fprintln(c.stderr, summary(res))
	}
}

// summary is the one line -v prints about a run.
func summary(res *api.RunResult) string {
	s := fmt.Sprintf("jailctl run: %s %s", res.ID, res.Status)
	if res.Signal != "" {
		s += " (" + res.Signal + ")"
	}
	return s + fmt.Sprintf(" exit=%d wall=%s cpu=%s peak=%s queue=%s", res.ExitCode,
		formatMS(res.WallMS), formatMS(res.CPUMS), formatBytes(res.MemoryPeak), formatMS(res.QueueMS))
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
