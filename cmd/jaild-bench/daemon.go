package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jaild/jaild/daemon/api"
	"github.com/jaild/jaild/daemon/client"
)

// daemon is one jaild serve process the bench started.
type daemon struct {
	name   string
	dir    string
	cgroup string
	cmd    *exec.Cmd
	client *client.Client
}

func startDaemon(o options, name string, poolSize int, extra ...string) (*daemon, error) {
	dir, err := os.MkdirTemp("", "jaild-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	d := &daemon{name: name, dir: dir, cgroup: fmt.Sprintf("/jaild-bench-%d-%s", os.Getpid(), name)}
	if err := os.Symlink(o.rootfs, filepath.Join(dir, "rootfs")); err != nil {
		return nil, err
	}
	sock := filepath.Join(dir, "jaild.sock")
	args := append([]string{"serve", "--socket", sock, "--state-dir", dir, "--cgroup-parent", d.cgroup,
		"--pool-size", strconv.Itoa(poolSize), "--log-level", "warn"}, extra...)
	d.cmd = exec.Command(o.jaild, args...)
	logf, err := os.Create(filepath.Join(dir, "jaild.log"))
	if err != nil {
		return nil, err
	}
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.jaild, err)
	}
	d.client = client.New(sock)
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := d.client.Info(ctx)
		cancel()
		if err == nil {
			return d, nil
		}
		if time.Now().After(deadline) {
			d.stop()
			b, _ := os.ReadFile(filepath.Join(dir, "jaild.log"))
			return nil, fmt.Errorf("daemon %s did not come up: %v\n%s", name, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

// stop sends SIGTERM (the daemon destroys its parked jails), waits, and
// removes the daemon's cgroup parent and state.
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*" + d.cgroup)
	if v2, err := os.Stat("/sys/fs/cgroup" + d.cgroup); err == nil && v2.IsDir() {
		dirs = append(dirs, "/sys/fs/cgroup"+d.cgroup)
	}
	for _, c := range dirs {
		_ = os.Remove(c)
	}
	_ = os.RemoveAll(d.dir)
}

// runner returns a function doing one run of code with default limits.
func (d *daemon) runner(lang, code, want string) func(context.Context) error {
	return func(ctx context.Context) error {
		res, err := d.client.Run(ctx, api.RunRequest{Language: lang, Code: code})
		if err != nil {
			return err
		}
		if res.Status != api.StatusOK || res.Stdout != want {
			return fmt.Errorf("%s run: status %s stdout %q error %q", d.name, res.Status, res.Stdout, res.Error)
		}
		return nil
	}
}

// waitParked waits until every pool key (one per policy profile: the
// strict ones too, whose builds would otherwise compete with the measured
// runs) has its target of parked jails.
func (d *daemon) waitParked(timeout, poll time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		info, err := d.client.Info(context.Background())
		if err == nil && info.Pool != nil && len(info.Pool.Keys) > 0 {
			full := true
			for _, k := range info.Pool.Keys {
				full = full && k.Parked >= k.Target
			}
			if full {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pool of %s not filled after %v: %+v %v", d.name, timeout, info, err)
		}
		time.Sleep(poll)
	}
}

// jailCgroups lists the daemon's per-jail cgroup directories (memory
// hierarchy on v1, the unified one on v2).
func (d *daemon) jailCgroups() []string {
	if dirs, _ := filepath.Glob("/sys/fs/cgroup/memory" + d.cgroup + "/*/cgroup.procs"); len(dirs) > 0 {
		return dirs
	}
	dirs, _ := filepath.Glob("/sys/fs/cgroup" + d.cgroup + "/*/cgroup.procs")
	return dirs
}

// parkedRSS is the mean RSS and the mean private (not shared with other
// processes: Private_Clean + Private_Dirty) memory of one parked jail (all
// its processes) per language, read while the daemon is idle so every
// jail is parked. Much of an interpreter's RSS is its binary and
// libraries, mapped from the same rootfs files by every parked jail.
func (d *daemon) parkedRSS() (rssBy, privBy map[string]int64) {
	sum, n, priv := map[string]int64{}, map[string]int64{}, map[string]int64{}
	for _, procs := range d.jailCgroups() {
		b, err := os.ReadFile(procs)
		if err != nil {
			continue
		}
		var lang string
		var total, p int64
		for _, f := range strings.Fields(string(b)) {
			pid, _ := strconv.Atoi(f)
			comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
			switch c := strings.TrimSpace(string(comm)); {
			case strings.HasPrefix(c, "python"):
				lang = "python"
			case c == "node":
				lang = "node"
			}
			total += rss(pid)
			p += private(pid)
		}
		if lang != "" {
			sum[lang] += total
			priv[lang] += p
			n[lang]++
		}
	}
	rssBy, privBy = map[string]int64{}, map[string]int64{}
	for l, s := range sum {
		rssBy[l], privBy[l] = s/n[l], priv[l]/n[l]
	}
	return rssBy, privBy
}

// private reads Private_Clean + Private_Dirty of pid in bytes.
func private(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0
	}
	var total int64
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Private_Clean:") || strings.HasPrefix(line, "Private_Dirty:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			total += kb << 10
		}
	}
	return total
}

