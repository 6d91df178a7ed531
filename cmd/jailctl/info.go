package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

func cmdInfo(c *cli, args []string) (int, error) {
	fs := c.flagSet("info", "[flags]\n\nPrints the daemon's version, languages, limits and load.")
	asJSON := fs.Bool("json", false, "print the info as JSON")
	if err := c.parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, usagef("unexpected argument %q: info takes only flags", fs.Arg(0))
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	info, err := cl.Info(c.ctx)
	if err != nil {
		return 0, err
	}
	if *asJSON {
		return 0, writeJSON(c.stdout, info)
	}
	langs := make([]string, 0, len(info.Languages))
	for _, l := range info.Languages {
		langs = append(langs, fmt.Sprintf("%s (%s)", l.Name, l.Rootfs))
	}
	seccomp := "off"
	if info.Seccomp {
		seccomp = "on"
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "version\t%s\n", info.Version)
	fmt.Fprintf(tw, "languages\t%s\n", strings.Join(langs, ", "))
	fmt.Fprintf(tw, "cgroup\t%s\n", info.CgroupVersion)
	fmt.Fprintf(tw, "seccomp\t%s\n", seccomp)
	fmt.Fprintf(tw, "load\t%d running of %d, %d queued of %d\n", info.Running, info.MaxConcurrent, info.Queued, info.QueueSize)
	fmt.Fprintf(tw, "default limits\t%s\n", formatLimits(info.DefaultLimits))
	fmt.Fprintf(tw, "max limits\t%s\n", formatLimits(info.MaxLimits))
	if info.PolicyDigest != "" {
		fmt.Fprintf(tw, "policy\t%s\n", info.PolicyDigest)
	}
	for _, p := range info.Profiles {
		fmt.Fprintf(tw, "profile %s\t%s, rootfs %s, checks %s, max %s\n", p.Name, p.Language, p.Rootfs, p.Validation, formatLimits(p.MaxLimits))
	}
	return 0, tw.Flush()
}

// cmdHealth prints the daemon's health and exits 0 when it can run jails,
// 1 when it cannot, so that it can serve as a probe.
func cmdHealth(c *cli, args []string) (int, error) {
	fs := c.flagSet("health", "[flags]\n\nPrints whether the daemon can run jails; exits 1 when it cannot.")
	if err := c.parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() > 0 {
		return 0, usagef("unexpected argument %q: health takes only flags", fs.Arg(0))
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	h, err := cl.Health(c.ctx)
	if h == nil {
		return 0, err
	}
	status := h.Status
	if h.Reason != "" {
		status += ": " + h.Reason
	}
	fmt.Fprintf(c.stdout, "status   %s\n", status)
	if h.History != "" {
		fmt.Fprintf(c.stdout, "history  %s\n", h.History)
	}
	if err != nil || h.Status != "ok" {
		return 1, nil
	}
	return 0, nil
}
