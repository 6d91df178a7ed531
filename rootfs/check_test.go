package rootfs

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckAcceptsGoodTree(t *testing.T) {
	root := makeTree(t, goodNodes())
	if err := Check(root); err != nil {
		t.Fatalf("Check(good tree) = %v, want nil", err)
	}
	got, err := FindInterpreter(root, Python)
	if err != nil || got != "/usr/bin/python3" {
		t.Errorf("FindInterpreter = %q, %v; want /usr/bin/python3", got, err)
	}
}

func TestCheckRefuses(t *testing.T) {
	tests := []struct {
		name  string
		add   []node
		drop  string // path removed from goodNodes
		want  []string
		root  bool
		lang  string
		clean bool // no problem expected
	}{
		{name: "escaping relative symlink", add: []node{link("usr/lib/x", "../../../etc/shadow")},
			want: []string{`/usr/lib/x: symlink to "../../../etc/shadow" escapes the root`}},
		{name: "escaping symlink at top", add: []node{link("up", "..")},
			want: []string{`/up: symlink to ".." escapes the root`}},
		{name: "absolute symlink is fine", add: []node{link("usr/lib/abs", "/etc/passwd")}, clean: true},
		{name: "relative symlink to the top is fine", add: []node{link("usr/lib/top", "../..")}, clean: true},
		{name: "setuid file", add: []node{file("usr/bin/su", 0o4755, "x")},
			want: []string{"/usr/bin/su: setuid/setgid file (mode 4755)"}},
		{name: "setgid file", add: []node{file("usr/bin/wall", 0o2755, "x")},
			want: []string{"/usr/bin/wall: setuid/setgid file (mode 2755)"}},
		{name: "setgid dir is fine", add: []node{dir("usr/local", 0o2775)}, clean: true},
		{name: "fifo", add: []node{{path: "tmp/f", kind: 'p', mode: 0o644}}, want: []string{"/tmp/f: fifo"}},
		{name: "device node", add: []node{{path: "dev/null", kind: 'c', mode: 0o666}},
			want: []string{"/dev/null: device node"}, root: true},
		{name: "missing interpreter", drop: "usr/bin/python3",
			want: []string{"/: missing interpreter: /usr/local/bin/python3: not found, /usr/bin/python3: not found, /usr/local/bin/node: not found, /usr/bin/node: not found"}},
		{name: "interpreter not executable by others",
			drop: "usr/bin/python3.11", add: []node{file("usr/bin/python3.11", 0o750, "x")},
			want: []string{"/usr/bin/python3.11 is not executable by an unprivileged uid (mode 0750)"}},
		{name: "dangling interpreter link", drop: "usr/bin/python3.11",
			want: []string{"/usr/bin/python3: not found"}},
		{name: "node wanted, python present", lang: Node,
			want: []string{"missing interpreter: /usr/local/bin/node: not found, /usr/bin/node: not found"}},
		{name: "missing mount point", drop: "work", want: []string{"/work: missing mount point"}},
		{name: "mount point is a symlink", drop: "proc", add: []node{link("proc", "/etc")},
			want: []string{"/proc: mount point is not a directory"}},
		{name: "several problems listed", add: []node{file("a", 0o4755, ""), link("b", "../x"), {path: "c", kind: 'p', mode: 0o600}},
			want: []string{"/a: setuid", "/b: symlink", "/c: fifo", "3 problem(s)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root {
				requireRoot(t, "mknod")
			}
			var nodes []node
			for _, n := range goodNodes() {
				if n.path != tt.drop {
					nodes = append(nodes, n)
				}
			}
			root := makeTree(t, append(nodes, tt.add...))
			var err error
			if tt.lang != "" {
				err = CheckLanguage(root, tt.lang)
			} else {
				err = Check(root)
			}
			if tt.clean {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			var ce *CheckError
			if !errors.As(err, &ce) || !errors.Is(err, ErrBadTree) {
				t.Fatalf("Check = %v, want a *CheckError wrapping ErrBadTree", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check error\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestCheckCapsProblems: a tree with a thousand problems lists fifty and
// counts the rest.
func TestCheckCapsProblems(t *testing.T) {
	nodes := goodNodes()
	for i := range 1000 {
		nodes = append(nodes, file(fmt.Sprintf("usr/lib/s%04d", i), 0o4755, ""))
	}
	err := Check(makeTree(t, nodes))
	var ce *CheckError
	if !errors.As(err, &ce) {
		t.Fatalf("Check = %v, want *CheckError", err)
	}
	if len(ce.Problems) != maxProblems || ce.Omitted != 1000-maxProblems {
		t.Errorf("kept %d, omitted %d; want %d, %d", len(ce.Problems), ce.Omitted, maxProblems, 1000-maxProblems)
	}
	if !strings.Contains(err.Error(), "1000 problem(s)") || !strings.HasSuffix(err.Error(), "and 950 more") {
		t.Errorf("error = %.120s…%s", err, err.Error()[len(err.Error())-40:])
	}
}

// TestFindInterpreterResolvesInside: an absolute link target resolves
// against the root, never the host (the host's /usr/local/bin/python3 must
// not count).
func TestFindInterpreterResolvesInside(t *testing.T) {
	tests := []struct {
		name  string
		nodes []node
		lang  string
		want  string
	}{
		{"absolute link inside root", []node{dir("usr", 0o755), dir("usr/local", 0o755), dir("usr/local/bin", 0o755),
			dir("opt", 0o755), file("opt/py", 0o755, ""), link("usr/local/bin/python3", "/opt/py")}, Python, "/usr/local/bin/python3"},
		{"docker layout wins over debian", []node{dir("usr", 0o755), dir("usr/local", 0o755), dir("usr/local/bin", 0o755),
			dir("usr/bin", 0o755), file("usr/local/bin/python3.12", 0o755, ""), link("usr/local/bin/python3", "python3.12"),
			file("usr/bin/python3", 0o755, "")}, Python, "/usr/local/bin/python3"},
		{"merged usr through /bin link", []node{dir("usr", 0o755), dir("usr/bin", 0o755), link("bin", "usr/bin"),
			file("usr/bin/node", 0o755, "")}, Node, "/usr/bin/node"},
		{"dotdot clamps at root", []node{dir("usr", 0o755), dir("usr/bin", 0o755), dir("x", 0o755), file("x/node", 0o755, ""),
			link("usr/bin/node", "../../../../x/node")}, Node, "/usr/bin/node"},
		{"link to host path missing inside", []node{dir("usr", 0o755), dir("usr/bin", 0o755),
			link("usr/bin/python3", "/usr/bin/python3.11")}, Python, ""},
		{"loop", []node{dir("usr", 0o755), dir("usr/bin", 0o755), link("usr/bin/node", "node")}, Node, ""},
		{"directory", []node{dir("usr", 0o755), dir("usr/bin", 0o755), dir("usr/bin/node", 0o755)}, Node, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindInterpreter(makeTree(t, tt.nodes), tt.lang)
			if got != tt.want || (err == nil) != (tt.want != "") {
				t.Errorf("FindInterpreter = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestEscapes(t *testing.T) {
	tests := []struct {
		rel, target string
		want        bool
	}{
		{"a", "/etc/passwd", false},
		{"a", "..", true},
		{"a", "b/../..", true},
		{"a/b", "..", false},
		{"a/b", "../..", true},
		{"a/b/c", "../../d", false},
		{"a/b/c", "../../../d", true},
		{"a", "./b", false},
		{"a", "/../../x", false},
	}
	for _, tt := range tests {
		if got := escapes(tt.rel, tt.target); got != tt.want {
			t.Errorf("escapes(%q, %q) = %v, want %v", tt.rel, tt.target, got, tt.want)
		}
	}
}
