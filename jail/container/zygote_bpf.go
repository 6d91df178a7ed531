//go:build seccomp

package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// compileBPF compiles a seccomp config to the classic BPF program the
// kernel takes, the way libcontainer's InitSeccomp builds it (same
// actions, operators and multi-argument rule splitting), without loading
// it. A zygote's child loads it itself after the zygote's wider filter:
// stacked filters intersect, so the child ends up with exactly this one.
// Like runc (libcontainer/seccomp/patchbpf), it prepends a stub that
// answers ENOSYS to every native syscall newer than the newest one the
// profile names, so that a program probing for a new syscall falls back
// as it would in a cold jail.
// It also returns the seccomp(2) flags the profile asks for.
func compileBPF(sc *configs.Seccomp) ([]byte, uint32, error) {
	var flags uint32
	for _, f := range sc.Flags {
		switch f {
		case specs.LinuxSeccompFlagLog:
			flags |= unix.SECCOMP_FILTER_FLAG_LOG
		case specs.LinuxSeccompFlagSpecAllow:
			flags |= unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW
		case "SECCOMP_FILTER_FLAG_TSYNC": // one thread: nothing to sync
		default:
			return nil, 0, fmt.Errorf("seccomp flag %s cannot be used by a zygote's child", f)
		}
	}
	prog, err := compileProgram(sc)
	return prog, flags, err
}

