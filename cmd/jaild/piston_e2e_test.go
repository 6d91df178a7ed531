package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// Piston's README request body ("Execute Endpoint"); %s is the version.
const pistonReadme = `{
    "language": "js",
    "version": "%s",
    "files": [
        {
            "name": "my_cool_code.js",
            "content": "console.log(process.argv)"
        }
    ],
    "stdin": "",
    "args": ["1", "2", "3"],
    "compile_timeout": 10000,
    "run_timeout": 3000,
    "compile_cpu_time": 10000,
    "run_cpu_time": 3000,
    "compile_memory_limit": -1,
    "run_memory_limit": -1
}`

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestE2EPiston drives the Piston routes with Piston's own request bodies,
// on the Unix socket and on the loopback TCP listener, in real jails.
func TestE2EPiston(t *testing.T) {
	requireJails(t)
	addr := freeLoopbackAddr(t)
	d := startDaemon(t, newState(t), "--listen-tcp", addr)
	tcp := &http.Client{}
	unix := d.http
	do := func(c *http.Client, base, method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	status, body := do(tcp, "http://"+addr, "GET", api.PathPistonRuntimes, "")
	var rts []api.PistonRuntime
	if status != 200 || json.Unmarshal(body, &rts) != nil || len(rts) != 2 {
		t.Fatalf("runtimes over TCP = %d %s", status, body)
	}
	versions := map[string]string{}
	for _, rt := range rts {
		versions[rt.Language] = rt.Version
		if strings.Count(rt.Version, ".") != 2 || rt.Version == "0.0.0" {
			t.Errorf("runtime %+v: want the interpreter's x.y.z version from the rootfs metadata", rt)
		}
	}
	for name, c := range map[string]struct {
		c    *http.Client
		base string
	}{"tcp": {tcp, "http://" + addr}, "unix": {unix, "http://jaild"}} {
		t.Run(name, func(t *testing.T) {
			status, body := do(c.c, c.base, "POST", api.PathPistonExecute, strings.Replace(pistonReadme, "%s", "15.10.0", 1))
			if status != 400 || string(bytes.TrimSpace(body)) != `{"message":"js-15.10.0 runtime is unknown"}` {
				t.Errorf("README body as is = %d %s", status, body)
			}
			status, body = do(c.c, c.base, "POST", api.PathPistonExecute, strings.Replace(pistonReadme, "%s", versions["javascript"], 1))
			var res api.PistonResponse
			if status != 200 || json.Unmarshal(body, &res) != nil {
				t.Fatalf("README body = %d %s", status, body)
			}
			r := res.Run
			if res.Language != "javascript" || res.Version != versions["javascript"] || r.Code == nil || *r.Code != 0 ||
				r.Signal != nil || r.Status != nil || !strings.Contains(r.Stdout, "'/work/my_cool_code.js', '1', '2', '3'") ||
				r.Output != r.Stdout || r.WallTime <= 0 || r.Memory <= 0 {
				t.Errorf("README body: %s", body)
			}
		})
	}
	for _, tc := range []struct {
		lang, code, extra string
		status, message   string
		signal            string
		exit              int
	}{
		{"python3", "print(input()[::-1])", `"stdin": "olleh",`, "", "", "", 0},
		{"py", "import sys; print('x', file=sys.stderr); sys.exit(3)", "", "RE", "Exited with error status 3", "", 3},
		{"py3", "while True: pass", `"run_timeout": 500,`, "TO", "Time limit exceeded (wall clock)", "SIGKILL", -1},
		{"python", "while True: pass", `"run_timeout": 5000, "run_cpu_time": 300,`, "TO", "Time limit exceeded", "SIGKILL", -1},
		{"node-js", "const b = []; for (;;) b.push(Buffer.alloc(1 << 24, 1))", `"run_memory_limit": 67108864,`, "SG", "Caught fatal signal 9 (out of memory)", "SIGKILL", -1},
		{"python", "import ctypes; ctypes.string_at(0)", "", "SG", "Caught fatal signal 11", "SIGSEGV", -1},
		// Pauses between the writes, so that the order they arrive in is
		// the order they were written in.
		{"python3.11", "import sys, time\nprint(1, flush=True)\ntime.sleep(0.2)\nprint(2, file=sys.stderr, flush=True)\ntime.sleep(0.2)\nprint(3)", "", "", "", "", 0},
	} {
		t.Run(tc.lang+" "+tc.status, func(t *testing.T) {
			body := `{"language": "` + tc.lang + `", "version": "*", ` + tc.extra + ` "files": [{"content": ` + quote(tc.code) + `}]}`
			status, out := do(unix, "http://jaild", "POST", api.PathPistonEMKCExecute, body)
			var res api.PistonResponse
			if status != 200 || json.Unmarshal(out, &res) != nil {
				t.Fatalf("= %d %s", status, out)
			}
			r := res.Run
			if str(r.Status) != tc.status || str(r.Message) != tc.message || str(r.Signal) != tc.signal ||
				(tc.exit >= 0) != (r.Code != nil) || (r.Code != nil && *r.Code != tc.exit) {
				t.Errorf("run = %s", out)
			}
			if tc.lang == "python3" && r.Stdout != "hello\n" {
				t.Errorf("stdin: %s", out)
			}
			if tc.lang == "python3.11" && (r.Output != "1\n2\n3\n" || r.Stderr != "2\n") {
				t.Errorf("output should interleave the streams in order: %s", out)
			}
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
