package rootfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"syscall"
	"time"
)

// Debian's python3 packages ship no bytecode: their postinst runs
// py3compile. Build runs no maintainer script, and a jail's rootfs is
// read-only, so without this step every module a script imports outside
// the interpreter's frozen start-up set would be compiled from source on
// every run and thrown away (measured: `import json,re,collections,typing`
// 132 ms from a read-only tree without bytecode, 53 ms with it, 58 ms on
// the host).
//
// precompilePython byte-compiles every /usr/lib/python3* directory with
// the tree's own interpreter, chrooted into the tree. The .pyc files are
// hash-based and checked (PEP 552): the interpreter compares each with its
// source's hash instead of an mtime, so they stay valid whatever the
// extracted times are (the digest ignores times), and a source that
// differs from its .pyc is recompiled rather than trusted. One process,
// sorted order and PYTHONHASHSEED=0 make the output byte-identical from
// build to build (TestBuildPython rebuilds and compares digests).
//
// The interpreter is Debian's, from packages apt verified; it runs as root
// (it has to write into the root-owned tree) but with no network and in
// its own PID, IPC, UTS and mount namespaces, and compileall only compiles:
// it never imports what it compiles.
func precompilePython(ctx context.Context, log *slog.Logger, root, interp string) error {
	dirs, err := filepath.Glob(filepath.Join(root, "usr/lib/python3*"))
	if err != nil {
		return err
	}
	var args []string
	for _, d := range dirs {
		if info, err := os.Lstat(d); err == nil && info.IsDir() {
			args = append(args, "/usr/lib/"+filepath.Base(d))
		}
	}
	if len(args) == 0 {
		log.Warn("no /usr/lib/python3* directory to byte-compile")
		return nil
	}
	sort.Strings(args)
	if os.Geteuid() != 0 {
		log.Warn("not byte-compiling the standard library: chroot needs root; imports will compile from source on every run")
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// -B: the modules compileall itself imports must not get timestamp
	// .pycs first (compileall would then skip them); -f rewrites any .pyc
	// a package shipped. Not -I or -E: they would ignore PYTHONHASHSEED;
	// the environment is this one and no other, and -s drops user sites.
	argv := append([]string{"-s", "-B", "-m", "compileall", "-q", "-f", "-j", "1",
		"--invalidation-mode", "checked-hash"}, args...)
	// interp is absolute, so it is not looked up on the host: the kernel
	// resolves it after the chroot.
	cmd := exec.CommandContext(ctx, interp, argv...)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "PYTHONHASHSEED=0", "LC_ALL=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Chroot: root,
		Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC |
			syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS,
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	if exit := (*exec.ExitError)(nil); errors.As(err, &exit) && exit.ExitCode() == 1 {
		// compileall's "some file did not compile" (a module with a syntax
		// error, e.g. Python 2 code in a package): the rest is compiled and
		// those modules compile at import, as they would have anyway.
		log.Warn("some modules were not byte-compiled", "output", tail(out.String(), 2000))
		return nil
	}
	if err != nil {
		return fmt.Errorf("byte-compile %v with %s: %w: %s", args, interp, err, tail(out.String(), 2000))
	}
	log.Debug("byte-compiled python modules", "dirs", args, "seconds", time.Since(start).Seconds())
	return nil
}