func compileProgram(sc *configs.Seccomp) ([]byte, error) {
	def, err := scmpAction(sc.DefaultAction, sc.DefaultErrnoRet)
	if err != nil {
		return nil, err
	}
	f, err := libseccomp.NewFilter(def)
	if err != nil {
		return nil, fmt.Errorf("create seccomp filter: %w", err)
	}
	defer f.Release()
	for _, a := range sc.Architectures {
		arch, err := libseccomp.GetArchFromString(a)
		if err != nil {
			return nil, fmt.Errorf("seccomp architecture %q: %w", a, err)
		}
		if err := f.AddArch(arch); err != nil {
			return nil, fmt.Errorf("add seccomp architecture %q: %w", a, err)
		}
	}
	if len(sc.Syscalls) > 32 {
		_ = f.SetOptimize(2) // as runc: a binary tree where libseccomp has one
	}
	if err := f.SetNoNewPrivsBit(false); err != nil { // the zygote has it set already
		return nil, fmt.Errorf("seccomp no_new_privs bit: %w", err)
	}
	for _, call := range sc.Syscalls {
		if err := addRule(f, call, def); err != nil {
			return nil, err
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create bpf pipe: %w", err)
	}
	defer r.Close()
	type result struct {
		b   []byte
		err error
	}
	got := make(chan result, 1)
	go func() {
		var buf []byte
		b := make([]byte, 64<<10)
		for {
			n, err := r.Read(b)
			buf = append(buf, b[:n]...)
			if err != nil {
				got <- result{buf, nil}
				return
			}
		}
	}()
	eerr := f.ExportBPF(w)
	w.Close()
	res := <-got
	if eerr != nil {
		return nil, fmt.Errorf("export seccomp bpf: %w", eerr)
	}
	if len(res.b) == 0 || len(res.b)%8 != 0 {
		return nil, fmt.Errorf("export seccomp bpf: %d bytes is not a program", len(res.b))
	}
	return enosysStub(sc, res.b)
}

// enosysStub prepends runc's ENOSYS stub for x86_64 (its only native
// architecture here): syscalls above the newest the profile names answer
// ENOSYS, x32 numbers and every other architecture go on to libseccomp's
// program, which starts by loading what it needs.
func enosysStub(sc *configs.Seccomp, prog []byte) ([]byte, error) {
	native, err := libseccomp.GetNativeArch()
	if err != nil || native != libseccomp.ArchAMD64 || sc.DefaultAction == configs.Allow {
		return prog, nil
	}
	for _, a := range sc.Architectures {
		if arch, err := libseccomp.GetArchFromString(a); err != nil || arch != native {
			return prog, nil // runc's multi-architecture stub is not reproduced
		}
	}
	last := -1
	for _, c := range sc.Syscalls {
		if nr, err := libseccomp.GetSyscallFromName(c.Name); err == nil {
			last = max(last, int(nr))
		}
	}
	if last < 0 {
		return prog, nil
	}
	const (
		ldAbs     = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		x8664     = 0xc000003e // AUDIT_ARCH_X86_64
		x32Bit    = 0x40000000
		retENOSYS = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	stub := []unix.SockFilter{
		{Code: ldAbs, K: 4}, // seccomp_data.arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 4, K: x8664},
		{Code: ldAbs, K: 0}, // seccomp_data.nr
		{Code: unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K, Jt: 2, Jf: 0, K: x32Bit},
		{Code: unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(last)},
		{Code: unix.BPF_RET | unix.BPF_K, K: retENOSYS},
	}
	out := make([]byte, 0, 8*len(stub)+len(prog))
	for _, ins := range stub {
		out = binary.LittleEndian.AppendUint16(out, ins.Code)
		out = append(out, ins.Jt, ins.Jf)
		out = binary.LittleEndian.AppendUint32(out, ins.K)
	}
	return append(out, prog...), nil
}

func addRule(f *libseccomp.ScmpFilter, call *configs.Syscall, def libseccomp.ScmpAction) error {
	if call == nil || call.Name == "" {
		return errors.New("seccomp rule without a syscall")
	}
	act, err := scmpAction(call.Action, call.ErrnoRet)
	if err != nil {
		return fmt.Errorf("seccomp rule for %s: %w", call.Name, err)
	}
	if act == def {
		return nil
	}
	nr, err := libseccomp.GetSyscallFromName(call.Name)
	if err != nil {
		return nil // unknown to this libseccomp: runc ignores it too
	}
	if len(call.Args) == 0 {
		if err := f.AddRule(nr, act); err != nil {
			return fmt.Errorf("add seccomp rule for %s: %w", call.Name, err)
		}
		return nil
	}
	var conds []libseccomp.ScmpCondition
	perArg := map[uint]int{}
	for _, a := range call.Args {
		op, ok := scmpOps[a.Op]
		if !ok {
			return fmt.Errorf("seccomp rule for %s: operator %v", call.Name, a.Op)
		}
		c, err := libseccomp.MakeCondition(a.Index, op, a.Value, a.ValueTwo)
		if err != nil {
			return fmt.Errorf("seccomp condition for %s: %w", call.Name, err)
		}
		perArg[a.Index]++
		conds = append(conds, c)
	}
	multi := false
	for _, n := range perArg {
		multi = multi || n > 1
	}
	// Several conditions on one argument are alternatives (runc adds one
	// rule each); conditions on different arguments must all hold.
	if multi {
		for _, c := range conds {
			if err := f.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
				return fmt.Errorf("add seccomp rule for %s: %w", call.Name, err)
			}
		}
		return nil
	}
	if err := f.AddRuleConditional(nr, act, conds); err != nil {
		return fmt.Errorf("add seccomp rule for %s: %w", call.Name, err)
	}
	return nil
}

var scmpOps = map[configs.Operator]libseccomp.ScmpCompareOp{
	configs.EqualTo: libseccomp.CompareEqual, configs.NotEqualTo: libseccomp.CompareNotEqual,
	configs.GreaterThan: libseccomp.CompareGreater, configs.GreaterThanOrEqualTo: libseccomp.CompareGreaterEqual,
	configs.LessThan: libseccomp.CompareLess, configs.LessThanOrEqualTo: libseccomp.CompareLessOrEqual,
	configs.MaskEqualTo: libseccomp.CompareMaskedEqual,
}

func scmpAction(act configs.Action, errno *uint) (libseccomp.ScmpAction, error) {
	switch act {
	case configs.Kill, configs.KillThread:
		return libseccomp.ActKillThread, nil
	case configs.KillProcess:
		return libseccomp.ActKillProcess, nil
	case configs.Errno:
		if errno != nil {
			return libseccomp.ActErrno.SetReturnCode(int16(*errno)), nil
		}
		return libseccomp.ActErrno.SetReturnCode(1), nil // EPERM, as runc
	case configs.Trap:
		return libseccomp.ActTrap, nil
	case configs.Allow:
		return libseccomp.ActAllow, nil
	case configs.Log:
		return libseccomp.ActLog, nil
	}
	return libseccomp.ActInvalid, fmt.Errorf("seccomp action %v cannot be compiled for a zygote", act)
}
