package daemon

import (
	"encoding/base64"
	"strings"
	"unicode/utf8"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// encodeOutput returns output as text and, when it is not valid UTF-8,
// also as base64: JSON cannot carry arbitrary bytes, and silently
// replacing them would corrupt binary output.
func encodeOutput(b []byte) (text, b64 string) {
	if utf8.Valid(b) {
		return string(b), ""
	}
	return strings.ToValidUTF8(string(b), "\uFFFD"), base64.StdEncoding.EncodeToString(b)
}

// fillResult copies the engine's verdict into the API result.
func fillResult(r *api.RunResult, res jail.Result) {
	r.Status = string(res.Status)
	r.ExitCode = res.ExitCode
	r.Signal = res.Signal
	r.Syscall = res.Syscall
	r.Stdout, r.StdoutBase64 = encodeOutput(res.Stdout)
	r.Stderr, r.StderrBase64 = encodeOutput(res.Stderr)
	r.StdoutDropped, r.StderrDropped = res.StdoutDropped, res.StderrDropped
	r.WallMS = res.Wall.Milliseconds()
	r.CPUMS = res.CPU.Milliseconds()
	r.MemoryPeak = res.MemoryPeak
	r.Error = res.Error
}
