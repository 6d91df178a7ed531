package policy

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/jaild/jaild/jail"
)

// The static analyzers. Untrusted code is parsed only inside a jail: each
// analyzer runs like any script, in a fresh jail on the profile's rootfs
// and filter, with tight limits, reading the code and the profile's lists
// as JSON on stdin and writing findings as JSON on stdout.
var (
	//go:embed analyzer/analyze.py
	pythonAnalyzer []byte
	//go:embed analyzer/analyze.js
	nodeAnalyzer []byte
)

// Finding is one static-check result (1-based line and column; 0 when
// unknown).
type Finding struct {
	File    string `json:"file,omitempty"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

// AnalyzerLimits bound one analysis: parsing is cheap, so anything slower
// or bigger is an attack on the analyzer and ends as a finding.
var AnalyzerLimits = jail.Limits{Wall: 5 * time.Second, CPUTime: 5 * time.Second, CPUs: 1,
	Memory: 256 << 20, Pids: 16, Output: 1 << 20, Tmp: 1 << 20, OpenFiles: 64}

const analyzerFile = "jaild-analyze"

type analyzerInput struct {
	Files        []analyzerFileIn `json:"files"`
	AllowImports []string         `json:"allow_imports"`
	DenyImports  []string         `json:"deny_imports"`
}

type analyzerFileIn struct {
	Name    string `json:"name"`
	Content string `json:"content"`
}

// AnalyzerSpec is the jail spec that checks a request's files against
// prof's lists. interpreter is the
// rootfs's interpreter path; the caller fills Rootfs.
func AnalyzerSpec(prof *Profile, interpreter string, files []jail.File) (jail.Spec, error) {
	in := analyzerInput{AllowImports: nonNil(prof.Validation.AllowImports), DenyImports: nonNil(prof.Validation.DenyImports)}
	// Every file, whatever its name: a "data.txt" can be loaded as code
	// (require("./data.txt"), NODE_OPTIONS, a sourceless x.pyc is importable),
	// so a file that does not parse as code is a finding.
	for _, f := range files {
		in.Files = append(in.Files, analyzerFileIn{Name: f.Name, Content: string(f.Content)})
	}
	stdin, err := json.Marshal(in)
	if err != nil {
		return jail.Spec{}, err
	}
	var argv []string
	var script []byte
	switch prof.Language {
	case jail.Python:
		// -I: isolated (no env, no user site, script dir not on sys.path:
		// a submitted "ast.py" cannot shadow the real module; the code is
		// never on disk anyway). -S: no site. -B: no .pyc.
		argv, script = []string{interpreter, "-I", "-S", "-B", jail.WorkDir + "/" + analyzerFile + ".py"}, pythonAnalyzer
	case jail.Node:
		// The flag makes vm.SourceTextModule available, to compile (never
		// evaluate) ES modules for their syntax errors.
		argv, script = []string{interpreter, "--experimental-vm-modules", "--no-warnings", jail.WorkDir + "/" + analyzerFile + ".js"}, nodeAnalyzer
	default:
		return jail.Spec{}, fmt.Errorf("no analyzer for language %q", prof.Language)
	}
	name := path.Base(argv[len(argv)-1])
	return jail.Spec{Argv: argv, Env: BaseEnv(prof.Language), Stdin: stdin, Limits: AnalyzerLimits,
		Files: []jail.File{{Name: name, Content: script}}, Seccomp: prof.Filter}, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// ParseFindings reads the analyzer's answer. An analyzer that did not
// finish cleanly (killed for time or memory by hostile input, crashed)
// yields one analysis_failed finding: checks fail closed.
func ParseFindings(res jail.Result) []Finding {
	var out struct {
		Findings []Finding `json:"findings"`
	}
	if res.Status != jail.StatusOK || json.Unmarshal(res.Stdout, &out) != nil {
		why := string(res.Status)
		if res.Signal != "" {
			why += " " + res.Signal
		}
		if res.Status == jail.StatusOK {
			why = "unreadable output"
		}
		msg := strings.TrimSpace(string(res.Stderr))
		if len(msg) > 200 {
			msg = msg[len(msg)-200:]
		}
		return []Finding{{Rule: "analysis_failed", Message: fmt.Sprintf("the analyzer did not finish (%s): %s", why, msg)}}
	}
	if out.Findings == nil {
		out.Findings = []Finding{}
	}
	return out.Findings
}
