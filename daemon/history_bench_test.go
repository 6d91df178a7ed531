package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// BenchmarkHistoryRun is the history's share of one run on the request
// path: the running row written before the jail starts and the final row.
func BenchmarkHistoryRun(b *testing.B) {
	h := openHistory(filepath.Join(b.TempDir(), "history.db"), HistoryConfig{MaxRows: 100000, OutputBytes: 4096},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer h.close()
	ctx := context.Background()
	out := []byte("1\n")
	for i := 0; b.Loop(); i++ {
		r := &api.RunResult{ID: fmt.Sprintf("bench-%d", i), Language: "python", Rootfs: "python@sha256:x",
			CreatedAt: time.Now(), CodeSHA256: "abc", Status: api.StatusOK, ExitCode: 0}
		h.begin(ctx, r)
		h.finish(ctx, r, out, nil)
	}
	if h.status() != "ok" {
		b.Fatalf("history status %q", h.status())
	}
}
