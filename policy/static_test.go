package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/jaild/jaild/jail"
)

// runAnalyzerOnHost runs an analyzer with the host's interpreter. That is
// fine for this trusted corpus; the daemon only ever runs it in a jail
// (TestAnalyzerInJail in cmd/jaild covers that path).
func runAnalyzerOnHost(t *testing.T, lang, file string, allow, deny []string) []Finding {
	t.Helper()
	interp, script := "/usr/bin/python3", "analyzer/analyze.py"
	args := []string{"-I", "-S", "-B", script}
	if lang == "node" {
		interp, script = "/usr/bin/node", "analyzer/analyze.js"
		args = []string{"--experimental-vm-modules", "--no-warnings", script}
	}
	if _, err := os.Stat(interp); err != nil {
		t.Skipf("SKIP: %s not installed on the host, needed to run the %s analyzer outside a jail", interp, lang)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := json.Marshal(analyzerInput{Files: []analyzerFileIn{{Name: filepath.Base(file), Content: string(src)}},
		AllowImports: nonNil(allow), DenyImports: nonNil(deny)})
	cmd := exec.Command(interp, args...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s analyzer: %v: %s", lang, err, stderr.String())
	}
	var res struct{ Findings []Finding }
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("analyzer output %q: %v", out, err)
	}
	return res.Findings
}

// TestEvasionCorpus checks every expected finding of testdata/evasions
// (one "LINE RULE" per line in the .want file) and nothing else.
func TestEvasionCorpus(t *testing.T) {
	for _, tc := range []struct {
		file, want, lang string
		allow, deny      []string
	}{
		{"python.py", "python.want", "python", []string{"json", "re", "typing"}, []string{"os", "sys", "subprocess", "socket"}},
		{"node.js", "node.want", "node", []string{"path"}, []string{"child_process", "vm", "fs", "net"}},
		{"syntax.py", "syntax.py.want", "python", nil, nil},
		{"syntax.js", "syntax.js.want", "node", nil, nil},
		{"unterminated.js", "unterminated.js.want", "node", nil, nil},
	} {
		t.Run(tc.file, func(t *testing.T) {
			found := runAnalyzerOnHost(t, tc.lang, filepath.Join("testdata/evasions", tc.file), tc.allow, tc.deny)
			var got []string
			for _, f := range found {
				got = append(got, fmt.Sprintf("%d %s", f.Line, f.Rule))
				if f.Message == "" {
					t.Errorf("finding %d %s has no message", f.Line, f.Rule)
				}
			}
			b, err := os.ReadFile(filepath.Join("testdata/evasions", tc.want))
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Split(strings.TrimSpace(string(b)), "\n")
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("findings:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestParseFindingsFailsClosed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status string
		stdout string
		rule   string
	}{
		{"clean", "ok", `{"findings":[]}`, ""},
		{"finding", "ok", `{"findings":[{"line":1,"column":1,"rule":"dynamic_code","message":"use of eval"}]}`, "dynamic_code"},
		{"garbage", "ok", `not json`, "analysis_failed"},
		{"timeout", "timeout", ``, "analysis_failed"},
	} {
		var res = resultFor(tc.status, tc.stdout)
		got := ParseFindings(res)
		switch {
		case tc.rule == "" && len(got) != 0:
			t.Errorf("%s: got %v, want none", tc.name, got)
		case tc.rule != "" && (len(got) != 1 || got[0].Rule != tc.rule):
			t.Errorf("%s: got %v, want one %s", tc.name, got, tc.rule)
		}
	}
}

func resultFor(status, stdout string) jail.Result {
	return jail.Result{Status: jail.Status(status), Stdout: []byte(stdout)}
}

// TestAnalyzerHostileInput: input built to break the parsers ends as a
// finding (which refuses under enforce), never as a clean pass.
func TestAnalyzerHostileInput(t *testing.T) {
	dir := t.TempDir()
	deep := "x=" + strings.Repeat("(", 200000) + "1" + strings.Repeat(")", 200000) + "\n"
	for _, tc := range []struct{ lang, name, src string }{
		{"python", "deep.py", deep},
		{"python", "unary.py", "x=" + strings.Repeat("-", 1000000) + "1\n"},
		{"python", "binary.pyc", "\x00\x01\x02\xff"},
		{"node", "deep.js", deep},
		{"node", "templates.js", strings.Repeat("`${", 50000)},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		found := runAnalyzerOnHost(t, tc.lang, p, nil, nil)
		if len(found) == 0 || (found[0].Rule != "syntax_error" && found[0].Rule != "analysis_failed") {
			t.Errorf("%s: findings %+v, want syntax_error or analysis_failed", tc.name, found)
		}
	}
}
