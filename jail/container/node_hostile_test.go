package container

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

// TestNodeHostile adds to TestNode the other hostile cases of the Python
// tests, in Node, each with its exact verdict.
func TestNodeHostile(t *testing.T) {
	t.Parallel()
	testImage(t, jail.Node)
	secret := filepath.Join(os.TempDir(), "jaild-host-secret-"+uniqueMarker())
	if err := os.WriteFile(secret, []byte("host secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(secret) })
	// A service on the host's loopback: the jail's 127.0.0.1 is its own.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	errCode := `const fs = require("fs");
function code(f) { try { f(); return "ok"; } catch (e) { return e.code; } }
`
	for _, tc := range []struct {
		name   string
		code   string
		limits func(*jail.Limits)
		stdin  []byte
		status jail.Status
		check  func(jail.Result) string
	}{
		{name: "hostname", code: `console.log(require("os").hostname())`, status: jail.StatusOK, check: stdoutIs("jail\n")},
		{name: "cpu limit", code: `for (;;) {}`, status: jail.StatusCPULimit,
			limits: func(l *jail.Limits) { l.Wall, l.CPUTime = 30*time.Second, 400*time.Millisecond },
			check: func(r jail.Result) string {
				return failIf(r.CPU < 400*time.Millisecond, "cpu %v", r.CPU)
			}},
		{name: "no network", code: fmt.Sprintf(`const net = require("net");
let n = 0; const out = {};
for (const [k, port, host] of [["internet", 53, "1.1.1.1"], ["host_loopback", %d, "127.0.0.1"]]) {
  net.connect(port, host).on("error", e => { out[k] = e.code; if (++n == 2) console.log(JSON.stringify(out)); })
    .on("connect", () => { out[k] = "connected"; if (++n == 2) console.log(JSON.stringify(out)); });
}`, port), status: jail.StatusOK, check: stdoutIs(`{"internet":"ENETUNREACH","host_loopback":"ECONNREFUSED"}` + "\n")},
		{name: "read-only and private", code: errCode + fmt.Sprintf(`console.log([
  code(() => fs.writeFileSync("/x", "x")), code(() => fs.writeFileSync("/usr/x", "x")),
  code(() => fs.readFileSync(%q)), code(() => fs.writeFileSync("/tmp/ok", "x"))].join(" "))`, secret),
			status: jail.StatusOK, check: stdoutIs("EROFS EROFS ENOENT ok\n")},
		{name: "binary stdin round trip", code: `process.stdin.pipe(process.stdout)`, stdin: bytes.Repeat([]byte("ab\x00\xff"), 50000),
			status: jail.StatusOK, check: func(r jail.Result) string {
				return failIf(!bytes.Equal(r.Stdout, bytes.Repeat([]byte("ab\x00\xff"), 50000)), "stdout %d bytes", len(r.Stdout))
			}},
		{name: "output cap", code: `process.stdout.write("x".repeat(10 << 20))`, status: jail.StatusOK,
			check: func(r jail.Result) string {
				return failIf(len(r.Stdout) != 1<<20 || r.StdoutDropped != 9<<20, "kept %d dropped %d", len(r.Stdout), r.StdoutDropped)
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			spec := script(t, jail.Node, tc.code)
			spec.Stdin = tc.stdin
			if tc.limits != nil {
				tc.limits(&spec.Limits)
			}
			res := runJail(t, spec)
			wantStatus(t, res, tc.status)
			if msg := tc.check(res); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func stdoutIs(want string) func(jail.Result) string {
	return func(r jail.Result) string {
		return failIf(string(r.Stdout) != want, "stdout %q, want %q", r.Stdout, want)
	}
}

func failIf(bad bool, format string, args ...any) string {
	if !bad {
		return ""
	}
	return fmt.Sprintf(format, args...)
}
