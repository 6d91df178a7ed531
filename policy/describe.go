package policy

import (
	"fmt"
	"strings"
)

// Describe prints the effective policy: every profile with its limits,
// filter and checks, then the rules, in the order they are applied.
func (p *Policy) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "policy %s\ndigest %s\n", p.Source, p.Digest)
	for _, name := range p.ProfileNames() {
		prof := p.Profiles[name]
		fmt.Fprintf(&b, "\nprofile %s\n  language   %s\n  rootfs     %s\n", name, prof.Language, prof.Rootfs)
		fmt.Fprintf(&b, "  limits     %s\n", limitsLine(prof.DefaultLimits, prof.MaxLimits))
		env := strings.Join(prof.Env, " ")
		if env == "" {
			env = "(none)"
		}
		fmt.Fprintf(&b, "  env        %s\n", env)
		fmt.Fprintf(&b, "  seccomp    %s: %s\n", prof.Seccomp, describe(prof.Filter))
		if len(prof.AllowDangerousSyscalls) > 0 {
			fmt.Fprintf(&b, "  dangerous  %s (explicitly allowed)\n", strings.Join(prof.AllowDangerousSyscalls, " "))
		}
		v := prof.Validation
		fmt.Fprintf(&b, "  validation %s", v.Mode)
		if len(v.AllowImports) > 0 {
			fmt.Fprintf(&b, "; allow %s", strings.Join(v.AllowImports, " "))
		}
		if len(v.DenyImports) > 0 {
			fmt.Fprintf(&b, "; deny %s", strings.Join(v.DenyImports, " "))
		}
		b.WriteString("\n")
	}
	b.WriteString("\nrules\n")
	for _, r := range p.Rules {
		who := ""
		switch {
		case r.TCP:
			who = "tcp listener"
		case r.User != "":
			who = fmt.Sprintf("user %s (uid %d)", r.User, r.UID)
		case r.Group != "":
			who = fmt.Sprintf("group %s (gid %d)", r.Group, r.GID)
		case r.byUID:
			who = fmt.Sprintf("uid %d", r.UID)
		default:
			who = fmt.Sprintf("gid %d", r.GID)
		}
		if r.UID == -1 && r.GID == -1 && !r.TCP {
			who += " — matches nobody on this host"
		}
		quota := "no per-caller cap"
		if r.MaxConcurrent > 0 {
			quota = fmt.Sprintf("max_concurrent %d", r.MaxConcurrent)
		}
		fmt.Fprintf(&b, "  line %-4d %s → %s; %s\n", r.Line, who, strings.Join(r.Profiles, " "), quota)
	}
	return b.String()
}

func limitsLine(def, max Limits) string {
	var parts []string
	for _, f := range LimitPairs(&def, &max) {
		parts = append(parts, fmt.Sprintf("%s %d/%d", f.name, *f.def, *f.max))
	}
	return strings.Join(parts, ", ") + " (default/max)"
}
