package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/policy"
)

// Config is the daemon's configuration: Default(), then the file, then flags.
type Config struct {
	// Socket is the Unix socket path the API listens on.
	Socket string `toml:"socket"`
	// SocketGroup owns the socket (mode 0660) when that group exists;
	// otherwise the socket is 0600 and only root can connect.
	SocketGroup string `toml:"socket_group"`
	// ListenTCP is an optional extra listener; only loopback addresses are
	// accepted. Empty disables it.
	ListenTCP string `toml:"listen_tcp"`
	// StateDir holds the rootfs store, jail state and the history database.
	StateDir string `toml:"state_dir"`
	// CgroupParent is the absolute cgroup path jails are created under, one
	// child each, in every hierarchy. On cgroup v2 under a Delegate=yes unit
	// it is taken inside the unit's own cgroup (see jail/container planV2).
	CgroupParent string `toml:"cgroup_parent"`
	// MaxConcurrent is how many jails may run at once.
	MaxConcurrent int `toml:"max_concurrent"`
	// QueueSize is how many requests may wait for a slot; more get 429.
	QueueSize int `toml:"queue_size"`
	// MaxBodyBytes caps a request body; larger bodies get 413.
	MaxBodyBytes int64 `toml:"max_body_bytes"`
	// MaxFiles caps the files of one request.
	MaxFiles int `toml:"max_files"`
	// ShutdownGrace is how long SIGTERM waits for in-flight runs before
	// killing them.
	ShutdownGrace Duration `toml:"shutdown_grace"`
	// DefaultLimits apply to fields a request leaves out.
	DefaultLimits api.Limits `toml:"default_limits"`
	// MaxLimits bound what a request may ask for.
	MaxLimits api.Limits `toml:"max_limits"`
	// CPUs is the CPU quota of every jail in cores.
	CPUs float64 `toml:"cpus"`
	// History configures the run history database.
	History HistoryConfig `toml:"history"`
	// Policy is the operator policy file (see policy/default.toml); when
	// it does not exist (or is "") the embedded default policy is used.
	Policy string `toml:"policy"`
	// Pool configures the warm pool of pre-built jails.
	Pool PoolConfig `toml:"pool"`
}

// PoolConfig sizes the warm pool: jails built ahead, interpreter started,
// one run each. One key per language with the default limits.
type PoolConfig struct {
	// Size is how many jails each key keeps parked at least; 0 disables
	// the pool.
	Size int `toml:"size"`
	// MaxSize bounds a key's size as it grows with demand.
	MaxSize int `toml:"max_size"`
	// MemoryBudget caps the memory of all parked jails together, in bytes.
	MemoryBudget int64 `toml:"memory_budget_bytes"`
	// Builders is how many parked jails may be built at once.
	Builders int `toml:"builders"`
	// Zygote runs python profiles in children of one long-lived python per
	// profile key (a zygote), each child its own single-use jail; other
	// runs use the pool (Size) or cold jails. Off by default: what a
	// child shares with its zygote is in README ("Zygote").
	Zygote bool `toml:"zygote"`
}

// HistoryConfig configures retention of the run history.
type HistoryConfig struct {
	// MaxAge removes runs older than this.
	MaxAge Duration `toml:"max_age"`
	// MaxRows keeps at most this many runs, newest first.
	MaxRows int `toml:"max_rows"`
	// OutputBytes is how much of each stream is stored per run.
	OutputBytes int `toml:"output_bytes"`
}

// Duration is a time.Duration written as "5s" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	d.Duration = v
	return err
}

// MarshalText writes a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Default returns the built-in configuration.
func Default() Config {
	return Config{
		Socket:        api.DefaultSocket,
		SocketGroup:   "jaild",
		StateDir:      "/var/lib/jaild",
		CgroupParent:  "/jaild",
		MaxConcurrent: 2 * runtime.NumCPU(),
		QueueSize:     64,
		MaxBodyBytes:  8 << 20,
		MaxFiles:      64,
		ShutdownGrace: Duration{10 * time.Second},
		CPUs:          1,
		DefaultLimits: api.Limits{WallMS: 5000, CPUMS: 5000, MemoryBytes: 128 << 20, Pids: 64,
			OutputBytes: 1 << 20, TmpBytes: 64 << 20},
		MaxLimits: api.Limits{WallMS: 60000, CPUMS: 60000, MemoryBytes: 1 << 30, Pids: 256,
			OutputBytes: 16 << 20, TmpBytes: 512 << 20},
		History: HistoryConfig{MaxAge: Duration{30 * 24 * time.Hour}, MaxRows: 100000, OutputBytes: 64 << 10},
		Policy:  "/etc/jaild/policy.toml",
		Pool:    PoolConfig{Size: 0, MaxSize: 4, MemoryBudget: 512 << 20, Builders: 2},
	}
}

