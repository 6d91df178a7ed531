package api

import "encoding/json"

// Piston v2 compatibility routes (github.com/engineer-man/piston), so an
// existing Piston client can point at jaild unchanged. The /api/v2/piston
// prefix is the one of the public emkc.org instance.
const (
	PathPistonRuntimes    = "/api/v2/runtimes"
	PathPistonExecute     = "/api/v2/execute"
	PathPistonEMKCRuntime = "/api/v2/piston/runtimes"
	PathPistonEMKCExecute = "/api/v2/piston/execute"
)

// PistonFile is one file of a Piston request. Encoding is utf8 (default),
// base64 or hex.
type PistonFile struct {
	Name     string          `json:"name,omitempty"`
	Content  json.RawMessage `json:"content"`
	Encoding string          `json:"encoding,omitempty"`
}

// PistonRequest is the body of POST /api/v2/execute. Fields are raw so
// that type errors get Piston's own messages; compile_* are accepted and
// ignored (jaild's languages are interpreted).
type PistonRequest struct {
	Language           json.RawMessage `json:"language"`
	Version            json.RawMessage `json:"version"`
	Files              json.RawMessage `json:"files"`
	Stdin              json.RawMessage `json:"stdin,omitempty"`
	Args               json.RawMessage `json:"args,omitempty"`
	RunTimeout         json.RawMessage `json:"run_timeout,omitempty"`
	RunCPUTime         json.RawMessage `json:"run_cpu_time,omitempty"`
	RunMemoryLimit     json.RawMessage `json:"run_memory_limit,omitempty"`
	CompileTimeout     json.RawMessage `json:"compile_timeout,omitempty"`
	CompileCPUTime     json.RawMessage `json:"compile_cpu_time,omitempty"`
	CompileMemoryLimit json.RawMessage `json:"compile_memory_limit,omitempty"`
}

// PistonRun is the "run" stage of a Piston response. Code is null when
// the process was killed; Signal, Message and Status are null on success.
type PistonRun struct {
	Stdout   string  `json:"stdout"`
	Stderr   string  `json:"stderr"`
	Output   string  `json:"output"`
	Code     *int    `json:"code"`
	Signal   *string `json:"signal"`
	Message  *string `json:"message"`
	Status   *string `json:"status"`    // RE, SG, TO, XX (OL, EL never: jaild keeps the head of the output)
	CPUTime  int64   `json:"cpu_time"`  // ms
	WallTime int64   `json:"wall_time"` // ms
	Memory   int64   `json:"memory"`    // bytes
}

// PistonResponse is the body of a 200 from POST /api/v2/execute.
type PistonResponse struct {
	Language string    `json:"language"`
	Version  string    `json:"version"`
	Run      PistonRun `json:"run"`
}

// PistonRuntime is one element of GET /api/v2/runtimes.
type PistonRuntime struct {
	Language string   `json:"language"`
	Version  string   `json:"version"`
	Aliases  []string `json:"aliases"`
	Runtime  string   `json:"runtime,omitempty"`
}

// PistonError is Piston's error body.
type PistonError struct {
	Message string `json:"message"`
}
