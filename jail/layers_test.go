package jail

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/jaild/jaild"

// TestLayering guards the one-way flow of the house: socket → daemon →
// policy → jail runner. Each package lists the packages of ours it may
// import; anything else of ours is a layering violation.
func TestLayering(t *testing.T) {
	rules := map[string]struct {
		ours    []string // our packages it may import
		banned  []string // outside import prefixes it must not use
		onlyStd bool     // standard library only
	}{
		"jail":           {banned: []string{"github.com/opencontainers/runc", "github.com/seccomp"}},
		"jail/container": {ours: []string{"jail"}},
		"policy":         {ours: []string{"jail"}, banned: []string{"github.com/opencontainers/runc"}},
		"rootfs":         {ours: []string{"jail"}},
		"daemon":         {ours: []string{"jail", "policy", "rootfs", "daemon/api", "systemd"}},
		"daemon/api":     {onlyStd: true},
		"daemon/client":  {ours: []string{"daemon/api"}},
		"systemd":        {},
	}
	root := ".."
	checked := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rule, ok := rules[filepath.ToSlash(rel)]
		if !ok {
			return nil
		}
		checked[rel] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if own, ok := strings.CutPrefix(p, module+"/"); ok && !slices.Contains(rule.ours, own) {
				t.Errorf("%s imports %s: %s may import only %v of ours", path, p, rel, rule.ours)
			}
			if rule.onlyStd && strings.Contains(strings.SplitN(p, "/", 2)[0], ".") {
				t.Errorf("%s imports %s: %s may use the standard library only", path, p, rel)
			}
			for _, b := range rule.banned {
				if strings.HasPrefix(p, b) {
					t.Errorf("%s imports %s, which %s must not depend on", path, p, rel)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"jail", "jail/container", "policy"} {
		if !checked[must] {
			t.Errorf("no files of %s were checked: the walk is broken", must)
		}
	}
}
