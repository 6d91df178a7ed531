package daemon

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/jaild/jaild/daemon/api"
)

// Evals are recorded in their own table next to runs: one row per eval
// with its summary and the whole result (each case's output cut to the
// history's output_bytes). Every jail an eval used is also an ordinary
// row in runs; the result's cases name it in run_id. Pruning by age
// applies to both tables.
const evalSchema = `
CREATE TABLE IF NOT EXISTS evals (
	id          TEXT PRIMARY KEY,
	created_at  INTEGER NOT NULL, -- unix milliseconds
	language    TEXT NOT NULL,
	rootfs      TEXT NOT NULL,
	shared_jail INTEGER NOT NULL,
	passed      INTEGER NOT NULL,
	failed      INTEGER NOT NULL,
	skipped     INTEGER NOT NULL,
	total       INTEGER NOT NULL,
	wall_ms     INTEGER NOT NULL,
	caller_uid  INTEGER,
	code_sha256 TEXT NOT NULL,
	result      TEXT NOT NULL -- JSON api.EvalResult
);
CREATE INDEX IF NOT EXISTS evals_created ON evals (created_at);
`

var evalSchemaOnce sync.Map // *history → error

func (h *history) evalTable() error {
	v, _ := evalSchemaOnce.LoadOrStore(h, &sync.Once{})
	var err error
	v.(*sync.Once).Do(func() { _, err = h.db.Exec(evalSchema) })
	return err
}

// saveEval records a finished eval; failures degrade history, never the eval.
func (h *history) saveEval(ctx context.Context, r *api.EvalResult) {
	if h.db == nil {
		return
	}
	if err := h.evalTable(); err != nil {
		h.fail("create evals table", err)
		return
	}
	stored := *r
	stored.Cases = append([]api.CaseResult(nil), r.Cases...)
	for i := range stored.Cases {
		c := &stored.Cases[i]
		c.Stdout, c.Stderr = headText(c.Stdout, h.cfg.OutputBytes), headText(c.Stderr, h.cfg.OutputBytes)
	}
	b, err := json.Marshal(stored)
	if err != nil {
		h.fail("encode eval", err)
		return
	}
	var uid any
	if r.Caller != nil {
		uid = r.Caller.UID
	}
	_, err = h.db.ExecContext(ctx, `INSERT INTO evals (id, created_at, language, rootfs, shared_jail, passed,
		failed, skipped, total, wall_ms, caller_uid, code_sha256, result) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.CreatedAt.UnixMilli(), r.Language, r.Rootfs, r.SharedJail, r.Summary.Passed, r.Summary.Failed,
		r.Summary.Skipped, r.Summary.Total, r.Summary.WallMS, uid, r.CodeSHA256, string(b))
	if err != nil {
		h.fail("record eval", err)
		return
	}
	if h.cfg.MaxAge.Duration > 0 {
		cutoff := r.CreatedAt.Add(-h.cfg.MaxAge.Duration).UnixMilli()
		_, _ = h.db.ExecContext(ctx, `DELETE FROM evals WHERE created_at < ?`, cutoff)
	}
	h.ok()
}

func headText(s string, n int) string {
	if n >= 0 && len(s) > n {
		return s[:n]
	}
	return s
}

// getEval returns a stored eval.
func (h *history) getEval(ctx context.Context, id string) (*api.EvalResult, error) {
	if h.db == nil {
		return nil, fmt.Errorf("%w: %s", ErrHistoryUnavailable, h.status())
	}
	if err := h.evalTable(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHistoryUnavailable, err)
	}
	var b string
	err := h.db.QueryRowContext(ctx, `SELECT result FROM evals WHERE id = ?`, id).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: eval %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: get eval: %v", ErrHistoryUnavailable, err)
	}
	var r api.EvalResult
	if err := json.Unmarshal([]byte(b), &r); err != nil {
		return nil, fmt.Errorf("decode stored eval %s: %w", id, err)
	}
	return &r, nil
}
