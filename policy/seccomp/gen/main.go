// Command gen derives a strict seccomp allowlist (OCI runtime-spec JSON)
// from strace logs of representative workloads run in real jails.
//
//	go run ./policy/seccomp/gen -base policy/seccomp/base.txt -o policy/seccomp/python.json trace...
//
// Each trace is `strace -f -qq --pidns-translation -o FILE jaild run …`.
// Only what runs under the jail's filter counts: the process that loads the
// filter (runc init), from that call on, and every process it forks. A
// syscall is kept when at least one call to it was let through (did not
// fail with EPERM, the filter's answer); the dangerous list is never kept
// (the policy's checks would refuse it), nor clone, clone3 and personality,
// which get fixed argument-filtered rules. See docs/SECCOMP.md.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/jaild/jaild/policy"
)

var (
	lineRE    = regexp.MustCompile(`^(\d+) (?:<\.\.\. ([a-z0-9_]+) resumed>|([a-z0-9_]+)\()`)
	filterRE  = regexp.MustCompile(`seccomp\(SECCOMP_SET_MODE_FILTER, [^,]*, \{len=`)
	childRE   = regexp.MustCompile(`= \d+ /\* (\d+) in strace's PID NS \*/$`)
	epermRE   = regexp.MustCompile(`= -1 EPERM `)
	fixedRule = []string{"clone", "clone3", "personality", "seccomp"}
)

type count struct{ ok, eperm int }

func main() {
	base := flag.String("base", "", "file of syscall names always allowed (# comments)")
	out := flag.String("o", "", "output JSON file")
	flag.Parse()
	seen := map[string]*count{}
	for _, f := range flag.Args() {
		if err := scan(f, seen); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
	names, err := readBase(*base)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, n := range keys {
		c := seen[n]
		switch {
		case slices.Contains(fixedRule, n):
		case slices.Contains(policy.DangerousSyscalls, n):
			fmt.Fprintf(os.Stderr, "gen: left out dangerous %s (%d calls)\n", n, c.ok+c.eperm)
		case c.ok == 0:
			fmt.Fprintf(os.Stderr, "gen: left out %s: all %d calls were refused and the workload coped\n", n, c.eperm)
		default:
			names = append(names, n)
		}
	}
	sort.Strings(names)
	names = slices.Compact(names)
	b, _ := json.MarshalIndent(profile(names), "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "gen: %s: %d syscalls\n", *out, len(names))
}

// scan adds the syscalls made under the filter in one trace.
func scan(path string, seen map[string]*count) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	jailed := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	found := false
	for sc.Scan() {
		line := sc.Text()
		m := lineRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, name := m[1], m[2]+m[3]
		if !found {
			if filterRE.MatchString(line) {
				found, jailed[pid] = true, true
			}
			continue
		}
		if !jailed[pid] || strings.HasSuffix(line, "<unfinished ...>") {
			continue
		}
		if c := childRE.FindStringSubmatch(line); c != nil && (name == "clone" || name == "clone3" || name == "fork" || name == "vfork") {
			jailed[c[1]] = true
		}
		c := seen[name]
		if c == nil {
			c = &count{}
			seen[name] = c
		}
		if epermRE.MatchString(line) {
			c.eperm++
		} else {
			c.ok++
		}
	}
	if !found {
		return fmt.Errorf("%s: no seccomp filter load found (was it traced with strace -f?)", path)
	}
	return sc.Err()
}

func readBase(path string) ([]string, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			names = append(names, l)
		}
	}
	return names, nil
}

// profile is the allowlist plus the fixed argument-filtered rules the
// policy's checks demand (see policy.CheckSeccomp).
func profile(names []string) *specs.LinuxSeccomp {
	eperm, enosys := uint(unix.EPERM), uint(unix.ENOSYS)
	ns := uint64(unix.CLONE_NEWNS | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWUSER |
		unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP)
	return &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &eperm,
		Syscalls: []specs.LinuxSyscall{
			{Names: names, Action: specs.ActAllow},
			// clone without namespace flags only.
			{Names: []string{"clone"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: ns, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
			// clone3 passes its flags in memory, which seccomp cannot read:
			// ENOSYS makes glibc and libuv fall back to clone, filtered above.
			{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
			// personality: only PER_LINUX and the query; other personas turn
			// off ASLR (ADDR_NO_RANDOMIZE) or make data executable.
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0, Op: specs.OpEqualTo}}},
			{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{
				{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
		},
	}
}
