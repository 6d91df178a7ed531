package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/jaild/jaild/daemon/api"
)

// formatMS prints milliseconds as a duration: 12ms, 1.5s, 2m0s.
func formatMS(ms int64) string {
	return (time.Duration(ms) * time.Millisecond).String()
}

// formatBytes prints n in binary units with one decimal: 512B, 3.0MiB.
func formatBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%dB", n)
	}
	v, unit := float64(n)/1024, "KiB"
	for _, u := range []string{"MiB", "GiB", "TiB"} {
		if v < 1024 {
			break
		}
		v, unit = v/1024, u
	}
	return fmt.Sprintf("%.1f%s", v, unit)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

// formatLimits lists the limits that are set, in the order of the flags.
func formatLimits(l api.Limits) string {
	var parts []string
	add := func(name string, v int64, f func(int64) string) {
		if v > 0 {
			parts = append(parts, name+" "+f(v))
		}
	}
	count := func(n int64) string { return fmt.Sprint(n) }
	add("wall", l.WallMS, formatMS)
	add("cpu", l.CPUMS, formatMS)
	add("memory", l.MemoryBytes, formatBytes)
	add("pids", l.Pids, count)
	add("output", l.OutputBytes, formatBytes)
	add("tmp", l.TmpBytes, formatBytes)
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
