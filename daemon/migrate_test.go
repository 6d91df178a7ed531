package daemon

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// oldSchema is the history schema of the first jaild release.
const oldSchema = `
CREATE TABLE IF NOT EXISTS runs (
	id                TEXT PRIMARY KEY,
	created_at        INTEGER NOT NULL, -- unix milliseconds
	finished_at       INTEGER,
	status            TEXT NOT NULL,
	language          TEXT NOT NULL,
	rootfs            TEXT NOT NULL,
	exit_code         INTEGER NOT NULL DEFAULT -1,
	signal            TEXT NOT NULL DEFAULT '',
	wall_ms           INTEGER NOT NULL DEFAULT 0,
	cpu_ms            INTEGER NOT NULL DEFAULT 0,
	memory_peak_bytes INTEGER NOT NULL DEFAULT 0,
	queue_ms          INTEGER NOT NULL DEFAULT 0,
	stdout            BLOB,   -- the head only (history.output_bytes)
	stderr            BLOB,
	stdout_dropped    INTEGER NOT NULL DEFAULT 0, -- counted against the run's own cap
	stderr_dropped    INTEGER NOT NULL DEFAULT 0,
	limits            TEXT NOT NULL, -- JSON api.Limits
	caller_uid        INTEGER,
	caller_gid        INTEGER,
	caller_pid        INTEGER,
	code_sha256       TEXT NOT NULL,
	error             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, id);
CREATE INDEX IF NOT EXISTS runs_language ON runs (language, id);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);`

// TestHistoryMigratesOldDatabase: a database an older jaild created gains
// the profile, policy_digest and syscall columns, and its rows stay readable.
func TestHistoryMigratesOldDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.db")
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(oldSchema); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO runs (id, created_at, status, language, rootfs, limits, code_sha256)
		VALUES ('18e0000000000000aaaaaaaa', 1, 'ok', 'python', 'python@sha256:x', '{}', 'c')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	h := openHistory(path, Default().History, slog.New(slog.DiscardHandler))
	defer h.close()
	if st := h.status(); st != "ok" {
		t.Fatalf("history status %q after migration", st)
	}
	old, err := h.get(context.Background(), "18e0000000000000aaaaaaaa")
	if err != nil || old.Status != "ok" || old.Profile != "" {
		t.Fatalf("old row: %+v, %v", old, err)
	}
	r := &api.RunResult{ID: "18f0000000000000bbbbbbbb", CreatedAt: time.Now(), Language: "python", Rootfs: "p",
		Profile: "python", PolicyDigest: "sha256:d", Status: "signaled", Signal: "SIGSYS", Syscall: "ptrace"}
	h.begin(context.Background(), r)
	h.finish(context.Background(), r, nil, nil)
	got, err := h.get(context.Background(), r.ID)
	if err != nil || got.Profile != "python" || got.PolicyDigest != "sha256:d" || got.Syscall != "ptrace" {
		t.Errorf("new row after migration: %+v, %v", got, err)
	}
}
