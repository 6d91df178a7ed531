package daemon

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// Every run gets its row, also one that never left the queue (its wall
// budget ran out there) and one whose start could not be recorded.
func TestHistoryRecordsRunsThatNeverStarted(t *testing.T) {
	release := make(chan struct{})
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		<-release
		return jail.Result{Status: jail.StatusOK}, nil
	}}
	ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1 })
	first := ts.postAsync(`{"language":"python","code":"x"}`)
	waitFor(t, func() bool { r, _ := ts.srv.adm.counts(); return r == 1 })
	res := ts.run(t, api.RunRequest{Language: "python", Code: "x", Limits: &api.Limits{WallMS: 200}})
	close(release)
	<-first
	if res.Status != api.StatusTimeout {
		t.Fatalf("queued run = %s, want timeout", res.Status)
	}
	status, body, _ := ts.do(t, "GET", api.PathRun+res.ID, nil)
	var got api.RunResult
	if status != 200 || json.Unmarshal(body, &got) != nil || got.Status != api.StatusTimeout || got.Error == "" ||
		got.CodeSHA256 != res.CodeSHA256 || got.Language != "python" || got.Limits.WallMS != 200 {
		t.Errorf("history of the run that timed out in the queue = %d %s", status, body)
	}

	// A run whose "running" row could not be written still lands at the end.
	r := &api.RunResult{ID: newRunID(res.CreatedAt.Add(1)), CreatedAt: res.CreatedAt, Language: "node", Rootfs: "node@x",
		Status: api.StatusOK, CodeSHA256: "abc", Limits: api.Limits{WallMS: 5}}
	ts.srv.hist.finish(context.Background(), r, []byte("out"), nil)
	if g, err := ts.srv.hist.get(context.Background(), r.ID); err != nil || g.Status != api.StatusOK || g.Stdout != "out" || g.Language != "node" {
		t.Errorf("finish without begin: %+v, %v", g, err)
	}
}