// LoadFile reads a TOML file over c. Unknown keys are errors, with their
// names, so a typo never silently falls back to a default.
func (c *Config) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read config: %w", err)
	}
	md, err := toml.NewDecoder(bytes.NewReader(b)).Decode(c)
	if err != nil {
		return fmt.Errorf("parse config %s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		keys := make([]string, len(und))
		for i, k := range und {
			keys[i] = k.String()
		}
		return fmt.Errorf("parse config %s: unknown keys: %s", path, strings.Join(keys, ", "))
	}
	// The decoder falls back to matching keys with strings.EqualFold, so
	// MAX_CONCURRENT, max_concurrent and even "ſtate_dir" (U+017F folds to
	// s) would all set one field, and with two of them in a file which wins
	// follows Go's map order: the same file could load differently each
	// time. Every key of the format is ASCII a-z, 0-9 and _, so anything
	// else is refused, as in the policy file.
	var bad []string
	for _, k := range md.Keys() {
		if !policy.PlainKey(k) { // allows -, but a dashed key is unknown anyway
			bad = append(bad, k.String())
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("parse config %s: keys are ASCII lower-case letters, digits and _: %s", path, strings.Join(bad, ", "))
	}
	return nil
}

// Validate checks every field; it reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(filepath.IsAbs(c.Socket), "socket %q must be an absolute path", c.Socket)
	check(filepath.IsAbs(c.StateDir), "state_dir %q must be an absolute path", c.StateDir)
	check(filepath.IsAbs(c.CgroupParent) && filepath.Clean(c.CgroupParent) == c.CgroupParent && c.CgroupParent != "/",
		"cgroup_parent %q must be a clean absolute path below the root", c.CgroupParent)
	check(c.MaxConcurrent >= 1 && c.MaxConcurrent <= 4096, "max_concurrent %d must be between 1 and 4096", c.MaxConcurrent)
	check(c.QueueSize >= 0 && c.QueueSize <= 65536, "queue_size %d must be between 0 and 65536", c.QueueSize)
	check(c.MaxBodyBytes >= 1024 && c.MaxBodyBytes <= 1<<30, "max_body_bytes %d must be between 1 KiB and 1 GiB", c.MaxBodyBytes)
	check(c.MaxFiles >= 1 && c.MaxFiles <= 10000, "max_files %d must be between 1 and 10000", c.MaxFiles)
	check(c.ShutdownGrace.Duration >= 0, "shutdown_grace must not be negative")
	check(c.CPUs >= 0.01 && c.CPUs <= 1024, "cpus %g must be between 0.01 and 1024", c.CPUs)
	check(c.History.MaxRows >= 0 && c.History.OutputBytes >= 0, "history max_rows and output_bytes must not be negative")
	check(c.Policy == "" || filepath.IsAbs(c.Policy), "policy %q must be an absolute path", c.Policy)
	check(c.Pool.Size >= 0 && c.Pool.Size <= 256 && c.Pool.MaxSize <= 1024, "pool size %d / max_size %d out of range", c.Pool.Size, c.Pool.MaxSize)
	check(c.Pool.MemoryBudget >= 0 && c.Pool.Builders >= 0 && c.Pool.Builders <= 64, "pool memory_budget_bytes and builders must not be negative (builders ≤ 64)")
	if c.ListenTCP != "" {
		errs = append(errs, checkLoopback(c.ListenTCP))
	}
	for _, f := range limitFields(&c.DefaultLimits, &c.MaxLimits) {
		check(*f.max > 0, "max_limits.%s must be set and positive", f.name)
		check(*f.def > 0, "default_limits.%s must be set and positive", f.name)
		check(*f.def <= *f.max, "default_limits.%s (%d) exceeds max_limits.%s (%d)", f.name, *f.def, f.name, *f.max)
	}
	// Positive is not enough: the defaults must be limits a jail can start
	// with, or every request that omits one is refused (found by fuzzing).
	if len(errs) == 0 {
		if _, _, err := effectiveLimits(nil, c.DefaultLimits, c.MaxLimits, c.CPUs); err != nil {
			errs = append(errs, fmt.Errorf("default_limits: %v", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("invalid config: %w", err)
	}
	return nil
}

// checkLoopback refuses TCP addresses that are not on loopback: the API
// runs code for whoever reaches it.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen_tcp %q: %w", addr, err)
	}
	ip := net.ParseIP(host)
	if host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("listen_tcp %q is not a loopback address (127.0.0.0/8, ::1 or localhost)", addr)
}

type limitField struct {
	name     string
	def, max *int64
}

// limitFields pairs each limit's default and maximum by name.
func limitFields(def, max *api.Limits) []limitField {
	return []limitField{
		{"wall_ms", &def.WallMS, &max.WallMS},
		{"cpu_ms", &def.CPUMS, &max.CPUMS},
		{"memory_bytes", &def.MemoryBytes, &max.MemoryBytes},
		{"pids", &def.Pids, &max.Pids},
		{"output_bytes", &def.OutputBytes, &max.OutputBytes},
		{"tmp_bytes", &def.TmpBytes, &max.TmpBytes},
	}
}
