package systemd

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

type entry struct {
	msg    string
	pri    journal.Priority
	fields map[string]string
}

func capture() (*[]entry, SendFunc) {
	var got []entry
	return &got, func(m string, p journal.Priority, f map[string]string) error {
		got = append(got, entry{m, p, f})
		return nil
	}
}

func TestJournalHandlerFields(t *testing.T) {
	got, send := capture()
	log := slog.New(NewJournalHandler(send, slog.LevelDebug, nil)).With("component", "daemon")
	log.WithGroup("caller").Info("run finished", "uid", 1000, "gid", 1000)
	log.Info("run finished", "run_id", "18ea", "status", "ok", "wall_ms", 19, "message", "evil",
		"Language", "python", "2x", "digit", slog.Group("peer", "pid", 7), "err", errors.New("bad thing"))
	log.Debug("dbg")
	log.Warn("careful")
	log.Error("broken")
	if len(*got) != 5 {
		t.Fatalf("%d entries, want 5", len(*got))
	}
	e := (*got)[1]
	want := map[string]string{"RUN_ID": "18ea", "STATUS": "ok", "WALL_MS": "19", "LANGUAGE": "python",
		"COMPONENT": "daemon", "JAILD_MESSAGE": "evil", "F2X": "digit", "PEER_PID": "7", "ERR": "bad thing",
		"SYSLOG_IDENTIFIER": "jaild"}
	for k, v := range want {
		if e.fields[k] != v {
			t.Errorf("field %s = %q, want %q (all: %v)", k, e.fields[k], v, e.fields)
		}
	}
	if _, ok := e.fields["MESSAGE"]; ok {
		t.Error("an attribute named message became MESSAGE")
	}
	if !strings.HasPrefix(e.msg, "run finished component=daemon run_id=18ea status=ok wall_ms=19") ||
		!strings.Contains(e.msg, `err="bad thing"`) {
		t.Errorf("MESSAGE = %q", e.msg)
	}
	if c := (*got)[0].fields; c["CALLER_UID"] != "1000" || c["CALLER_GID"] != "1000" || c["COMPONENT"] != "daemon" {
		t.Errorf("grouped fields = %v, want CALLER_UID, CALLER_GID, COMPONENT", c)
	}
	for i, p := range []journal.Priority{journal.PriInfo, journal.PriInfo, journal.PriDebug, journal.PriWarning, journal.PriErr} {
		if (*got)[i].pri != p {
			t.Errorf("entry %d priority %d, want %d", i, (*got)[i].pri, p)
		}
	}
}

func TestJournalHandlerLevelAndFallback(t *testing.T) {
	var buf bytes.Buffer
	failing := func(string, journal.Priority, map[string]string) error { return errors.New("no journal") }
	log := slog.New(NewJournalHandler(failing, slog.LevelInfo, &buf))
	log.Debug("hidden")
	log.Info("shown", "run_id", "x")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown run_id=x") {
		t.Errorf("fallback output %q: want only the info line", out)
	}
}

func TestFieldName(t *testing.T) {
	for in, want := range map[string]string{"run_id": "RUN_ID", "wallMS": "WALLMS", "a.b-c": "A_B_C",
		"_x": "X", "9": "F9", "": "F"} {
		if got := fieldName(in); got != want {
			t.Errorf("fieldName(%q) = %q, want %q", in, got, want)
		}
	}
}
