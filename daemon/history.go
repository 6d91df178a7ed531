package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	// SQLite, compiled in through cgo (already needed for libcontainer).
	_ "github.com/mattn/go-sqlite3"

	"github.com/jaild/jaild/daemon/api"
)

// ErrHistoryUnavailable means the history database cannot be used; runs
// go on without it.
var ErrHistoryUnavailable = errors.New("history unavailable")

const schema = `
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
	error             TEXT NOT NULL DEFAULT '',
	profile           TEXT NOT NULL DEFAULT '',
	policy_digest     TEXT NOT NULL DEFAULT '', -- sha256 of the policy file the run was admitted under
	syscall           TEXT NOT NULL DEFAULT ''  -- what a seccomp kill was for
);
CREATE INDEX IF NOT EXISTS runs_status ON runs (status, id);
CREATE INDEX IF NOT EXISTS runs_language ON runs (language, id);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created_at);
`

// history is the run history in an embedded SQLite database. Every
// failure is logged and recorded for /healthz; none stops a run.
type history struct {
	db  *sql.DB
	cfg HistoryConfig
	log *slog.Logger

	mu      sync.Mutex
	problem string // last failure, "" when healthy
}

// openHistory opens (creating) the database at path. It never fails: a
// database that cannot be opened yields a history that reports why.
func openHistory(path string, cfg HistoryConfig, log *slog.Logger) *history {
	h := &history{cfg: cfg, log: log}
	dsn := "file:" + path + "?_journal_mode=WAL&_busy_timeout=2000&_synchronous=NORMAL"
	db, err := sql.Open("sqlite3", dsn)
	if err == nil {
		db.SetMaxOpenConns(1) // SQLite serialises writers anyway; one conn avoids SQLITE_BUSY storms
		_, err = db.Exec(schema)
	}
	if err == nil {
		err = migrate(db)
	}
	if err != nil {
		h.fail("open history database", err)
		if db != nil {
			db.Close()
		}
		return h
	}
	h.db = db
	return h
}

// migrate adds the columns of later versions to a database an older
// jaild created (CREATE TABLE IF NOT EXISTS leaves it as it was).
func migrate(db *sql.DB) error {
	for _, col := range []string{"profile", "policy_digest", "syscall"} {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = ?`, col).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if _, err := db.Exec(`ALTER TABLE runs ADD COLUMN ` + col + ` TEXT NOT NULL DEFAULT ''`); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *history) fail(what string, err error) {
	h.mu.Lock()
	h.problem = fmt.Sprintf("%s: %v", what, err)
	h.mu.Unlock()
	h.log.Error("history degraded: runs continue without it", "op", what, "err", err)
}

// setConfig changes retention and stored output size from now on.
func (h *history) setConfig(c HistoryConfig) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cfg = c
}

func (h *history) config() HistoryConfig {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg
}

func (h *history) ok() {
	h.mu.Lock()
	h.problem = ""
	h.mu.Unlock()
}

// status is "ok" or the reason history is degraded.
func (h *history) status() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.db == nil && h.problem == "" {
		return "disabled"
	}
	if h.problem != "" {
		return h.problem
	}
	return "ok"
}

func (h *history) close() {
	if h.db != nil {
		h.db.Close()
	}
}

// markAborted turns runs left "running" by a daemon that died into
// "aborted"; call it at start-up before serving.
func (h *history) markAborted(ctx context.Context) int64 {
	if h.db == nil {
		return 0
	}
	r, err := h.db.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE status = ?`,
		api.StatusAborted, "the daemon stopped while the run was in flight", time.Now().UnixMilli(), api.StatusRunning)
	if err != nil {
		h.fail("mark aborted runs", err)
		return 0
	}
	n, _ := r.RowsAffected()
	return n
}

