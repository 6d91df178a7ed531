package policy

import (
	"errors"
	"fmt"
	"os/user"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/jaild/jaild/jail"
)

// ErrDenied means the policy does not grant what was asked; the message
// says why. The daemon answers 403 policy_denied.
var ErrDenied = errors.New("policy denied")

// Rule grants callers matching one selector the use of some profiles.
type Rule struct {
	Index int // 0-based position among the [[rule]] tables
	Line  int
	// Exactly one selector is set: UID or GID (>= 0 once resolved; a user
	// or group that does not exist leaves them -1 and matches nobody),
	// User/Group (the names as written), or TCP.
	UID, GID    int64
	User, Group string
	TCP         bool
	// Profiles the caller may use; "*" is every profile.
	Profiles []string
	// MaxConcurrent caps the caller's runs in flight (queued or running)
	// at once; 0 means no per-caller cap beyond the daemon's.
	MaxConcurrent int

	byUID bool // the selector is uid or user
}

// Caller identifies who is asking. TCP callers carry no credentials.
type Caller struct {
	UID, GID uint32
	TCP      bool
}

// Key is the identity the per-caller quota is counted under.
func (c Caller) Key() string {
	if c.TCP {
		return "tcp"
	}
	return "uid:" + strconv.FormatUint(uint64(c.UID), 10)
}

func (c Caller) String() string {
	if c.TCP {
		return "caller on the TCP listener"
	}
	return fmt.Sprintf("uid %d (gid %d)", c.UID, c.GID)
}

// Grant is what the policy allows one caller.
type Grant struct {
	Profiles []string // sorted profile names
	// MaxConcurrent is the largest cap among the matching rules; 0 when
	// any matching rule sets none.
	MaxConcurrent int
}

// matches reports whether r selects c. Root is matched only by a rule
// that names it (uid = 0, user = "root", or a gid/group root is in):
// being root grants nothing by itself.
func (r *Rule) matches(c Caller, memberOf func(uid, gid uint32) bool) bool {
	switch {
	case r.TCP:
		return c.TCP
	case c.TCP:
		return false
	case r.byUID:
		return r.UID >= 0 && uint32(r.UID) == c.UID
	default:
		return r.GID >= 0 && (uint32(r.GID) == c.GID || memberOf(c.UID, uint32(r.GID)))
	}
}

// Authorize returns what c may use, or ErrDenied when no rule matches.
func (p *Policy) Authorize(c Caller) (Grant, error) {
	var g Grant
	set := map[string]bool{}
	unlimited, matched := false, false
	for _, r := range p.Rules {
		if !r.matches(c, p.memberOf) {
			continue
		}
		matched = true
		for _, name := range r.Profiles {
			if name == "*" {
				for n := range p.Profiles {
					set[n] = true
				}
				continue
			}
			set[name] = true
		}
		if r.MaxConcurrent == 0 {
			unlimited = true
		}
		g.MaxConcurrent = max(g.MaxConcurrent, r.MaxConcurrent)
	}
	if !matched {
		return Grant{}, fmt.Errorf("%w: no rule of the policy allows %s", ErrDenied, c)
	}
	if unlimited {
		g.MaxConcurrent = 0
	}
	for n := range set {
		g.Profiles = append(g.Profiles, n)
	}
	sort.Strings(g.Profiles)
	return g, nil
}

