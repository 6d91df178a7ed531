package container

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

// TestTeardownOnEveryPath runs one jail per way a run can end, each on a
// Runner of its own, and checks right after it that nothing of it is left:
// no cgroup in any hierarchy, mount, state or tmpfs dir, process, or host
// uid still allocated.
func TestTeardownOnEveryPath(t *testing.T) {
	t.Parallel()
	testImage(t, jail.Python)
	for _, tc := range []struct {
		name    string
		code    string
		mutate  func(*jail.Spec)
		ctx     time.Duration // cancel after this; 0: never
		status  jail.Status
		wantErr string // substring of the error (internal_error paths)
	}{
		{name: "ok", code: "print(1)", status: jail.StatusOK},
		{name: "exit nonzero", code: "raise SystemExit(3)", status: jail.StatusExitNonzero},
		{name: "signaled", code: "import ctypes; ctypes.string_at(0)", status: jail.StatusSignaled},
		{name: "timeout", code: "import os\nif os.fork() == 0:\n    while True: pass\nwhile True: pass",
			mutate: func(s *jail.Spec) { s.Limits.Wall = 300 * time.Millisecond }, status: jail.StatusTimeout},
		{name: "cpu limit", code: "while True: pass",
			mutate: func(s *jail.Spec) { s.Limits.CPUTime = 200 * time.Millisecond }, status: jail.StatusCPULimit},
		{name: "oom", code: "x = bytearray(1 << 30)", status: jail.StatusOOM},
		{name: "cancelled", code: "import os, time\nos.fork()\ntime.sleep(60)", ctx: 300 * time.Millisecond,
			status: jail.StatusInternalError, wantErr: "cancelled"},
		{name: "setup: files overflow the tmpfs", code: "print(1)", mutate: func(s *jail.Spec) {
			s.Limits.Tmp = 1 << 20
			s.Files = append(s.Files, jail.File{Name: "big.bin", Content: make([]byte, 2<<20)})
		}, status: jail.StatusInternalError, wantErr: "no space"},
		{name: "setup: container create fails", code: "print(1)",
			mutate: func(s *jail.Spec) { s.Rootfs.Path = "/nonexistent-jaild-rootfs" },
			status: jail.StatusInternalError, wantErr: "create container"},
		{name: "setup: rootfs lacks mount points", code: "print(1)",
			mutate: func(s *jail.Spec) { s.Rootfs.Path = t.TempDir() },
			status: jail.StatusInternalError, wantErr: "start jail"},
		{name: "setup: exec fails", code: "print(1)",
			mutate: func(s *jail.Spec) { s.Argv = []string{"/usr/bin/does-not-exist"} },
			status: jail.StatusInternalError, wantErr: "start jail"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			state := t.TempDir()
			cg := fmt.Sprintf("/jaild-test-%d-%s", os.Getpid(), strings.NewReplacer(" ", "-", ":", "").Replace(tc.name))
			r, err := New(Config{StateDir: state, CgroupParent: cg})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close(); _ = removeCgroup(cg) })
			spec := script(t, jail.Python, tc.code)
			if tc.mutate != nil {
				tc.mutate(&spec)
			}
			ctx := context.Background()
			if tc.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.ctx)
				defer cancel()
			}
			res, err := r.Run(ctx, spec)
			wantStatus(t, res, tc.status)
			if tc.wantErr != "" && (err == nil || !strings.Contains(res.Error, tc.wantErr)) {
				t.Errorf("error %v (result error %q), want one containing %q", err, res.Error, tc.wantErr)
			}
			if tc.wantErr == "" && err != nil {
				t.Errorf("Run error %v for a %s result", err, res.Status)
			}
			if leaks := leftoversOf(r, state, cg); len(leaks) > 0 {
				t.Errorf("left behind after a %s run:\n  %s", tc.name, strings.Join(leaks, "\n  "))
			}
		})
	}
}
