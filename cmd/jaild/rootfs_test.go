package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/rootfs"
)

func TestRootfsLs(t *testing.T) {
	requireJails(t) // the test images; listing them needs no root
	state := newState(t)
	store, err := rootfs.Open(filepath.Join(state, "rootfs"))
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := store.List()
	if err != nil || len(imgs) < 2 {
		t.Fatalf("List = %v, %v; want the python and node test images", imgs, err)
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"rootfs", "ls", "--state-dir", state}, &out, &errb); code != 0 {
		t.Fatalf("jaild rootfs ls exit %d: %s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(imgs)+1 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "DIGEST") {
		t.Fatalf("ls printed %q, want a header and %d rows", out.String(), len(imgs))
	}
	for _, img := range imgs {
		if !strings.Contains(out.String(), img.Name) || !strings.Contains(out.String(), img.Digest) {
			t.Errorf("ls output lacks %s %s:\n%s", img.Name, img.Digest, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"rootfs", "ls", "--json", "--state-dir", state}, &out, &errb); code != 0 {
		t.Fatalf("jaild rootfs ls --json exit %d: %s", code, errb.String())
	}
	var got []rootfs.Image
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || len(got) != len(imgs) {
		t.Fatalf("ls --json = %s (%v), want %d images", out.String(), err, len(imgs))
	}
	for i := range got {
		if got[i].Digest != imgs[i].Digest || got[i].Name != imgs[i].Name || got[i].Interpreter == "" {
			t.Errorf("ls --json image %d = %+v, want %+v", i, got[i], imgs[i])
		}
	}
	// A state dir without images lists only the header.
	out.Reset()
	empty := t.TempDir()
	if code := run(context.Background(), []string{"rootfs", "ls", "--state-dir", empty}, &out, &errb); code != 0 ||
		strings.TrimSpace(out.String()) != strings.TrimSpace(strings.Split(out.String(), "\n")[0]) {
		t.Errorf("ls of an empty store = %d %q", code, out.String())
	}
}