// Select picks the profile of a request. name is the request's profile
// ("" to choose by language); language may be "" when name is given.
// Without a name the profile named like the language is used when the
// caller may use it, else the only one of that language the caller may
// use.
func (p *Policy) Select(g Grant, language jail.Language, name string) (*Profile, error) {
	if name != "" {
		prof, ok := p.Profiles[name]
		if !ok || !slices.Contains(g.Profiles, name) {
			// The same answer whether the profile exists or not: callers
			// learn nothing about profiles they may not use.
			return nil, fmt.Errorf("%w: profile %q is not granted to this caller (granted: %s)",
				ErrDenied, name, strings.Join(g.Profiles, ", "))
		}
		if language != "" && prof.Language != language {
			return nil, fmt.Errorf("%w: profile %q runs %s, not %s", ErrLanguageMismatch, name, prof.Language, language)
		}
		return prof, nil
	}
	if prof, ok := p.Profiles[string(language)]; ok && slices.Contains(g.Profiles, prof.Name) {
		return prof, nil
	}
	var same []*Profile
	for _, n := range g.Profiles {
		if prof := p.Profiles[n]; prof != nil && prof.Language == language {
			same = append(same, prof)
		}
	}
	if len(same) == 1 {
		return same[0], nil
	}
	if len(same) == 0 {
		return nil, fmt.Errorf("%w: no %s profile is granted to this caller", ErrDenied, language)
	}
	names := make([]string, len(same))
	for i, s := range same {
		names[i] = s.Name
	}
	return nil, fmt.Errorf("%w: several %s profiles are granted (%s) and none is named %q: set \"profile\"",
		ErrDenied, language, strings.Join(names, ", "), language)
}

// ErrLanguageMismatch is a request naming a profile of another language.
var ErrLanguageMismatch = errors.New("profile language mismatch")

// EnvAllowed reports whether a request may set variable name.
func (p *Profile) EnvAllowed(name string) bool {
	for _, pat := range p.Env {
		if ok, _ := path.Match(pat, name); ok {
			return true
		}
	}
	return false
}

type limitPair struct {
	name     string
	def, max *int64
}

func (p *Profile) limitPairs() []limitPair { return LimitPairs(&p.DefaultLimits, &p.MaxLimits) }

// LimitPairs pairs the fields of two Limits by their API name.
func LimitPairs(def, max *Limits) []limitPair {
	return []limitPair{
		{"wall_ms", &def.WallMS, &max.WallMS},
		{"cpu_ms", &def.CPUMS, &max.CPUMS},
		{"memory_bytes", &def.MemoryBytes, &max.MemoryBytes},
		{"pids", &def.Pids, &max.Pids},
		{"output_bytes", &def.OutputBytes, &max.OutputBytes},
		{"tmp_bytes", &def.TmpBytes, &max.TmpBytes},
	}
}

// Inherit fills every profile's unset limits from the daemon's defaults
// and maximums, and refuses a profile whose maximum exceeds the daemon's
// (the daemon's max_limits are the host's ceiling; profiles narrow it).
func (p *Policy) Inherit(def, ceiling Limits) error {
	var errs []string
	for _, name := range p.ProfileNames() {
		prof := p.Profiles[name]
		cd, cm := def, ceiling
		base := LimitPairs(&cd, &cm)
		for i, f := range prof.limitPairs() {
			if *f.max == 0 {
				*f.max = *base[i].max
			}
			if *f.def == 0 {
				*f.def = min(*base[i].def, *f.max)
			}
			if *f.max > *base[i].max {
				errs = append(errs, fmt.Sprintf("profile %s: max_limits.%s %d exceeds the daemon's max_limits.%s %d",
					name, f.name, *f.max, f.name, *base[i].max))
			}
			if *f.def > *f.max {
				errs = append(errs, fmt.Sprintf("profile %s: default_limits.%s %d exceeds its max_limits.%s %d",
					name, f.name, *f.def, f.name, *f.max))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %s:\n  %s", ErrInvalid, p.Source, strings.Join(errs, "\n  "))
	}
	return nil
}

// Clone returns a copy whose profiles Inherit can fill without touching
// p: the daemon keeps the policy as loaded and fills a clone from the
// config in force, again on every config reload. The slices and the
// filter are shared; nothing writes them after Load.
func (p *Policy) Clone() *Policy {
	c := *p
	c.Profiles = make(map[string]*Profile, len(p.Profiles))
	for name, prof := range p.Profiles {
		cp := *prof
		c.Profiles[name] = &cp
	}
	return &c
}

// ProfileNames returns the profile names, sorted.
func (p *Policy) ProfileNames() []string {
	names := make([]string, 0, len(p.Profiles))
	for n := range p.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// memberOf reports whether uid's account lists gid among its groups
// (primary or supplementary, from the host's user database).
func memberOf(uid, gid uint32) bool {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return false
	}
	gids, err := u.GroupIds()
	return err == nil && slices.Contains(gids, strconv.FormatUint(uint64(gid), 10))
}
