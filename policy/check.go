package policy

import (
	"fmt"
	"os/user"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/jaild/jaild/jail"
)

// checker runs the policy's checks, one small function per concern, and
// collects every failure with its line (like runc's validator).
type checker struct {
	loc      locator
	errs     []string
	warnings []string
}

func (c *checker) fail(line int, format string, args ...any) {
	c.errs = append(c.errs, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

func (c *checker) warn(line int, format string, args ...any) {
	c.warnings = append(c.warnings, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

// Compiled on first use, not at package init: a counted repetition such
// as {0,127} compiles to hundreds of instructions (0.15–0.5 ms each here),
// and package init runs in every process of the jaild binary, each jail's
// init (runc re-executes the binary) included.
var (
	profileName = lazyRegexp(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	rootfsRef   = lazyRegexp(`^[a-z0-9][a-z0-9_.-]{0,62}(@sha256:[0-9a-f]{64})?$`)
	envPattern  = lazyRegexp(`^[A-Za-z_*?][A-Za-z0-9_*?]{0,127}$`)
	moduleName  = lazyRegexp(`^[A-Za-z_@][A-Za-z0-9_./@:-]{0,127}$`)
)

func lazyRegexp(pattern string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(pattern) })
}

func (c *checker) profile(name string, pf profileFile) *Profile {
	at := func(key string) int { return c.loc.at("profile." + name + "." + key) }
	head := c.loc.at("profile." + name)
	if !profileName().MatchString(name) {
		c.fail(head, "profile name %q: want lower-case letters, digits, - and _", name)
	}
	p := &Profile{Name: name, Language: jail.Language(pf.Language), Rootfs: pf.Rootfs, Env: pf.Env,
		Seccomp: pf.Seccomp, AllowDangerousSyscalls: pf.AllowDangerousSyscalls,
		DefaultLimits: pf.DefaultLimits, MaxLimits: pf.MaxLimits, Validation: pf.Validation}
	if !p.Language.Valid() {
		c.fail(at("language"), "profile %s: language %q: want python or node", name, pf.Language)
		return nil
	}
	if p.Rootfs == "" {
		p.Rootfs = string(p.Language)
	}
	if !rootfsRef().MatchString(p.Rootfs) {
		c.fail(at("rootfs"), "profile %s: rootfs %q: want a name, optionally pinned as NAME@sha256:<64 hex digits>", name, p.Rootfs)
	}
	c.envs(name, p.Env, at("env"))
	c.limits(name, p, at)
	c.validation(name, &p.Validation, at)
	c.seccomp(name, p, at)
	return p
}

func (c *checker) envs(profile string, env []string, line int) {
	for _, e := range env {
		_, err := path.Match(e, "")
		if !envPattern().MatchString(e) || err != nil {
			c.fail(line, "profile %s: env %q: want a variable name or a pattern with * and ?", profile, e)
		}
	}
}

func (c *checker) limits(profile string, p *Profile, at func(string) int) {
	for _, f := range p.limitPairs() {
		if *f.def < 0 {
			c.fail(at("default_limits."+f.name), "profile %s: default_limits.%s must not be negative", profile, f.name)
		}
		if *f.max < 0 {
			c.fail(at("max_limits."+f.name), "profile %s: max_limits.%s must not be negative", profile, f.name)
		}
		if *f.def > 0 && *f.max > 0 && *f.def > *f.max {
			c.fail(at("default_limits."+f.name), "profile %s: default_limits.%s (%d) exceeds max_limits.%s (%d)",
				profile, f.name, *f.def, f.name, *f.max)
		}
	}
}

func (c *checker) validation(profile string, v *Validation, at func(string) int) {
	if v.Mode == "" {
		v.Mode = ModeOff
	}
	if v.Mode != ModeOff && v.Mode != ModeReport && v.Mode != ModeEnforce {
		c.fail(at("validation.mode"), "profile %s: validation.mode %q: want off, report or enforce", profile, v.Mode)
	}
	for _, list := range []struct {
		key   string
		names []string
	}{{"allow_imports", v.AllowImports}, {"deny_imports", v.DenyImports}} {
		for _, m := range list.names {
			if !moduleName().MatchString(m) {
				c.fail(at("validation."+list.key), "profile %s: validation.%s: %q is not a module name", profile, list.key, m)
			}
		}
	}
	for _, m := range v.DenyImports {
		if slices.Contains(v.AllowImports, m) {
			c.fail(at("validation.deny_imports"), "profile %s: module %q is both allowed and denied", profile, m)
		}
	}
}

func (c *checker) seccomp(profile string, p *Profile, at func(string) int) {
	if p.Seccomp == "" {
		p.Seccomp = string(p.Language)
	}
	line := at("seccomp")
	for _, s := range p.AllowDangerousSyscalls {
		if !slices.Contains(DangerousSyscalls, s) {
			c.fail(at("allow_dangerous_syscalls"), "profile %s: allow_dangerous_syscalls: %q is not one of the dangerous syscalls (%s)",
				profile, s, strings.Join(DangerousSyscalls, ", "))
		}
	}
	var err error
	switch {
	case filepath.IsAbs(p.Seccomp):
		p.Filter, err = LoadSeccompFile(p.Seccomp)
	case slices.Contains(BuiltinSeccompNames(), p.Seccomp):
		p.Filter, err = BuiltinSeccomp(p.Seccomp)
	default:
		c.fail(line, "profile %s: seccomp %q: want a built-in profile (%s) or an absolute path to an OCI seccomp JSON file",
			profile, p.Seccomp, strings.Join(BuiltinSeccompNames(), ", "))
		return
	}
	if err != nil {
		c.fail(line, "profile %s: seccomp %s: %v", profile, p.Seccomp, err)
		return
	}
	for _, problem := range CheckSeccomp(p.Filter, p.AllowDangerousSyscalls) {
		c.fail(line, "profile %s: seccomp %s: %s", profile, p.Seccomp, problem)
	}
}

func (c *checker) rule(i int, rf ruleFile, profiles map[string]*Profile) *Rule {
	key := "rule[" + strconv.Itoa(i) + "]"
	at := func(k string) int { return c.loc.at(key + "." + k) }
	head := c.loc.at(key)
	r := &Rule{Index: i, Line: head, Profiles: rf.Profiles, MaxConcurrent: rf.MaxConcurrent, TCP: rf.TCP,
		UID: -1, GID: -1, User: rf.User, Group: rf.Group, byUID: rf.UID != nil || rf.User != ""}
	selectors := 0
	for _, set := range []bool{rf.UID != nil, rf.GID != nil, rf.User != "", rf.Group != "", rf.TCP} {
		if set {
			selectors++
		}
	}
	if selectors != 1 {
		c.fail(head, "rule %d: give exactly one of uid, gid, user, group or tcp = true (got %d)", i+1, selectors)
		return nil
	}
	switch {
	case rf.UID != nil:
		if *rf.UID < 0 || *rf.UID > 1<<32-2 {
			c.fail(at("uid"), "rule %d: uid %d out of range", i+1, *rf.UID)
		}
		r.UID = *rf.UID
	case rf.GID != nil:
		if *rf.GID < 0 || *rf.GID > 1<<32-2 {
			c.fail(at("gid"), "rule %d: gid %d out of range", i+1, *rf.GID)
		}
		r.GID = *rf.GID
	case rf.User != "":
		if u, err := user.Lookup(rf.User); err == nil {
			r.UID, _ = strconv.ParseInt(u.Uid, 10, 64)
		} else {
			c.warn(at("user"), "rule %d: user %q does not exist on this host: the rule matches nobody", i+1, rf.User)
		}
	case rf.Group != "":
		if g, err := user.LookupGroup(rf.Group); err == nil {
			r.GID, _ = strconv.ParseInt(g.Gid, 10, 64)
		} else {
			c.warn(at("group"), "rule %d: group %q does not exist on this host: the rule matches nobody", i+1, rf.Group)
		}
	}
	if len(rf.Profiles) == 0 {
		c.fail(at("profiles"), "rule %d: profiles is empty: list profile names or \"*\"", i+1)
	}
	for _, name := range rf.Profiles {
		if _, ok := profiles[name]; !ok && name != "*" {
			c.fail(at("profiles"), "rule %d: no profile named %q", i+1, name)
		}
	}
	if rf.MaxConcurrent < 0 {
		c.fail(at("max_concurrent"), "rule %d: max_concurrent must not be negative (0 means no per-caller limit)", i+1)
	}
	return r
}
