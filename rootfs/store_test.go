package rootfs

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// importTree imports nodes plus a marker file (so trees differ) as name.
func importTree(t *testing.T, s *Store, name, marker string) Image {
	t.Helper()
	src := makeTree(t, append(pythonNodes(), file("marker", 0o644, marker)))
	img, err := s.Import(context.Background(), name, Python, src, ImportOptions{})
	if err != nil {
		t.Fatalf("Import %s: %v", name, err)
	}
	return img
}

func TestLookup(t *testing.T) {
	s := openStore(t)
	v1 := importTree(t, s, "python", "1")
	v2 := importTree(t, s, "python", "2")
	other := importTree(t, s, "py-3.12_x", "3")
	if v1.Digest == v2.Digest {
		t.Fatalf("different trees, same digest %s", v1.Digest)
	}
	tests := []struct {
		ref     string
		want    string // digest, "" for an error
		wantErr error
	}{
		{"python", v2.Digest, nil},
		{v1.Ref(), v1.Digest, nil},
		{v2.Ref(), v2.Digest, nil},
		{"py-3.12_x", other.Digest, nil},
		{"node", "", ErrNotFound},
		{"python@" + other.Digest, "", ErrNotFound},
		{"node@" + v1.Digest, "", ErrNotFound},
		{"Python", "", ErrInvalidRef},
		{"../python", "", ErrInvalidRef},
		{".lock", "", ErrInvalidRef},
		{"python@sha256:abc", "", ErrInvalidRef},
		{"python@", "", ErrInvalidRef},
		{"", "", ErrInvalidRef},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			img, err := s.Lookup(tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("Lookup(%q) = %v, %v; want %v", tt.ref, img.Ref(), err, tt.wantErr)
				}
				return
			}
			if err != nil || img.Digest != tt.want {
				t.Fatalf("Lookup(%q) = %s, %v; want digest %s", tt.ref, img.Digest, err, tt.want)
			}
			if want := filepath.Join(s.Dir, img.Ref()); img.Path != want {
				t.Errorf("Path = %s, want %s", img.Path, want)
			}
			if img.Files == 0 || img.SizeBytes == 0 || img.Interpreter == "" || img.Created.IsZero() {
				t.Errorf("metadata incomplete: %+v", img)
			}
		})
	}
}

func TestListRemove(t *testing.T) {
	s := openStore(t)
	v1 := importTree(t, s, "python", "1")
	v2 := importTree(t, s, "python", "2")
	n := importTree(t, s, "alpha", "3")
	refs := func() []string {
		imgs, err := s.List()
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		var r []string
		for _, i := range imgs {
			r = append(r, i.Ref())
		}
		return r
	}
	if got, want := strings.Join(refs(), " "), strings.Join([]string{n.Ref(), v1.Ref(), v2.Ref()}, " "); got != want {
		t.Errorf("List = %s\nwant   %s", got, want)
	}
	// Removing an old version keeps the name.
	if err := s.Remove(v1.Ref()); err != nil {
		t.Fatalf("Remove(%s): %v", v1.Ref(), err)
	}
	if img, err := s.Lookup("python"); err != nil || img.Digest != v2.Digest {
		t.Errorf("Lookup(python) after removing v1 = %s, %v; want %s", img.Ref(), err, v2.Ref())
	}
	// Removing by name removes the current image and the name.
	if err := s.Remove("python"); err != nil {
		t.Fatalf("Remove(python): %v", err)
	}
	if _, err := s.Lookup("python"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(python) after Remove = %v, want ErrNotFound", err)
	}
	if err := s.Remove("python"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Remove twice = %v, want ErrNotFound", err)
	}
	if got := strings.Join(refs(), " "); got != n.Ref() {
		t.Errorf("List after removals = %s, want %s", got, n.Ref())
	}
	des, _ := os.ReadDir(s.Dir)
	for _, de := range des {
		if name := de.Name(); name != ".lock" && !strings.HasPrefix(name, "alpha") {
			t.Errorf("left in store: %s", name)
		}
	}
}

func TestReimportReuses(t *testing.T) {
	s := openStore(t)
	a := importTree(t, s, "python", "same")
	b := importTree(t, s, "python", "same")
	if a.Ref() != b.Ref() || !a.Created.Equal(b.Created) {
		t.Errorf("re-import: %s created %v, want the stored %s created %v", b.Ref(), b.Created, a.Ref(), a.Created)
	}
	// A tree whose metadata was lost (crash) is verified and reused.
	os.Remove(a.Path + ".json")
	c := importTree(t, s, "python", "same")
	if c.Ref() != a.Ref() {
		t.Errorf("re-import after lost metadata: %s, want %s", c.Ref(), a.Ref())
	}
	if _, err := s.Lookup(a.Ref()); err != nil {
		t.Errorf("Lookup after re-import: %v", err)
	}
}

func TestVerify(t *testing.T) {
	s := openStore(t)
	img := importTree(t, s, "python", "1")
	if err := s.Verify(img); err != nil {
		t.Fatalf("Verify(fresh) = %v", err)
	}
	tamper := []struct {
		name string
		do   func(root string) error
	}{
		{"content", func(r string) error { return os.WriteFile(filepath.Join(r, "marker"), []byte("2"), 0o644) }},
		{"mode", func(r string) error { return os.Chmod(filepath.Join(r, "marker"), 0o755) }},
		{"new file", func(r string) error { return os.WriteFile(filepath.Join(r, "tmp/x"), nil, 0o644) }},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			img := importTree(t, s, "python", "1")
			if err := tt.do(img.Path); err != nil {
				t.Fatal(err)
			}
			if err := s.Verify(img); !errors.Is(err, ErrDigestMismatch) {
				t.Errorf("Verify(tampered) = %v, want ErrDigestMismatch", err)
			}
			// A re-import of the same content replaces the damaged tree.
			if again := importTree(t, s, "python", "1"); s.Verify(again) != nil {
				t.Errorf("damaged tree not replaced: %v", s.Verify(again))
			}
		})
	}
}

func TestProbe(t *testing.T) {
	s := openStore(t)
	img := importTree(t, s, "python", "1")
	boom := errors.New("boom")
	err := s.Probe(context.Background(), img, func(ctx context.Context, got Image) error {
		if got.Ref() != img.Ref() {
			t.Errorf("prober got %s, want %s", got.Ref(), img.Ref())
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), img.Ref()) {
		t.Errorf("Probe = %v, want boom naming %s", err, img.Ref())
	}
}

func TestOpenNotADirectory(t *testing.T) {
	p := writeTemp(t, "f", nil)
	if _, err := Open(p); err == nil {
		t.Errorf("Open(file) succeeded")
	}
}

func TestOpenRemovesStaleWork(t *testing.T) {
	s := openStore(t)
	old, young := filepath.Join(s.Dir, ".build-python-1"), filepath.Join(s.Dir, ".import-x-2")
	for _, d := range []string{old, young, filepath.Join(old, "root")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-2 * staleAfter)
	if err := os.Chtimes(old, long, long); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(s.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(old); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale %s left: %v", old, err)
	}
	if _, err := os.Lstat(young); err != nil {
		t.Errorf("young %s removed: %v", young, err)
	}
}
