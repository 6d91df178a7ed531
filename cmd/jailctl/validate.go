package main

import (
	"fmt"
	"io"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/daemon/client"
)

// printFindings lists the findings of a run refused with 422.
func printFindings(w io.Writer, err error) {
	for _, fd := range client.Findings(err) {
		fmt.Fprintf(w, "%s:%d:%d: %s: %s\n", fd.File, fd.Line, fd.Column, fd.Rule, fd.Message)
	}
}

// cmdValidate prints the static-check findings of FILE, one per line as
// FILE:LINE:COLUMN: RULE: MESSAGE (the form editors jump to), and exits 1
// when there are any.
func cmdValidate(c *cli, args []string) (int, error) {
	fs := c.flagSet("validate", "[flags] FILE|-\n\nRuns the policy profile's static checks on FILE without running it.")
	var f runFlags
	fs.StringVar(&f.lang, "l", "", "`language`: python or node (default: from FILE's extension)")
	fs.StringVar(&f.profile, "profile", "", "policy `profile` whose checks apply (default: the one named like the language)")
	asJSON := fs.Bool("json", false, "print the whole answer as JSON")
	if err := c.parse(fs, args); err != nil {
		return 0, err
	}
	if fs.NArg() != 1 {
		return 0, usagef("want exactly one FILE or -")
	}
	req, err := f.request(c.ctx, fs.Arg(0), nil, c.stdin)
	if err != nil {
		return 0, err
	}
	cl, err := c.client()
	if err != nil {
		return 0, err
	}
	res, err := cl.Validate(c.ctx, api.ValidateRequest{Language: req.Language, Profile: req.Profile,
		Code: req.Code, Files: req.Files, Entrypoint: req.Entrypoint})
	if err != nil {
		return 0, err
	}
	if *asJSON {
		if err := writeJSON(c.stdout, res); err != nil {
			return 0, err
		}
	} else {
		for _, fd := range res.Findings {
			fmt.Fprintf(c.stdout, "%s:%d:%d: %s: %s\n", fd.File, fd.Line, fd.Column, fd.Rule, fd.Message)
		}
		if res.OK {
			fmt.Fprintf(c.stderr, "ok: no findings (profile %s)\n", res.Profile)
		}
	}
	if !res.OK {
		return 1, nil
	}
	return 0, nil
}
