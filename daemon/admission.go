package daemon

import (
	"container/list"
	"context"
	"sync"
)

// admission lets at most max runs proceed at once and queues up to
// queueCap more in FIFO order; past that it refuses with ErrQueueFull.
// A freed slot goes straight to the oldest waiter, so a newcomer can never
// overtake the queue.
type admission struct {
	mu       sync.Mutex
	max      int
	running  int
	queueCap int
	waiters  *list.List // of *waiter
	closed   bool
}

// waiter is one queued request; done is closed when it is decided.
type waiter struct {
	done    chan struct{}
	granted bool // a slot was handed over; false after done means refused
}

func newAdmission(max, queueCap int) *admission {
	return &admission{max: max, queueCap: queueCap, waiters: list.New()}
}

// acquire blocks until a slot is free, ctx ends or the daemon shuts down.
// On success the caller must call the returned release exactly once.
func (a *admission) acquire(ctx context.Context) (func(), error) {
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, ErrShuttingDown
	}
	if a.running < a.max && a.waiters.Len() == 0 {
		a.running++
		a.mu.Unlock()
		return a.releaseOnce(), nil
	}
	if a.waiters.Len() >= a.queueCap {
		a.mu.Unlock()
		return nil, ErrQueueFull
	}
	w := &waiter{done: make(chan struct{})}
	elem := a.waiters.PushBack(w)
	a.mu.Unlock()

	select {
	case <-w.done:
	case <-ctx.Done():
		a.mu.Lock()
		select {
		case <-w.done: // decided while we gave up
			if w.granted {
				a.handOff() // pass the slot on
			}
		default:
			a.waiters.Remove(elem)
		}
		a.mu.Unlock()
		return nil, context.Cause(ctx)
	}
	if !w.granted {
		return nil, ErrShuttingDown
	}
	return a.releaseOnce(), nil
}

func (a *admission) releaseOnce() func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.handOff()
		})
	}
}

// handOff gives the caller's slot to the oldest waiter, or frees it.
// a.mu must be held.
func (a *admission) handOff() {
	if a.running > a.max { // shrunk by a reload: retire this slot
		a.running--
		return
	}
	if a.waiters.Len() > 0 {
		a.handOffLocked()
		return
	}
	a.running--
}

// handOffLocked grants the slot held in a.running to the oldest waiter.
func (a *admission) handOffLocked() {
	front := a.waiters.Front()
	a.waiters.Remove(front)
	w := front.Value.(*waiter)
	w.granted = true
	close(w.done)
}

// close refuses new runs and every queued one; running ones go on.
func (a *admission) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	for e := a.waiters.Front(); e != nil; e = a.waiters.Front() {
		a.waiters.Remove(e)
		close(e.Value.(*waiter).done)
	}
}

// counts returns how many runs hold a slot and how many wait.
func (a *admission) counts() (running, queued int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running, a.waiters.Len()
}

// resize changes the limits in place. More slots are handed to waiters at
// once; fewer take effect as running runs finish. Waiters beyond a smaller
// queue keep their place: the new cap applies to newcomers.
func (a *admission) resize(max, queueCap int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.max, a.queueCap = max, queueCap
	for a.running < a.max && a.waiters.Len() > 0 {
		a.running++
		a.handOffLocked()
	}
}
