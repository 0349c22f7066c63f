package clock

import (
	"sync"
	"testing"
	"time"
)

func TestFakeFiresInOrderAndStops(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	got := make(chan int, 3)
	c.AfterFunc(2*time.Second, func() { got <- 2 })
	c.AfterFunc(time.Second, func() { got <- 1 })
	stopped := c.AfterFunc(time.Second, func() { got <- 99 })
	if !stopped.Stop() || stopped.Stop() {
		t.Fatal("Stop should report true once")
	}
	ch := c.After(3 * time.Second)
	c.Advance(999 * time.Millisecond)
	if c.Pending() != 3 {
		t.Fatalf("pending %d", c.Pending())
	}
	c.Advance(time.Millisecond)
	if v := <-got; v != 1 {
		t.Fatalf("first fired %d", v)
	}
	c.Advance(2 * time.Second)
	if v := <-got; v != 2 {
		t.Fatalf("second fired %d", v)
	}
	if at := <-ch; !at.Equal(time.Unix(3, 0)) {
		t.Errorf("After fired at %v", at)
	}
	if c.Pending() != 0 {
		t.Errorf("pending %d", c.Pending())
	}
}

func TestWaitForTimers(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() { c.WaitForTimers(1); close(done) }()
	c.After(time.Second)
	<-done
}

// TestWaitForAsksAgainOnWake: WaitFor returns once the count it waits for drops
// to what is pending, when the drop is announced by Wake (no timer is added).
func TestWaitForAsksAgainOnWake(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	c.After(time.Second)
	var mu sync.Mutex
	want := 2
	done := make(chan struct{})
	go func() {
		c.WaitFor(func() int { mu.Lock(); defer mu.Unlock(); return want })
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("WaitFor returned with 1 timer pending and 2 wanted")
	default:
	}
	mu.Lock()
	want = 1
	mu.Unlock()
	c.Wake()
	<-done
}

// TestWaitForDue: only a timer due within the span counts, and the earliest
// such one is returned; a timer added later wakes the wait.
func TestWaitForDue(t *testing.T) {
	c := NewFake(time.Unix(0, 0))
	c.After(5 * time.Minute)
	got := make(chan time.Time, 1)
	go func() { got <- c.WaitForDue(30 * time.Second) }()
	c.After(20 * time.Second)
	c.After(2 * time.Second)
	at := <-got
	if want := time.Unix(0, 0).Add(2 * time.Second); !at.Equal(want) && !at.Equal(time.Unix(0, 0).Add(20*time.Second)) {
		t.Fatalf("due %v; want a timer within 30 s", at)
	}
	if at := c.WaitForDue(30 * time.Second); !at.Equal(time.Unix(0, 0).Add(2 * time.Second)) {
		t.Errorf("due %v; want the earliest, 2 s", at)
	}
}
