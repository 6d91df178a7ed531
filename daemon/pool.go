package daemon

import (
	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
	"github.com/jaild/jaild/policy"
	"github.com/jaild/jaild/rootfs"
)

// poolStatser is a runner with a warm pool (container.Pool).
type poolStatser interface {
	Stats() jail.PoolStats
}

// buildSpec is the one place a validated request becomes a jail.Spec, so
// that the warm pool's templates (PoolSpecs) map onto the same keys as
// the requests they serve.
func buildSpec(j *job, img rootfs.Image) (jail.Spec, error) {
	argv, err := policy.Command(j.language, img.Interpreter, j.entrypoint, j.args)
	if err != nil {
		return jail.Spec{}, err
	}
	return jail.Spec{
		Rootfs:  jail.Rootfs{Name: img.Name, Digest: img.Digest, Path: img.Path},
		Argv:    argv,
		Env:     append(policy.BaseEnv(j.language), j.env...),
		Files:   j.files,
		Stdin:   j.stdin,
		Limits:  j.limits,
		Seccomp: policy.DefaultSeccomp(),
	}, nil
}

// PoolSpecs returns, per language with a rootfs, the spec of a request
// with default limits and no env of its own: what the warm pool keeps
// parked jails for.
func PoolSpecs(cfg *Config, images Images) map[jail.Language]jail.Spec {
	out := map[jail.Language]jail.Spec{}
	lim, _, err := effectiveLimits(nil, cfg)
	if err != nil {
		return out
	}
	for _, l := range jail.Languages {
		img, err := images.Lookup(string(l))
		if err != nil {
			continue
		}
		j := &job{language: l, entrypoint: policy.DefaultEntrypoint(l), limits: lim}
		if spec, err := buildSpec(j, img); err == nil {
			out[l] = spec
		}
	}
	return out
}

func poolInfo(st jail.PoolStats) *api.PoolInfo {
	pi := &api.PoolInfo{Parked: st.Parked, MemoryBytes: st.MemoryBytes, BudgetBytes: st.BudgetBytes,
		Hits: st.Hits, Misses: st.Misses, Ineligible: st.Ineligible, Refills: st.Refills,
		RefillErrors: st.RefillErrors, Keys: []api.PoolKeyInfo{}}
	for _, k := range st.Keys {
		pi.Keys = append(pi.Keys, api.PoolKeyInfo{Language: string(k.Language), Rootfs: k.Rootfs,
			Parked: k.Parked, Target: k.Target, Hits: k.Hits, Misses: k.Misses,
			RefillLastMS: k.RefillLastMS, RefillMeanMS: k.RefillMeanMS, JailBytes: k.JailBytesMean})
	}
	return pi
}
