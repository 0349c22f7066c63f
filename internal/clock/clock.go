// Package clock lets time-dependent code run on the wall clock in production
// and on a hand-advanced clock in tests, so no test sleeps to wait for time.
package clock

import (
	"sort"
	"sync"
	"time"
)

// Clock tells the time and schedules work.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d has passed on this clock.
	AfterFunc(d time.Duration, f func()) Timer
	// After returns a channel that receives the time once d has passed.
	After(d time.Duration) <-chan time.Time
}

// Timer is a scheduled call that can be stopped.
type Timer interface {
	// Stop prevents the call if it has not run yet; it reports whether it did.
	Stop() bool
}

// Real is the wall clock.
type Real struct{}

func (Real) Now() time.Time                            { return time.Now() }
func (Real) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }
func (Real) After(d time.Duration) <-chan time.Time    { return time.After(d) }

// Fake is a clock that moves only when Advance or Set is called.
// Timers whose deadline is reached fire in deadline order.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer
	waiters []chan struct{}
	wakes   int // Wake calls, so WaitFor never misses one
}

// NewFake returns a fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

type fakeTimer struct {
	c    *Fake
	at   time.Time
	f    func()
	ch   chan time.Time
	done bool
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	return true
}

func (c *Fake) add(d time.Duration, f func(), ch chan time.Time) *fakeTimer {
	c.mu.Lock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f, ch: ch}
	c.timers = append(c.timers, t)
	ws := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
	if d <= 0 {
		c.Advance(0)
	}
	return t
}

func (c *Fake) AfterFunc(d time.Duration, f func()) Timer { return c.add(d, f, nil) }

func (c *Fake) After(d time.Duration) <-chan time.Time {
	ch := make(chan time.Time, 1)
	c.add(d, nil, ch)
	return ch
}

// Advance moves the clock forward by d and fires every timer that is due.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	now := c.now
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.done:
		case !t.at.After(now):
			t.done = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	sort.SliceStable(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		if t.ch != nil {
			t.ch <- now
		} else {
			go t.f()
		}
	}
}

// Pending reports how many timers are waiting.
func (c *Fake) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.done {
			n++
		}
	}
	return n
}

// WaitForTimers blocks until at least n timers are pending, so a test can
// advance the clock only once the code under test is waiting on it.
func (c *Fake) WaitForTimers(n int) { c.WaitFor(func() int { return n }) }

// Wake makes WaitFor look again at its count: for a count that changes outside
// the clock (a job that ended and will arm no timer again).
func (c *Fake) Wake() {
	c.mu.Lock()
	c.wakes++
	ws := c.waiters
	c.waiters = nil
	c.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// WaitFor blocks until at least want() timers are pending, asking want again
// whenever a timer is added or Wake is called. want is called without the
// clock's lock held, so it may read the clock.
func (c *Fake) WaitFor(want func() int) {
	for {
		c.mu.Lock()
		wakes := c.wakes
		c.mu.Unlock()
		n := want()
		c.mu.Lock()
		pending := 0
		for _, t := range c.timers {
			if !t.done {
				pending++
			}
		}
		if pending >= n {
			c.mu.Unlock()
			return
		}
		if c.wakes != wakes { // woken while want ran: ask again
			c.mu.Unlock()
			continue
		}
		w := make(chan struct{})
		c.waiters = append(c.waiters, w)
		c.mu.Unlock()
		<-w
	}
}

// WaitForDue blocks until a pending timer is due within d of now and returns
// when it is due. A test that advances only to such timers lets time pass as
// the code under test waits, without running past a longer deadline (a step's
// window) while that code has not yet armed its next short wait.
func (c *Fake) WaitForDue(d time.Duration) time.Time {
	for {
		c.mu.Lock()
		var next time.Time
		for _, t := range c.timers {
			if !t.done && !t.at.After(c.now.Add(d)) && (next.IsZero() || t.at.Before(next)) {
				next = t.at
			}
		}
		if !next.IsZero() {
			c.mu.Unlock()
			return next
		}
		w := make(chan struct{})
		c.waiters = append(c.waiters, w)
		c.mu.Unlock()
		<-w
	}
}
