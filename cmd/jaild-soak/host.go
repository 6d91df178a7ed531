package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// rssKiB is VmRSS of pid.
func rssKiB(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func fdCount(pid int) int {
	ents, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(ents)
}

// markedPIDs lists host processes whose argv contains marker.
func markedPIDs(marker string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline"); err == nil && strings.Contains(string(b), marker) {
			out = append(out, e.Name())
		}
	}
	return out
}

// leftovers lists what the daemon's jails left: cgroups under parent in
// every hierarchy, mounts and state entries under state, marked processes.
func leftovers(state, parent, marker string) []string {
	var out []string
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent + "/*")
	v2, _ := filepath.Glob("/sys/fs/cgroup" + parent + "/*")
	for _, d := range append(dirs, v2...) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, "cgroup "+d)
		}
	}
	for _, sub := range []string{"jails", "work"} {
		ents, _ := os.ReadDir(filepath.Join(state, sub))
		for _, e := range ents {
			out = append(out, "state "+filepath.Join(state, sub, e.Name()))
		}
	}
	mounts, _ := os.ReadFile("/proc/self/mountinfo")
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, state+"/") {
			out = append(out, "mount "+l)
		}
	}
	for _, p := range markedPIDs(marker) {
		out = append(out, "process "+p)
	}
	return out
}

func removeCgroupParent(parent string) {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + parent)
	for _, d := range append(dirs, "/sys/fs/cgroup"+parent) {
		_ = os.Remove(d)
	}
}
