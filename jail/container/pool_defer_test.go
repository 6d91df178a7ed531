package container

import (
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
