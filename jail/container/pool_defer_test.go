package container

import (
	"context"
	"testing"
	"time"

	"github.com/jaild/jaild/jail"
)

// TestPoolRefillYieldsToRuns: while runs are in flight, a key that still
// has a parked jail is refilled only after refillDefer; an empty key, or
// any key once nothing runs, is refilled at once. No jail is built: next
// only reserves.
func TestPoolRefillYieldsToRuns(t *testing.T) {
	now := time.Now()
	newPool := func(running, parked int, deferFrom time.Time) (*Pool, *poolKey) {
		pk := &poolKey{lang: jail.Python, target: 2, parked: make([]parkedJail, parked), deferFrom: deferFrom}
		p := &Pool{cfg: PoolConfig{Size: 2, MaxSize: 4, Builders: 2, MemoryBudget: 1 << 30, IdleShrink: time.Hour},
			keys: map[jail.PoolKey]*poolKey{{}: pk}, running: running, stop: make(chan struct{})}
		return p, pk
	}
	tests := []struct {
		name      string
		running   int
		parked    int
		deferFrom time.Time
		build     bool
	}{
		{"run in flight, one still parked: wait", 1, 1, now, false},
		{"run in flight, deferral over: build", 1, 1, now.Add(-2 * refillDefer), true},
		{"run in flight, none parked: build", 1, 0, now, true},
		{"no run in flight: build", 0, 1, now, true},
		{"below target without a hit (start-up): build", 3, 1, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, pk := newPool(tt.running, tt.parked, tt.deferFrom)
			got, retry := p.next()
			if (got != nil) != tt.build {
				t.Fatalf("next() = %v, %v; want a build: %v", got, retry, tt.build)
			}
			if !tt.build {
				if retry <= 0 || retry > refillDefer {
					t.Errorf("retry = %v, want in (0, %v]", retry, refillDefer)
				}
				if pk.building != 0 || p.building != 0 {
					t.Errorf("deferred key reserved a build: key %d, pool %d", pk.building, p.building)
				}
				return
			}
			if pk.building != 1 || p.building != 1 || !pk.deferFrom.IsZero() {
				t.Errorf("after a reservation: key building %d, pool %d, deferFrom %v; want 1, 1, zero",
					pk.building, p.building, pk.deferFrom)
			}
		})
	}
}

// TestPoolRefillDuringLongRun: the deferral is bounded. A run that lasts
// far longer than refillDefer does not hold its key's refill back: the
// pool is full again while the run is still going.
func TestPoolRefillDuringLongRun(t *testing.T) {
	tmpl := []PoolTemplate{{Language: jail.Python, Spec: poolSpec(t, jail.Python, "pass")}}
	p, err := NewPool(testRunner(t), PoolConfig{Templates: tmpl, Size: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	waitParked(t, p, 2)
	before := p.Stats().Refills
	// The run sleeps until the test cancels it, long after the refill
	// must have happened.
	long := poolSpec(t, jail.Python, "import time\ntime.sleep(120)") // t.Fatal only outside the goroutine
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan jail.Result, 1)
	go func() {
		r, _ := p.Run(ctx, long)
		done <- r
	}()
	deadline := time.Now().Add(60 * time.Second * timeScale)
	for st := p.Stats(); st.Refills == before || st.Parked < 2; st = p.Stats() {
		select {
		case r := <-done:
			cancel()
			t.Fatalf("the run ended (%s) before the pool was refilled: %+v", r.Status, st)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no refill while a long run was in flight: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := p.Stats(); st.Hits != 1 {
		t.Errorf("stats %+v, want the long run to be the pool's one hit", st)
	}
	cancel()
	<-done
}

// TestPoolBudgetBeforeFirstBuild: a key no build has measured yet counts
// its memory limit against the budget, so the first builds of several keys
// at start-up cannot overshoot it together; once a build has been
// measured, its mean counts instead.
func TestPoolBudgetBeforeFirstBuild(t *testing.T) {
	key := func() *poolKey {
		pk := &poolKey{lang: jail.Python, target: 1}
		pk.tmpl.Limits.Memory = 300 << 20
		return pk
	}
	a, b := key(), key()
	p := &Pool{cfg: PoolConfig{Size: 1, MaxSize: 2, Builders: 2, MemoryBudget: 512 << 20, IdleShrink: time.Hour},
		keys: map[jail.PoolKey]*poolKey{{Language: "a"}: a, {Language: "b"}: b}, stop: make(chan struct{})}
	if got, _ := p.next(); got == nil {
		t.Fatal("first build refused: one jail's limit fits the budget")
	}
	if got, _ := p.next(); got != nil {
		t.Fatalf("second build reserved with 2 × 300 MiB of unmeasured jails against a 512 MiB budget (building %d)", p.building)
	}
	// The first build finishes and is measured at 10 MiB.
	first := a
	if b.building == 1 {
		first = b
	}
	first.building, p.building = 0, 0
	first.builds, first.stats.JailBytesMean = 1, 10<<20
	first.parked = make([]parkedJail, 1)
	if got, _ := p.next(); got == nil || got == first {
		t.Fatalf("next() = %v after the first build was measured; want the other key", got)
	}
	// A limit above the budget still lets a key build when nothing else holds memory.
	big := key()
	big.tmpl.Limits.Memory = 4 << 30
	p2 := &Pool{cfg: PoolConfig{Size: 1, MaxSize: 2, Builders: 2, MemoryBudget: 512 << 20, IdleShrink: time.Hour},
		keys: map[jail.PoolKey]*poolKey{{}: big}, stop: make(chan struct{})}
	if got, _ := p2.next(); got == nil {
		t.Fatal("a key whose limit exceeds the budget never builds")
	}
	// Nor is it starved by parked jails of other keys: it builds alone.
	held := &poolKey{lang: jail.Python, target: 2, builds: 1, parked: make([]parkedJail, 1)}
	held.stats.JailBytesMean = 100 << 20
	big.building, p2.building = 0, 0
	p2.keys[jail.PoolKey{Language: "held"}] = held
	if got, _ := p2.next(); got != big {
		t.Fatalf("next() = %v with 100 MiB parked elsewhere; want the unmeasured key, built alone", got)
	}
	if got, _ := p2.next(); got != nil {
		t.Fatal("a build of the parked key (below its target) started beside the unmeasured one, over the budget")
	}
}
