package systemd

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type recorder struct {
	mu     sync.Mutex
	states []string
}

func (r *recorder) notify(s string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, s)
	return true, nil
}

func (r *recorder) count(s string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, x := range r.states {
		if x == s {
			n++
		}
	}
	return n
}

func TestWatchdogPingsOnlyWhenAlive(t *testing.T) {
	rec := &recorder{}
	n := &Notifier{log: slog.New(slog.DiscardHandler), notify: rec.notify, watchdog: 40 * time.Millisecond}
	var mu sync.Mutex
	healthy := true
	probes := 0
	alive := func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		probes++
		if !healthy {
			return errors.New("wedged")
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { n.Watchdog(ctx, alive); close(done) }()
	for rec.count("WATCHDOG=1") < 2 {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	healthy = false
	mu.Unlock()
	pings := rec.count("WATCHDOG=1")
	mu.Lock()
	start := probes
	mu.Unlock()
	for {
		mu.Lock()
		p := probes
		mu.Unlock()
		if p >= start+3 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// At most one ping can have raced the switch to unhealthy.
	if got := rec.count("WATCHDOG=1"); got > pings+1 {
		t.Errorf("%d pings after the serving loop stopped answering (had %d), want none", got-pings, pings)
	}
	cancel()
	<-done
}

func TestWatchdogOffWithoutWatchdogUSEC(t *testing.T) {
	rec := &recorder{}
	n := &Notifier{log: slog.New(slog.DiscardHandler), notify: rec.notify}
	n.Watchdog(context.Background(), func(context.Context) error { return nil }) // returns at once
	if len(rec.states) != 0 {
		t.Errorf("sent %v without a watchdog", rec.states)
	}
}

// TestNotifySocket sends through the real go-systemd path to a datagram
// socket standing in for systemd's.
func TestNotifySocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	pc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "3000000")
	t.Setenv("WATCHDOG_PID", "")
	n := NewNotifier(slog.New(slog.DiscardHandler))
	if n.WatchdogInterval() != 3*time.Second {
		t.Errorf("watchdog %v, want 3s", n.WatchdogInterval())
	}
	n.Ready("0 of 4 jails running")
	n.Stopping("draining")
	buf := make([]byte, 256)
	for _, want := range []string{"READY=1\nSTATUS=0 of 4 jails running", "STOPPING=1\nSTATUS=draining"} {
		_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := pc.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(buf[:k]); got != want {
			t.Errorf("datagram %q, want %q", got, want)
		}
	}
	if os.Getenv("NOTIFY_SOCKET") != sock {
		t.Error("NOTIFY_SOCKET was unset: later notifications would be lost")
	}
}

func TestStatusLoopSendsChanges(t *testing.T) {
	rec := &recorder{}
	n := &Notifier{log: slog.New(slog.DiscardHandler), notify: rec.notify}
	changes := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	i := 0
	go func() {
		n.StatusLoop(ctx, changes, func() string { i++; return strings.Repeat("x", (i+1)/2) })
		close(done)
	}()
	for range 4 {
		changes <- struct{}{}
	}
	cancel()
	<-done
	// status() returned x, x, xx, xx: two distinct lines.
	if rec.count("STATUS=x") != 1 || rec.count("STATUS=xx") != 1 || len(rec.states) != 2 {
		t.Errorf("sent %q, want STATUS=x then STATUS=xx once each", rec.states)
	}
}