// rss reads VmRSS of pid in bytes.
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rssSampler records the maximum RSS of some processes every 50 ms.
type rssSampler struct {
	mu   sync.Mutex
	max  map[string]int64
	quit chan struct{}
	done chan struct{}
}

func newRSSSampler(pids map[string]int) *rssSampler {
	s := &rssSampler{max: map[string]int64{}, quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			s.mu.Lock()
			for name, pid := range pids {
				s.max[name] = max(s.max[name], rss(pid))
			}
			s.mu.Unlock()
			select {
			case <-s.quit:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) stop() map[string]int64 {
	close(s.quit)
	<-s.done
	return s.max
}

// mixed measures good runs' latency with 8 clients, first alone, then
// with 10 % timeouts, 5 % OOM kills and 5 % fork bombs among them.
func mixed(ctx context.Context, d *daemon, n int) []mixedStats {
	bad := []api.RunRequest{
		{Language: "python", Code: "import time; time.sleep(10)", Limits: &api.Limits{WallMS: 500}},
		{Language: "python", Code: "x = bytearray(1 << 30)"},
		{Language: "python", Code: "import os\nwhile True:\n    try: os.fork()\n    except OSError: pass",
			Limits: &api.Limits{WallMS: 1000}},
	}
	pick := func(i int) *api.RunRequest { // per 20 runs: 2 timeouts, 1 OOM, 1 fork bomb
		switch i % 20 {
		case 3, 13:
			return &bad[0]
		case 7:
			return &bad[1]
		case 17:
			return &bad[2]
		}
		return nil
	}
	var out []mixedStats
	for _, withBad := range []bool{false, true} {
		m := mixedStats{Name: "good runs only", BadStatuses: map[string]int{}}
		if withBad {
			m.Name = "with 10% timeout, 5% OOM, 5% forkbomb"
		}
		var mu sync.Mutex
		var lat []float64
		next := 0
		var wg sync.WaitGroup
		for c := 0; c < 8; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= n {
						return
					}
					req := pick(i)
					if req != nil && withBad {
						res, err := d.client.Run(ctx, *req)
						mu.Lock()
						if err != nil {
							m.BadStatuses["error"]++
						} else {
							m.BadStatuses[res.Status]++
						}
						mu.Unlock()
						continue
					}
					t0 := time.Now()
					res, err := d.client.Run(ctx, api.RunRequest{Language: "python", Code: "print(1)"})
					el := ms(time.Since(t0))
					mu.Lock()
					if err != nil || res.Status != api.StatusOK {
						m.GoodErrors++
					} else {
						lat = append(lat, el)
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		m.GoodRuns, m.GoodP50, m.GoodP99 = len(lat), pct(lat, 50), pct(lat, 99)
		if !withBad {
			m.BadStatuses = nil
		}
		out = append(out, m)
	}
	return out
}
