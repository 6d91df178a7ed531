package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/jaild/jaild/daemon/api"
)

// peerMain runs in a child started as another uid (JAILD_E2E_PEER=socket):
// it GETs /v1/info over the socket and prints the status code, or the dial
// error, so the test sees what that uid gets.
func peerMain(socket string) {
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}}}
	resp, err := c.Get("http://jaild" + api.PathInfo)
	if err != nil {
		fmt.Println("dial error:", err)
		os.Exit(0)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	os.Exit(0)
}

// asUser runs peerMain as uid:gid from a copy of the test binary that uid
// can execute, and returns what it printed.
func asUser(t *testing.T, bin, socket string, uid, gid uint32) string {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"JAILD_E2E_PEER=" + socket}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid, Groups: []uint32{}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("peer as %d:%d: %v: %s", uid, gid, err, out)
	}
	return strings.TrimSpace(string(out))
}

// worldDir makes a 0755 directory an unprivileged uid can traverse.
func worldDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "jaild-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func copyExecutable(t *testing.T, dst string) {
	t.Helper()
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

// TestE2ESocketAccess: the socket's mode and group are the documented ones
// (0660 + socket_group when the group exists, 0600 otherwise); a uid
// outside the group cannot even connect; a group member can; and a uid
// that reaches the socket anyway (an operator chmod'ed it 0666) still gets
// 403 from the peer-credential check against the policy.
func TestE2ESocketAccess(t *testing.T) {
	requireJails(t)
	grp, err := user.LookupGroup("daemon")
	if err != nil {
		t.Skip("SKIP: needs an existing group named daemon to own the socket: " + err.Error())
	}
	gid, _ := strconv.Atoi(grp.Gid)
	const nobody = 65534
	dir := worldDir(t)
	bin := filepath.Join(dir, "peer")
	copyExecutable(t, bin)

	for _, tc := range []struct {
		group    string
		wantMode os.FileMode
		wantGID  int
	}{{"daemon", 0o660, gid}, {"jaild-no-such-group", 0o600, 0}} {
		t.Run(tc.group, func(t *testing.T) {
			state := newState(t)
			sock := filepath.Join(dir, tc.group+".sock")
			// The policy grants the socket's group (the shipped one grants
			// group jaild): who may connect is the file mode's call, who may
			// run is the policy's.
			pol := filepath.Join(t.TempDir(), "policy.toml")
			if err := os.WriteFile(pol, []byte(fmt.Sprintf(`[profile.python]
language = "python"
seccomp = "python"

[[rule]]
uid = 0
profiles = ["*"]

[[rule]]
gid = %d
profiles = ["*"]
`, gid)), 0o644); err != nil {
				t.Fatal(err)
			}
			d := startDaemon(t, state, "--socket", sock, "--policy", pol,
				"--config", writeConfig(t, fmt.Sprintf("socket_group = %q", tc.group)))
			fi, err := os.Stat(sock)
			if err != nil {
				t.Fatal(err)
			}
			st := fi.Sys().(*syscall.Stat_t)
			if fi.Mode().Perm() != tc.wantMode || int(st.Gid) != tc.wantGID || st.Uid != 0 {
				t.Errorf("socket mode %v owner %d:%d, want %v 0:%d", fi.Mode().Perm(), st.Uid, st.Gid, tc.wantMode, tc.wantGID)
			}
			// History holds every run's output: owner-only.
			for _, f := range []string{"history.db", "history.db-wal"} {
				if fi, err := os.Stat(filepath.Join(state, f)); err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v, want mode 0600", f, fi.Mode(), err)
				}
			}
			if got := asUser(t, bin, sock, nobody, nobody); !strings.Contains(got, "permission denied") {
				t.Errorf("uid nobody outside the group got %q, want the connect refused", got)
			}
			member := asUser(t, bin, sock, nobody, uint32(gid))
			if tc.wantMode == 0o660 && !strings.HasPrefix(member, "200 ") {
				t.Errorf("a member of group %s got %q, want 200", tc.group, member)
			}
			if tc.wantMode == 0o600 && !strings.Contains(member, "permission denied") {
				t.Errorf("with no such group, gid %d got %q, want the connect refused", gid, member)
			}
			// Past the file mode, the peer-credential check still holds.
			if err := os.Chmod(sock, 0o666); err != nil {
				t.Fatal(err)
			}
			if got := asUser(t, bin, sock, nobody, nobody); !strings.HasPrefix(got, "403 ") || !strings.Contains(got, `"policy_denied"`) {
				t.Errorf("uid nobody on a 0666 socket got %q, want 403 policy_denied", got)
			}
			d.stop(t, syscall.SIGTERM)
		})
	}
}

// TestE2EBrowserRequestsRefused: requests a web page could make (Origin,
// Sec-Fetch-Site, a DNS-rebound Host, a form post) are refused over the
// socket and over the loopback TCP listener alike.
func TestE2EBrowserRequestsRefused(t *testing.T) {
	requireJails(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	d := startDaemon(t, newState(t), "--listen-tcp", addr)
	tcp := &http.Client{}
	body := `{"language":"python","code":"print(1)"}`
	for _, tc := range []struct {
		name   string
		header map[string]string
		ctype  string
		tcp    int // status over TCP
		unix   int // status over the socket
	}{
		{"plain", nil, "application/json", 200, 200},
		{"origin", map[string]string{"Origin": "http://evil.example"}, "application/json", 403, 403},
		{"null origin", map[string]string{"Origin": "null"}, "application/json", 403, 403},
		{"sec-fetch-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, "application/json", 403, 403},
		{"sec-fetch same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, "application/json", 403, 403},
		// DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends its own name.
		{"rebound host", map[string]string{"Host": "evil.example:" + strings.Split(addr, ":")[1]}, "application/json", 403, 200},
		{"form post", nil, "application/x-www-form-urlencoded", 415, 415},
		{"text/plain post", nil, "text/plain", 415, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, via := range []struct {
				name   string
				c      *http.Client
				url    string
				status int
			}{{"tcp", tcp, "http://" + addr, tc.tcp}, {"unix", d.http, "http://jaild", tc.unix}} {
				req, _ := http.NewRequest("POST", via.url+api.PathRuns, strings.NewReader(body))
				req.Header.Set("Content-Type", tc.ctype)
				for k, v := range tc.header {
					if k == "Host" {
						req.Host = v
					} else {
						req.Header.Set(k, v)
					}
				}
				resp, err := via.c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != via.status {
					t.Errorf("%s: %d %s, want %d", via.name, resp.StatusCode, b, via.status)
				}
			}
		})
	}
	d.stop(t, syscall.SIGTERM)
}
