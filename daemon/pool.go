package daemon

import (
	"sort"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/jail"
)

// poolStatser is a runner with a warm pool (container.Pool).
type poolStatser interface {
	Stats() jail.PoolStats
}

// PoolSpec is what a warm pool keeps parked jails for: the spec of a
// request with no limits, env or args of its own under one profile.
type PoolSpec struct {
	Language jail.Language
	Profile  string
	Spec     jail.Spec
}

// PoolSpecs maps every profile of the current policy whose rootfs is
// present onto a pool template. They are built by the same validateRun
// and jobSpec as requests, so a request under a profile with its default
// limits lands on its profile's pool key.
func (s *Server) PoolSpecs() []PoolSpec {
	ap := s.pol.Load()
	cfg := s.config()
	var out []PoolSpec
	for _, name := range ap.p.ProfileNames() {
		prof := ap.p.Profiles[name]
		img, ok := ap.images[name]
		if !ok {
			continue
		}
		j, err := validateRun(&api.RunRequest{Language: string(prof.Language), Code: "pass"}, cfg, prof)
		if err != nil {
			s.log.Warn("no warm pool for profile", "profile", name, "err", err)
			continue
		}
		spec, err := jobSpec(j, img, prof)
		if err != nil {
			s.log.Warn("no warm pool for profile", "profile", name, "err", err)
			continue
		}
		spec.Files = nil
		out = append(out, PoolSpec{Language: prof.Language, Profile: name, Spec: spec})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Profile < out[b].Profile })
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