// begin records a run as running before its jail starts.
func (h *history) begin(ctx context.Context, r *api.RunResult) {
	if h.db == nil {
		return
	}
	lim, _ := json.Marshal(r.Limits)
	var uid, gid, pid any
	if r.Caller != nil {
		uid, gid, pid = r.Caller.UID, r.Caller.GID, r.Caller.PID
	}
	_, err := h.db.ExecContext(ctx, `INSERT INTO runs (id, created_at, status, language, rootfs, limits,
		caller_uid, caller_gid, caller_pid, code_sha256, profile, policy_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.CreatedAt.UnixMilli(), api.StatusRunning, r.Language, r.Rootfs, string(lim), uid, gid, pid, r.CodeSHA256,
		r.Profile, r.PolicyDigest)
	if err != nil {
		h.fail("record run start", err)
		return
	}
	h.ok()
}

// finish records the outcome; stdout and stderr are the raw bytes. It
// writes the whole row, so a run is recorded even when begin never ran (it
// timed out or its client left while queued) or could not write.
func (h *history) finish(ctx context.Context, r *api.RunResult, stdout, stderr []byte) {
	if h.db == nil {
		return
	}
	limit := h.config().OutputBytes
	head := func(b []byte) []byte { return headOf(b, limit) }
	lim, _ := json.Marshal(r.Limits)
	var uid, gid, pid any
	if r.Caller != nil {
		uid, gid, pid = r.Caller.UID, r.Caller.GID, r.Caller.PID
	}
	_, err := h.db.ExecContext(ctx, `INSERT INTO runs (id, created_at, language, caller_uid, caller_gid, caller_pid,
		code_sha256, finished_at, status, exit_code, signal, wall_ms, cpu_ms, memory_peak_bytes, queue_ms, stdout,
		stderr, stdout_dropped, stderr_dropped, limits, rootfs, error, profile, policy_digest, syscall)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,
		exit_code = excluded.exit_code, signal = excluded.signal, wall_ms = excluded.wall_ms, cpu_ms = excluded.cpu_ms,
		memory_peak_bytes = excluded.memory_peak_bytes, queue_ms = excluded.queue_ms, stdout = excluded.stdout,
		stderr = excluded.stderr, stdout_dropped = excluded.stdout_dropped, stderr_dropped = excluded.stderr_dropped,
		limits = excluded.limits, rootfs = excluded.rootfs, error = excluded.error,
		profile = excluded.profile, policy_digest = excluded.policy_digest, syscall = excluded.syscall`,
		r.ID, r.CreatedAt.UnixMilli(), r.Language, uid, gid, pid, r.CodeSHA256,
		time.Now().UnixMilli(), r.Status, r.ExitCode, r.Signal, r.WallMS, r.CPUMS, r.MemoryPeak, r.QueueMS,
		head(stdout), head(stderr), r.StdoutDropped, r.StderrDropped, string(lim), r.Rootfs, r.Error,
		r.Profile, r.PolicyDigest, r.Syscall)
	if err != nil {
		h.fail("record run result", err)
		return
	}
	h.ok()
}

const columns = `id, created_at, status, language, rootfs, exit_code, signal, wall_ms, cpu_ms,
	memory_peak_bytes, queue_ms, stdout, stderr, stdout_dropped, stderr_dropped, limits,
	caller_uid, caller_gid, caller_pid, code_sha256, error, profile, policy_digest, syscall`

func scanRun(sc interface{ Scan(...any) error }, withOutput bool) (api.RunResult, error) {
	var r api.RunResult
	var created int64
	var stdout, stderr []byte
	var lim string
	var uid, gid, pid sql.NullInt64
	err := sc.Scan(&r.ID, &created, &r.Status, &r.Language, &r.Rootfs, &r.ExitCode, &r.Signal, &r.WallMS,
		&r.CPUMS, &r.MemoryPeak, &r.QueueMS, &stdout, &stderr, &r.StdoutDropped, &r.StderrDropped, &lim,
		&uid, &gid, &pid, &r.CodeSHA256, &r.Error, &r.Profile, &r.PolicyDigest, &r.Syscall)
	if err != nil {
		return r, err
	}
	r.CreatedAt = time.UnixMilli(created).UTC()
	_ = json.Unmarshal([]byte(lim), &r.Limits)
	if uid.Valid {
		r.Caller = &api.Caller{UID: uint32(uid.Int64), GID: uint32(gid.Int64), PID: int32(pid.Int64)}
	}
	if withOutput {
		r.Stdout, r.StdoutBase64 = encodeOutput(stdout)
		r.Stderr, r.StderrBase64 = encodeOutput(stderr)
	}
	return r, nil
}

func (h *history) get(ctx context.Context, id string) (api.RunResult, error) {
	if h.db == nil {
		return api.RunResult{}, fmt.Errorf("%w: %s", ErrHistoryUnavailable, h.status())
	}
	r, err := scanRun(h.db.QueryRowContext(ctx, `SELECT `+columns+` FROM runs WHERE id = ?`, id), true)
	if errors.Is(err, sql.ErrNoRows) {
		return r, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if err != nil {
		return r, fmt.Errorf("%w: read run: %v", ErrHistoryUnavailable, err)
	}
	return r, nil
}

// listQuery filters a history page.
type listQuery struct {
	limit    int
	before   string
	status   string
	language string
}

// list returns runs newest first (ids sort by creation time).
func (h *history) list(ctx context.Context, q listQuery) (api.RunList, error) {
	out := api.RunList{Runs: []api.RunResult{}}
	if h.db == nil {
		return out, fmt.Errorf("%w: %s", ErrHistoryUnavailable, h.status())
	}
	var where []string
	var args []any
	for _, c := range []struct{ cond, val string }{
		{"id < ?", q.before}, {"status = ?", q.status}, {"language = ?", q.language},
	} {
		if c.val != "" {
			where = append(where, c.cond)
			args = append(args, c.val)
		}
	}
	query := `SELECT ` + columns + ` FROM runs`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY id DESC LIMIT ?`
	args = append(args, q.limit+1)
	rows, err := h.db.QueryContext(ctx, query, args...)
	if err != nil {
		return out, fmt.Errorf("%w: list runs: %v", ErrHistoryUnavailable, err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanRun(rows, false)
		if err != nil {
			return out, fmt.Errorf("%w: list runs: %v", ErrHistoryUnavailable, err)
		}
		out.Runs = append(out.Runs, r)
	}
	if len(out.Runs) > q.limit {
		out.Runs = out.Runs[:q.limit]
		out.Next = out.Runs[q.limit-1].ID
	}
	return out, rows.Err()
}

// prune applies retention by age and by row count.
func (h *history) prune(ctx context.Context, now time.Time) {
	if h.db == nil {
		return
	}
	cfg := h.config()
	if cfg.MaxAge.Duration > 0 {
		cutoff := now.Add(-cfg.MaxAge.Duration).UnixMilli()
		if _, err := h.db.ExecContext(ctx, `DELETE FROM runs WHERE created_at < ? AND status != ?`, cutoff, api.StatusRunning); err != nil {
			h.fail("prune old runs", err)
			return
		}
	}
	if cfg.MaxRows > 0 {
		if _, err := h.db.ExecContext(ctx, `DELETE FROM runs WHERE id IN (SELECT id FROM runs ORDER BY id DESC LIMIT -1 OFFSET ?)`, cfg.MaxRows); err != nil {
			h.fail("prune excess runs", err)
		}
	}
}

// headOf is the first n bytes of b; for valid UTF-8 it stops before a rune
// the cut would split, so text output stays text in history.
func headOf(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	if utf8.Valid(b) {
		for n > 0 && !utf8.RuneStart(b[n]) {
			n--
		}
	}
	return b[:n]
}
