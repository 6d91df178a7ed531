package systemd

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestListenersNotActivated: without LISTEN_FDS the daemon opens its own
// socket, so Listeners returns none and no error.
func TestListenersNotActivated(t *testing.T) {
	t.Setenv("LISTEN_FDS", "")
	t.Setenv("LISTEN_PID", "")
	lns, err := Listeners()
	if err != nil || len(lns) != 0 {
		t.Errorf("Listeners() = %v, %v; want none", lns, err)
	}
}

// TestListenersActivated passes a listening Unix socket as fd 3 to a child
// process the way systemd does (LISTEN_FDS=1, LISTEN_PID=child) and checks
// the child serves on it and clears the variables.
func TestListenersActivated(t *testing.T) {
	if os.Getenv("JAILD_ACTIVATION_CHILD") == "1" {
		activationChild()
		return
	}
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false) // the child serves on the path
	f, err := ln.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestListenersActivated$")
	cmd.ExtraFiles = []*os.File{f}
	// LISTEN_PID must name the child; the child sets it to its own pid
	// before reading, as systemd would have.
	cmd.Env = append(os.Environ(), "JAILD_ACTIVATION_CHILD=1", "LISTEN_FDS=1", "SOCK="+sock)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func activationChild() {
	fail := func(msg string) { os.Stderr.WriteString(msg + "\n"); os.Exit(1) }
	os.Setenv("LISTEN_PID", strconv.Itoa(os.Getpid()))
	lns, err := Listeners()
	if err != nil || len(lns) != 1 {
		fail("Listeners: want one listener")
	}
	if os.Getenv("LISTEN_FDS") != "" {
		fail("LISTEN_FDS still set: a jail could inherit it")
	}
	if got := lns[0].Addr().String(); got != os.Getenv("SOCK") {
		fail("listener on " + got)
	}
	go func() {
		c, err := net.Dial("unix", os.Getenv("SOCK"))
		if err != nil {
			fail("dial: " + err.Error())
		}
		c.Close()
	}()
	c, err := lns[0].Accept()
	if err != nil {
		fail("accept: " + err.Error())
	}
	c.Close()
	os.Exit(0)
}
