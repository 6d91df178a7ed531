package main

import (
	"context"
	"strings"
	"syscall"
	"testing"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/daemon/client"
)

func TestE2EGoClient(t *testing.T) {
	requireJails(t)
	state := newState(t)
	d := startDaemon(t, state)
	c := client.New(d.socket)
	ctx := context.Background()

	res, err := c.Run(ctx, api.RunRequest{Language: "python", Code: "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())",
		StdinBase64: "AP8Kaw=="})
	if err != nil || res.Status != api.StatusOK || res.StdoutBase64 != "AP8Kaw==" {
		t.Fatalf("Run = %+v, %v; want binary stdin echoed back base64", res, err)
	}
	var chunks []string
	sres, err := c.RunStream(ctx, api.RunRequest{Language: "node", Code: "console.log('a'); console.error('b')"},
		func(ev api.StreamEvent) error {
			chunks = append(chunks, ev.Stdout+ev.Stderr)
			return nil
		})
	if err != nil || sres.Status != api.StatusOK || !strings.Contains(strings.Join(chunks, ""), "a\n") {
		t.Fatalf("RunStream = %+v, %v, chunks %q", sres, err, chunks)
	}
	got, err := c.Get(ctx, res.ID)
	if err != nil || got.ID != res.ID || got.StdoutBase64 != "AP8Kaw==" {
		t.Errorf("Get = %+v, %v", got, err)
	}
	list, err := c.List(ctx, client.ListOptions{Limit: 1, Language: "node"})
	if err != nil || len(list.Runs) != 1 || list.Runs[0].ID != sres.ID {
		t.Errorf("List = %+v, %v", list, err)
	}
	if _, err := c.Get(ctx, "0000000000000000ffffffff"); !client.IsNotFound(err) {
		t.Errorf("Get unknown = %v, want IsNotFound", err)
	}
	if _, err := c.Run(ctx, api.RunRequest{Language: "cobol", Code: "x"}); !client.IsInvalid(err) {
		t.Errorf("Run cobol = %v, want IsInvalid", err)
	}
	info, err := c.Info(ctx)
	if err != nil || len(info.Languages) != 2 || info.CgroupVersion == "" || !info.Seccomp {
		t.Errorf("Info = %+v, %v", info, err)
	}
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" || h.History != "ok" {
		t.Errorf("Health = %+v, %v", h, err)
	}
	d.stop(t, syscall.SIGTERM)
	assertNothingLeft(t, state)
}
