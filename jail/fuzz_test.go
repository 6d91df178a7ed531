package jail

import (
	"path/filepath"
	"strings"
	"testing"
)

// FuzzValidFileName: a name it accepts must land inside WorkDir when joined
// to it on the host, with no NUL and no "..": the runner writes files by
// these names as root.
func FuzzValidFileName(f *testing.F) {
	const root = "/state/work/j1/work"
	f.Fuzz(func(t *testing.T, name string) {
		if ValidFileName(name) != nil {
			return
		}
		p := filepath.Join(root, filepath.FromSlash(name))
		if !strings.HasPrefix(p, root+"/") || strings.ContainsRune(name, 0) {
			t.Fatalf("accepted %q, which lands at %q", name, p)
		}
		for _, c := range strings.Split(name, "/") {
			if c == "" || c == "." || c == ".." {
				t.Fatalf("accepted %q with component %q", name, c)
			}
		}
	})
}
