package jail

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"strings"
)

// PoolKey says which parked (pre-built, interpreter already started) jails
// can serve a Spec: everything fixed when a jail is built must be equal.
// A policy profile maps onto it through the Spec it produces. Wall and
// Output are enforced by the supervisor from hand-over and are not part
// of it; neither are the request's own environment variables, which the
// loader sets (see StartupEnv).
type PoolKey struct {
	Language    Language
	Rootfs      string // digest
	RootfsPath  string
	Interpreter string
	Flags       string // interpreter options, NUL-separated
	Env         string // StartupEnv of the spec, NUL-separated
	Seccomp     string // SHA-256 of the profile's JSON
	Hostname    string
	Memory      int64
	Pids        int64
	Tmp         int64
	CPUs        float64
	OpenFiles   uint64
	CPUSeconds  int64 // RLIMIT_CPU is set from this at start
}

// NewPoolKey computes the key of a spec whose program is interpreter,
// options and script (flags are what lies between argv[0] and the script).
func NewPoolKey(lang Language, spec *Spec, flags []string) PoolKey {
	sc, _ := json.Marshal(spec.Seccomp)
	sum := sha256.Sum256(sc)
	l := spec.Limits
	return PoolKey{
		Language: lang, Rootfs: spec.Rootfs.Digest, RootfsPath: spec.Rootfs.Path,
		Interpreter: spec.Argv[0], Flags: strings.Join(flags, "\x00"),
		Env: strings.Join(StartupEnv(spec.Env), "\x00"), Seccomp: hex.EncodeToString(sum[:]),
		Hostname: spec.Hostname, Memory: l.Memory, Pids: l.Pids, Tmp: l.Tmp, CPUs: l.CPUs,
		OpenFiles: l.OpenFiles, CPUSeconds: int64(math.Ceil(l.CPUTime.Seconds())),
	}
}

// startupPrefixes name variables an interpreter, libc or the dynamic
// linker reads while starting, before a loader could set them: a parked
// jail starts with exactly these, so requests that differ in them are
// different keys. Every other variable is read lazily and is set by the
// loader at hand-over.
var startupPrefixes = []string{"LANG=", "LANGUAGE=", "LC_", "TZ=", "PYTHON", "NODE_", "UV_",
	"OPENSSL_", "SSL_", "LD_", "MALLOC_", "GLIBC_", "GCONV_", "LOCPATH=", "NLSPATH="}

// StartupEnv returns the entries of env a process reads at start-up.
func StartupEnv(env []string) []string {
	var out []string
	for _, e := range env {
		for _, p := range startupPrefixes {
			if strings.HasPrefix(e, p) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// ZygoteStats is a snapshot of a runner's zygotes (one long-lived python
// per key that forks a single-use jail per run), for /v1/info and /metrics.
type ZygoteStats struct {
	Zygotes     int    // running now
	Runs        uint64 // runs served by a zygote's child
	Fallbacks   uint64 // runs of a zygote key that went to the fallback runner
	Ineligible  uint64 // runs no zygote key matches
	Starts      uint64 // zygotes started
	StartErrors uint64
}

// PoolStats is a snapshot of a warm pool, for /v1/info and /metrics.
type PoolStats struct {
	Parked       int    // jails parked now, all keys
	MemoryBytes  int64  // cgroup memory charged to parked jails now
	BudgetBytes  int64  // what parked jails may use together
	Hits         uint64 // runs served by a parked jail
	Misses       uint64 // runs of a pooled key that found none parked
	Ineligible   uint64 // runs no pool key matches (other limits, options …)
	Refills      uint64 // parked jails built
	RefillErrors uint64
	Keys         []PoolKeyStats
}

// PoolKeyStats describes one key of a pool.
type PoolKeyStats struct {
	Language      Language
	Rootfs        string
	Profiles      []string // what the key is kept for (policy profiles), sorted
	Parked        int
	Target        int // parked jails wanted now (adapts to demand)
	Hits, Misses  uint64
	RefillLastMS  float64 // build time of the latest parked jail
	RefillMeanMS  float64
	JailBytesMean int64 // mean cgroup memory of one parked jail
}
