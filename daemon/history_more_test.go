package daemon

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// TestHistoryPruneByAgeAndByRows checks each retention rule on its own
// (TestHistoryAbortedAndPruned's old row would go under either rule).
func TestHistoryPruneByAgeAndByRows(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	fill := func(h *history, created []time.Time, running int) []string {
		var ids []string
		for i, c := range created {
			r := &api.RunResult{ID: newRunID(c.Add(time.Duration(i))), CreatedAt: c, Language: "python", Rootfs: "p@x"}
			h.begin(ctx, r)
			if i != running {
				r.Status = api.StatusOK
				h.finish(ctx, r, nil, nil)
			}
			ids = append(ids, r.ID)
		}
		return ids
	}
	remaining := func(h *history) []string {
		l, err := h.list(ctx, listQuery{limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range l.Runs {
			ids = append(ids, r.ID)
		}
		return ids
	}

	cfg := Default().History
	cfg.MaxAge, cfg.MaxRows = Duration{24 * time.Hour}, 1000
	h := openHistory(filepath.Join(t.TempDir(), "h.db"), cfg, slog.New(slog.DiscardHandler))
	defer h.close()
	old := now.Add(-48 * time.Hour)
	// Two old finished runs, one old run still in flight, two recent ones.
	ids := fill(h, []time.Time{old, old, old, now, now}, 2)
	h.prune(ctx, now)
	got := strings.Join(remaining(h), ",")
	if want := strings.Join([]string{ids[4], ids[3], ids[2]}, ","); got != want {
		t.Errorf("after age pruning: %s, want the recent runs and the old one still running %s", got, want)
	}

	cfg.MaxAge, cfg.MaxRows = Duration{0}, 2
	h2 := openHistory(filepath.Join(t.TempDir(), "h.db"), cfg, slog.New(slog.DiscardHandler))
	defer h2.close()
	ids = fill(h2, []time.Time{old, now, now, now}, -1)
	h2.prune(ctx, now)
	if got, want := strings.Join(remaining(h2), ","), ids[3]+","+ids[2]; got != want {
		t.Errorf("after row pruning: %s, want the 2 newest %s", got, want)
	}
}

// TestHistoryUnwritableServerKeepsRunning: with a database that cannot be
// opened the daemon still runs jails (200), says why on /healthz and answers
// history queries with 503 unavailable.
func TestHistoryUnwritableServerKeepsRunning(t *testing.T) {
	runner := &fakeRunner{}
	ts := startServer(t, runner, func(c *Config) {
		// history.db is a directory: SQLite cannot open it.
		if err := os.Mkdir(filepath.Join(c.StateDir, "history.db"), 0o755); err != nil {
			t.Fatal(err)
		}
	})
	res := ts.run(t, api.RunRequest{Language: "python", Code: "x"})
	if res.Status != api.StatusOK || runner.count() != 1 {
		t.Errorf("run without history = %+v, want ok", res)
	}
	status, body, _ := ts.do(t, "GET", api.PathHealth, nil)
	var h api.Health
	if status != 200 || json.Unmarshal(body, &h) != nil || h.Status != "ok" || h.History == "ok" || h.History == "" {
		t.Errorf("health = %d %s, want 200 (jails run) with the history problem named", status, body)
	}
	for _, p := range []string{api.PathRuns, api.PathRun + res.ID} {
		status, body, _ = ts.do(t, "GET", p, nil)
		if status != http.StatusServiceUnavailable || decodeErr(t, body).Code != api.CodeUnavailable {
			t.Errorf("GET %s = %d %s, want 503 unavailable", p, status, body)
		}
	}
}

func TestHistoryKeepsRuneBoundary(t *testing.T) {
	cfg := Default().History
	cfg.OutputBytes = 5
	h := openHistory(filepath.Join(t.TempDir(), "h.db"), cfg, slog.New(slog.DiscardHandler))
	defer h.close()
	ctx := context.Background()
	r := &api.RunResult{ID: newRunID(time.Now()), CreatedAt: time.Now(), Language: "python", Rootfs: "p@x", Status: api.StatusOK}
	h.begin(ctx, r)
	h.finish(ctx, r, []byte("abcdé!"), []byte("ab\xff\xfe\xfd\xfc"))
	got, err := h.get(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	// "abcd" + the first byte of é would be invalid UTF-8: the head stops
	// before the cut rune, so valid output stays text without base64.
	if got.Stdout != "abcd" || got.StdoutBase64 != "" {
		t.Errorf("stdout head = %q base64 %q, want \"abcd\" and no base64", got.Stdout, got.StdoutBase64)
	}
	if got.StderrBase64 != "YWL//v0=" {
		t.Errorf("binary stderr head base64 = %q, want the first 5 bytes", got.StderrBase64)
	}
}

// TestHistoryFailingMidLifeDegrades: a database that stops working while
// the daemon runs degrades the same way, and recovers when writes succeed.
func TestHistoryFailingMidLifeDegrades(t *testing.T) {
	ts := startServer(t, nil, nil)
	if r := ts.run(t, api.RunRequest{Language: "python", Code: "x"}); r.Status != api.StatusOK {
		t.Fatalf("first run %+v", r)
	}
	if st := ts.srv.hist.status(); st != "ok" {
		t.Fatalf("history status %q before the failure", st)
	}
	ts.srv.hist.db.Close() // every later statement fails
	if r := ts.run(t, api.RunRequest{Language: "python", Code: "x"}); r.Status != api.StatusOK {
		t.Errorf("run with a failing history = %+v, want ok", r)
	}
	status, body, _ := ts.do(t, "GET", api.PathHealth, nil)
	var h api.Health
	if status != 200 || json.Unmarshal(body, &h) != nil || !strings.Contains(h.History, "record run") {
		t.Errorf("health = %d %s, want the failed write named under history", status, body)
	}
}
