package container

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

func TestPythonOKAndStdlib(t *testing.T) {
	t.Parallel()
	spec := script(t, jail.Python, `
import json, sqlite3, ssl, asyncio, ctypes, decimal, zlib, hashlib, os, socket
db = sqlite3.connect(":memory:")
db.execute("create table t (x)"); db.execute("insert into t values (41)")
n = db.execute("select x + 1 from t").fetchone()[0]
print(json.dumps({"n": n, "uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(),
                  "host": socket.gethostname(), "ssl": ssl.OPENSSL_VERSION.split()[0]}))
`)
	res := runJail(t, spec)
	wantStatus(t, res, jail.StatusOK)
	want := `{"n": 42, "uid": 0, "pid": 1, "cwd": "/work", "host": "jail", "ssl": "OpenSSL"}` + "\n"
	if got := string(res.Stdout); got != want {
		t.Errorf("stdout = %q, want %q", got, want)
	}
	if res.ExitCode != 0 || res.RootfsDigest != spec.Rootfs.Digest {
		t.Errorf("exit=%d digest=%q, want 0 and %q", res.ExitCode, res.RootfsDigest, spec.Rootfs.Digest)
	}
	if res.Wall <= 0 || res.CPU <= 0 || res.MemoryPeak <= 0 {
		t.Errorf("wall=%v cpu=%v peak=%d, want all > 0", res.Wall, res.CPU, res.MemoryPeak)
	}
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	res := runJail(t, script(t, jail.Python, "import sys; print('bye', file=sys.stderr); sys.exit(3)"))
	wantStatus(t, res, jail.StatusExitNonzero)
	if res.ExitCode != 3 || string(res.Stderr) != "bye\n" {
		t.Errorf("exit=%d stderr=%q, want 3 and %q", res.ExitCode, res.Stderr, "bye\n")
	}
}

func TestStdinRoundTrip(t *testing.T) {
	t.Parallel()
	spec := script(t, jail.Python, "import sys; d = sys.stdin.buffer.read(); sys.stdout.buffer.write(d[::-1])")
	spec.Stdin = bytes.Repeat([]byte("abc\x00\xff"), 100000) // larger than a pipe buffer
	res := runJail(t, spec)
	wantStatus(t, res, jail.StatusOK)
	want := make([]byte, len(spec.Stdin))
	for i, b := range spec.Stdin {
		want[len(want)-1-i] = b
	}
	if !bytes.Equal(res.Stdout, want) {
		t.Errorf("stdout differs from reversed stdin (got %d bytes, want %d)", len(res.Stdout), len(want))
	}
}

func TestMultiFileAndArgs(t *testing.T) {
	t.Parallel()
	spec := script(t, jail.Python, "import sys\nfrom pkg.helper import twice\nprint(twice(int(sys.argv[1])))")
	spec.Files = append(spec.Files, jail.File{Name: "pkg/helper.py", Content: []byte("def twice(x): return 2 * x\n")})
	spec.Argv = append(spec.Argv, "21")
	res := runJail(t, spec)
	wantStatus(t, res, jail.StatusOK)
	if string(res.Stdout) != "42\n" {
		t.Errorf("stdout = %q, want %q", res.Stdout, "42\n")
	}
}

func TestOutputCap(t *testing.T) {
	t.Parallel()
	// 10 MiB on stdout and 3 MiB + 5 bytes on stderr: the head is kept, the
	// rest counted exactly, and the script still finishes normally.
	spec := script(t, jail.Python, `
import sys
chunk = b"x" * (1 << 20)
for _ in range(10): sys.stdout.buffer.write(chunk)
sys.stdout.flush()
sys.stderr.buffer.write(b"y" * (3 * (1 << 20) + 5))
print("done", file=sys.stderr)
`)
	res := runJail(t, spec)
	wantStatus(t, res, jail.StatusOK)
	if len(res.Stdout) != 1<<20 || res.StdoutDropped != 9<<20 {
		t.Errorf("stdout kept %d dropped %d, want %d and %d", len(res.Stdout), res.StdoutDropped, 1<<20, 9<<20)
	}
	if len(res.Stderr) != 1<<20 || res.StderrDropped != 2<<20+5+5 {
		t.Errorf("stderr kept %d dropped %d, want %d and %d", len(res.Stderr), res.StderrDropped, 1<<20, 2<<20+10)
	}
}

func TestCancelKillsJail(t *testing.T) {
	t.Parallel()
	spec := script(t, jail.Python, "import time; time.sleep(60)")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res, err := testRunner(t).Run(ctx, spec)
	if err == nil || res.Status != jail.StatusInternalError || !strings.Contains(res.Error, "cancelled") {
		t.Fatalf("Run = %s, %v (error %q), want internal_error with a cancelled error", res.Status, err, res.Error)
	}
	// A hang guard, not a benchmark: the jail sleeps 60 s if never killed.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("cancelled run took %v: the cancel did not kill the jail", d)
	}
}

func TestSetupFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	spec := script(t, jail.Python, "print(1)")
	spec.Argv = []string{"/usr/bin/does-not-exist"}
	res, err := testRunner(t).Run(context.Background(), spec)
	if err == nil || res.Status != jail.StatusInternalError || res.Error == "" {
		t.Fatalf("Run = %s, %v, want internal_error with a reason", res.Status, err)
	}
	// TestMain's leftover audit proves the half-built jail was removed.
}

func TestInvalidSpecRefused(t *testing.T) {
	t.Parallel()
	spec := script(t, jail.Python, "print(1)")
	spec.Seccomp = nil
	if _, err := testRunner(t).Run(context.Background(), spec); err == nil {
		t.Error("a spec without a seccomp filter ran; want it refused")
	}
	spec = script(t, jail.Python, "print(1)")
	spec.Files = append(spec.Files, jail.File{Name: "../escape.py"})
	if _, err := testRunner(t).Run(context.Background(), spec); err == nil {
		t.Error("a file named ../escape.py was accepted; want it refused")
	}
}
