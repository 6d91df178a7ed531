package systemd

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/jaild/jaild/daemon"
)

// The config make install ships must load and validate.
func TestShippedConfigIsValid(t *testing.T) {
	cfg := daemon.Default()
	if err := cfg.LoadFile("jaild.toml"); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Socket != "/run/jaild/jaild.sock" {
		t.Errorf("config socket %q, want the one jaild.socket listens on", cfg.Socket)
	}
}

// unitKeys reads KEY=VALUE lines of a unit file (last one wins).
func unitKeys(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	keys := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = v
		}
	}
	return keys
}

// The settings the daemon's code relies on are in the units.
func TestUnitsAgreeWithTheDaemon(t *testing.T) {
	svc := unitKeys(t, "jaild.service")
	for k, want := range map[string]string{"Type": "notify", "Delegate": "yes", "KillMode": "mixed",
		"Restart": "on-failure", "ExecReload": "/bin/kill -HUP $MAINPID", "RuntimeDirectory": "jaild",
		"StateDirectory": "jaild", "RuntimeDirectoryPreserve": "yes", "NotifyAccess": "main"} {
		if svc[k] != want {
			t.Errorf("jaild.service %s=%q, want %q", k, svc[k], want)
		}
	}
	if svc["WatchdogSec"] == "" {
		t.Error("jaild.service has no WatchdogSec=")
	}
	sock := unitKeys(t, "jaild.socket")
	for k, want := range map[string]string{"ListenStream": "/run/jaild/jaild.sock", "SocketMode": "0660", "SocketGroup": "jaild"} {
		if sock[k] != want {
			t.Errorf("jaild.socket %s=%q, want %q", k, sock[k], want)
		}
	}
}
