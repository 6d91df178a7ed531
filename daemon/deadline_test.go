package daemon

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// A run that waited in the queue gets only what is left of its wall budget.
func TestQueuedRunGetsTheRestOfItsWall(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var walls []time.Duration
	runner := &fakeRunner{run: func(ctx context.Context, spec jail.Spec) (jail.Result, error) {
		mu.Lock()
		walls = append(walls, spec.Limits.Wall)
		first := len(walls) == 1
		mu.Unlock()
		if first {
			<-release
		}
		return jail.Result{Status: jail.StatusOK}, nil
	}}
	ts := startServer(t, runner, func(c *Config) { c.MaxConcurrent = 1 })
	first := ts.postAsync(`{"language":"python","code":"x"}`)
	waitFor(t, func() bool { r, _ := ts.srv.adm.counts(); return r == 1 })
	done := make(chan api.RunResult, 1)
	go func() {
		done <- ts.run(t, api.RunRequest{Language: "python", Code: "x", Limits: &api.Limits{WallMS: 10000}})
	}()
	waitFor(t, func() bool { _, q := ts.srv.adm.counts(); return q == 1 })
	time.Sleep(300 * time.Millisecond) // queued for at least this long
	close(release)
	<-first
	res := <-done
	if res.Status != api.StatusOK || res.QueueMS < 300 || res.Limits.WallMS != 10000 {
		t.Fatalf("queued run = %s queue_ms %d limits %+v", res.Status, res.QueueMS, res.Limits)
	}
	mu.Lock()
	defer mu.Unlock()
	got := walls[1]
	if limit := 10*time.Second - time.Duration(res.QueueMS)*time.Millisecond; got > limit {
		t.Errorf("jail wall budget %v after %d ms queued, want at most %v", got, res.QueueMS, limit)
	}
}
