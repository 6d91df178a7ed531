package main

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/daemon/client"
)

func cmdHistory(c *cli, args []string) (int, error) {
	fs := c.flagSet("history", "[flags]\n\nLists past runs, newest first.")
	limit := fs.Int("limit", 0, "show at most `n` runs (default: the daemon's page size)")
	status := fs.String("status", "", "only runs with this `status`: ok, exit_nonzero, timeout, cpu_limit, oom, signaled, internal_error, aborted, running")
	lang := fs.String("language", "", "only runs of this `language`: python or node")
	before := fs.String("before", "", "only runs older than run `ID`: the cursor printed after a full page")
	asJSON := fs.Bool("json", false, "print the page as JSON")
	if err := c.parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, usagef("unexpected argument %q: history takes only flags", fs.Arg(0))
	}
	if *limit < 0 {
		return 0, usagef("--limit %d: want a positive number", *limit)
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	list, err := cl.List(c.ctx, client.ListOptions{Limit: *limit, Before: *before, Status: *status, Language: *lang})
	if err != nil {
		return 0, err
	}
	if *asJSON {
		return 0, writeJSON(c.stdout, list)
	}
	if err := writeTable(c.stdout, list.Runs); err != nil {
		return 0, err
	}
	if list.Next != "" {
		// stderr, so that the table on stdout stays a table.
		fmt.Fprintf(c.stderr, "more runs: add --before %s\n", list.Next)
	}
	return 0, nil
}

func writeTable(w io.Writer, runs []api.RunResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tLANGUAGE\tSTATUS\tEXIT\tWALL\tCPU\tPEAK")
	for _, r := range runs {
		wall, cpu, peak := formatMS(r.WallMS), formatMS(r.CPUMS), formatBytes(r.MemoryPeak)
		if r.Status == api.StatusRunning {
			wall, cpu, peak = "-", "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, formatTime(r.CreatedAt), r.Language,
			r.Status, exitColumn(&r), wall, cpu, peak)
	}
	return tw.Flush()
}

// exitColumn is the script's exit code, or the signal that killed it, or
// "-" when the script did not get to exit.
func exitColumn(r *api.RunResult) string {
	switch r.Status {
	case api.StatusOK, api.StatusExitNonzero:
		return strconv.Itoa(r.ExitCode)
	case api.StatusSignaled:
		return r.Signal
	}
	return "-"
}

func cmdShow(c *cli, args []string) (int, error) {
	fs := c.flagSet("show", "ID [flags]\n\nPrints one run's result, then its stdout and stderr.")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	ids, err := c.parseInterspersed(fs, args)
	if err != nil {
		return 0, err
	}
	switch len(ids) {
	case 0:
		return 0, usagef("want a run ID (jailctl history lists them)")
	case 1:
	default:
		return 0, usagef("want one run ID, got %d", len(ids))
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	res, err := cl.Get(c.ctx, ids[0])
	if err != nil {
		return 0, err
	}
	if *asJSON {
		return 0, writeJSON(c.stdout, res)
	}
	return 0, writeResult(c.stdout, res)
}

// writeResult prints a run as "key  value" lines, then its output.
func writeResult(w io.Writer, r *api.RunResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	row("id", "%s", r.ID)
	status := r.Status
	switch r.Status {
	case api.StatusOK, api.StatusExitNonzero:
		status += fmt.Sprintf(", exit code %d", r.ExitCode)
	case api.StatusSignaled:
		status += ", " + r.Signal
	}
	row("status", "%s", status)
	row("language", "%s (%s)", r.Language, r.Rootfs)
	row("created", "%s (queued %s)", formatTime(r.CreatedAt), formatMS(r.QueueMS))
	row("usage", "wall %s, cpu %s, peak memory %s", formatMS(r.WallMS), formatMS(r.CPUMS), formatBytes(r.MemoryPeak))
	row("limits", "%s", formatLimits(r.Limits))
	if r.Caller != nil {
		row("caller", "uid %d, gid %d, pid %d", r.Caller.UID, r.Caller.GID, r.Caller.PID)
	}
	if r.CodeSHA256 != "" {
		row("code", "sha256:%s", r.CodeSHA256)
	}
	if r.StdoutDropped > 0 || r.StderrDropped > 0 {
		row("dropped", "stdout %d bytes, stderr %d bytes over the output limit", r.StdoutDropped, r.StderrDropped)
	}
	if r.Error != "" {
		row("error", "%s", r.Error)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range []struct{ name, plain, b64 string }{{"stdout", r.Stdout, r.StdoutBase64}, {"stderr", r.Stderr, r.StderrBase64}} {
		b, err := outputBytes(s.plain, s.b64)
		if err != nil {
			return fmt.Errorf("decode %s: %w", s.name, err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			b = append(b, '\n') // keep the next header on its own line
		}
		if _, err := fmt.Fprintf(w, "--- %s ---\n%s", s.name, b); err != nil {
			return err
		}
	}
	return nil
}
