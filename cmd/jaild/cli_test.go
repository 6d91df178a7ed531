package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jaild/jaild/jail"
)

func TestCLI(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		output []string // each must appear in stdout+stderr
	}{
		{"help", []string{"--help"}, 0, []string{"jaild [serve]", "--socket PATH", "--state-dir DIR", "--config FILE",
			"--listen-tcp ADDR", "jaild run", "jaild rootfs build", "jaild rootfs import", "jaild rootfs ls", "jaild reap"}},
		{"serve flags", []string{"serve", "-h"}, 0, []string{"-socket", "-state-dir", "-config", "-listen-tcp", "-cgroup-parent"}},
		{"unknown command", []string{"bogus"}, 2, []string{`unknown command "bogus"`}},
		{"serve extra argument", []string{"serve", "extra"}, 2, []string{`unexpected argument "extra"`}},
		{"non-loopback tcp", []string{"serve", "--listen-tcp", "0.0.0.0:7070", "--state-dir", dir,
			"--socket", filepath.Join(dir, "s.sock")}, 1, []string{"not a loopback address"}},
		{"missing config", []string{"serve", "--config", filepath.Join(dir, "none.toml")}, 1, []string{"none.toml"}},
		{"run without file", []string{"run", "--state-dir", dir}, 2, []string{"want FILE"}},
		{"run unknown language", []string{"run", "-l", "ruby", "--state-dir", dir, "x.rb"}, 2, []string{"unknown language"}},
		{"bad log level", []string{"rootfs", "ls", "--log-level", "loud", "--state-dir", dir}, 2, []string{"bad --log-level"}},
		{"rootfs usage", []string{"rootfs", "frobnicate"}, 2, []string{"usage: jaild rootfs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, &out, &errb)
			all := out.String() + errb.String()
			if code != tc.code {
				t.Errorf("jaild %v = exit %d, want %d\n%s", tc.args, code, tc.code, all)
			}
			for _, w := range tc.output {
				if !strings.Contains(all, w) {
					t.Errorf("jaild %v output lacks %q:\n%s", tc.args, w, all)
				}
			}
		})
	}
}

func TestRunExitCode(t *testing.T) {
	for _, tc := range []struct {
		res  jail.Result
		want int
	}{
		{jail.Result{Status: jail.StatusOK}, 0},
		{jail.Result{Status: jail.StatusExitNonzero, ExitCode: 3}, 3},
		{jail.Result{Status: jail.StatusTimeout}, 124},
		{jail.Result{Status: jail.StatusCPULimit}, 124},
		{jail.Result{Status: jail.StatusOOM}, 137},
		{jail.Result{Status: jail.StatusSignaled, Signal: "SIGSEGV"}, 139},
		{jail.Result{Status: jail.StatusSignaled, Signal: "SIGSYS"}, 159},
		{jail.Result{Status: jail.StatusInternalError}, 125},
	} {
		if got := exitCode(tc.res); got != tc.want {
			t.Errorf("exitCode(%s %s) = %d, want %d", tc.res.Status, tc.res.Signal, got, tc.want)
		}
	}
}
