package container

import (
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

func TestNode(t *testing.T) {
	for _, tc := range []struct {
		name   string
		code   string
		stdin  string
		wall   time.Duration
		status jail.Status
		stdout string
		exit   int
	}{
		{"ok", "console.log(1 + 1, process.getuid(), process.pid)", "", 0, jail.StatusOK, "2 0 1\n", 0},
		{"exit code", "process.exitCode = 3", "", 0, jail.StatusExitNonzero, "", 3},
		{"stdin", "let d='';process.stdin.on('data',c=>d+=c).on('end',()=>console.log(d.toUpperCase()))",
			"hello", 0, jail.StatusOK, "HELLO\n", 0},
		{"oom", "const b = []; for (;;) b.push(Buffer.alloc(1 << 24, 1))", "", 0, jail.StatusOOM, "", -1},
		{"timeout", "for (;;) {}", "", time.Second, jail.StatusTimeout, "", -1},
		{"read-only root", "try { require('fs').writeFileSync('/x', 'x') } catch (e) { console.log(e.code) }",
			"", 0, jail.StatusOK, "EROFS\n", 0},
		{"no network", `require('net').connect(53, '1.1.1.1').on('error', e => console.log(e.code))`,
			"", 0, jail.StatusOK, "ENETUNREACH\n", 0},
		{"no child_process escape", `try { require('child_process').execFileSync('/bin/sh') } catch (e) { console.log(e.code) }`,
			"", 0, jail.StatusOK, "ENOENT\n", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := script(t, jail.Node, tc.code)
			spec.Stdin = []byte(tc.stdin)
			if tc.wall > 0 {
				spec.Limits.Wall = tc.wall
				spec.Limits.CPUTime = 10 * tc.wall
			}
			res := runJail(t, spec)
			wantStatus(t, res, tc.status)
			if tc.status != jail.StatusOOM && tc.status != jail.StatusTimeout && string(res.Stdout) != tc.stdout {
				t.Errorf("stdout = %q, want %q (stderr %q)", res.Stdout, tc.stdout, res.Stderr)
			}
			if res.ExitCode != tc.exit {
				t.Errorf("exit code = %d, want %d", res.ExitCode, tc.exit)
			}
			if strings.Contains(string(res.Stderr), "Warning") {
				t.Errorf("node warned: %q", res.Stderr)
			}
		})
	}
}
