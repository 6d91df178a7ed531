package policy

import "golang.org/x/sys/unix"

// ForbiddenSyscalls may never be allowed by a jail profile: each is a known
// path out of a container or into the kernel's attack surface (mount and
// namespace games, ptrace/process_vm_* cross-process access, bpf, keyrings,
// module loading, perf, userfaultfd (used to win kernel races), io_uring
// (bypasses seccomp for the I/O it performs), handle-based opens (the
// "shocker" escape), clock and personality changes).
var ForbiddenSyscalls = []string{
	"acct", "add_key", "bpf", "chroot", "clock_adjtime", "clock_settime",
	"delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount",
	"fsopen", "fspick", "init_module", "io_uring_enter", "io_uring_register",
	"io_uring_setup", "ioperm", "iopl", "kcmp", "kexec_file_load",
	"kexec_load", "keyctl", "lookup_dcookie", "modify_ldt", "mount",
	"mount_setattr", "move_mount", "name_to_handle_at", "nfsservctl",
	"open_by_handle_at", "open_tree", "perf_event_open", "pidfd_getfd",
	"pivot_root", "process_madvise", "process_vm_readv", "process_vm_writev",
	"ptrace", "quotactl", "reboot", "request_key", "setdomainname",
	"sethostname", "setns", "settimeofday", "swapoff", "swapon", "syslog",
	"umount", "umount2", "unshare", "uselib", "userfaultfd", "vhangup",
}

// namespaceCloneFlags are the clone(2) flags that create namespaces; a jail
// may fork and make threads but never new namespaces (nested user
// namespaces are a recurring source of kernel privilege escalations).
const namespaceCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP
