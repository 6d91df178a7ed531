package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/daemon/client"
)

// TestE2EFloodedQueueGets429: a real daemon with one slot and a queue of
// one answers a third run with 429 and Retry-After, through the Go client
// (typed error) and over raw HTTP; the queued run then runs.
func TestE2EFloodedQueueGets429(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state, "--max-concurrent", "1", "--queue-size", "1")
	marker := fmt.Sprintf("jaild-e2e-flood-%d", os.Getpid())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make(chan string, 2)
	for i, code := range []string{"import time; time.sleep(60)", "print('queued ran')"} {
		go func() {
			resp, err := d.post(ctx, api.PathRuns, api.RunRequest{Language: "python", Code: code, Args: []string{marker},
				Limits: &api.Limits{WallMS: 60000}})
			if err != nil {
				results <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- string(b)
		}()
		// The second request must queue behind the first, not race it.
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			var info api.Info
			d.get(t, api.PathInfo, &info)
			if info.Running+info.Queued == i+1 {
				break
			}
		}
	}
	var info api.Info
	d.get(t, api.PathInfo, &info)
	if info.Running != 1 || info.Queued != 1 {
		t.Fatalf("info running %d queued %d, want 1 and 1", info.Running, info.Queued)
	}
	_, err := client.New(d.socket).Run(context.Background(), api.RunRequest{Language: "python", Code: "print(1)"})
	var ce *client.Error
	if !client.IsQueueFull(err) || !errors.As(err, &ce) || ce.RetryAfter <= 0 {
		t.Errorf("third run via the client = %v, want IsQueueFull with RetryAfter", err)
	}
	resp, err := d.post(context.Background(), api.PathRuns, api.RunRequest{Language: "python", Code: "print(1)"})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third run over HTTP = %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	cancel() // both clients hang up: the sleeper is killed, the queued run leaves the queue
	<-results
	<-results
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state, marker)
}
