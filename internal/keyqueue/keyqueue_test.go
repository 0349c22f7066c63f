package keyqueue

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

func TestOrderPerKeyAndConcurrencyAcrossKeys(t *testing.T) {
	var q Queue
	var mu sync.Mutex
	got := map[string][]int{}
	block, bDone := make(chan struct{}), make(chan struct{})
	q.Do("a", func() { <-block }) // a is busy until released
	for i := range 100 {
		for _, k := range []string{"a", "b"} {
			q.Do(k, func() {
				mu.Lock()
				got[k] = append(got[k], i)
				mu.Unlock()
				if k == "b" && i == 99 {
					close(bDone)
				}
			})
		}
	}
	<-bDone // b ran all its jobs while a was blocked: keys do not wait for each other
	mu.Lock()
	if len(got["a"]) != 0 {
		t.Fatalf("a ran past its blocked job: %v", got["a"])
	}
	mu.Unlock()
	close(block)
	if !q.Wait(5 * time.Second) {
		t.Fatal("jobs did not finish")
	}
	want := make([]int, 100)
	for i := range want {
		want[i] = i
	}
	for _, k := range []string{"a", "b"} {
		if !slices.Equal(got[k], want) {
			t.Errorf("%s ran %v; want 0..99 in order", k, got[k])
		}
	}
	q.Close()
	ran := false
	q.Do("c", func() { ran = true })
	q.Close()
	if ran {
		t.Error("a job queued after Close ran")
	}
	if len(q.jobs) != 0 {
		t.Errorf("idle keys kept: %v", fmt.Sprint(q.jobs))
	}
}

// TestWaitGivesUpOnItsClock: Wait's deadline is the queue's clock, so a test
// moves it instead of waiting for it.
func TestWaitGivesUpOnItsClock(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	q := Queue{Clock: clk}
	release := make(chan struct{})
	defer close(release)
	q.Do("a", func() { <-release })
	waited := make(chan bool)
	go func() { waited <- q.Wait(5 * time.Second) }()
	clk.WaitForTimers(1)
	select {
	case ok := <-waited:
		t.Fatalf("Wait returned %v before its deadline", ok)
	default:
	}
	clk.Advance(5 * time.Second)
	if <-waited {
		t.Fatal("Wait reported the blocked job finished")
	}
}

// TestLimitBoundsRunningJobs: with Limit 2, twenty busy keys run two jobs at
// a time, and all of them run. In a synctest bubble, synctest.Wait returns once
// every job is either running (waiting to be let go) or waiting for its turn,
// so the count is exact; with no limit all twenty would be running.
func TestLimitBoundsRunningJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := Queue{Limit: 2}
		const keys = 20
		release := make(chan struct{})
		var running, done atomic.Int64
		for k := range keys {
			q.Do(fmt.Sprint(k), func() {
				running.Add(1)
				<-release
				running.Add(-1)
				done.Add(1)
			})
		}
		for i := range keys - 1 {
			synctest.Wait()
			if r := running.Load(); r != 2 {
				t.Fatalf("after %d released: %d jobs running; want 2", i, r)
			}
			release <- struct{}{}
		}
		release <- struct{}{}
		synctest.Wait()
		if d := done.Load(); d != keys {
			t.Errorf("%d of %d jobs ran", d, keys)
		}
		q.Close()
	})
}

func (q *Queue) counts() (workers, parked int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.workers, len(q.parked)
}

// TestWorkersAreReused: jobs of new keys go to the workers already started
// (parked after their last job) instead of a goroutine each, never more
// than Limit; an idle worker ends after idleWorker, and Close ends the
// parked ones at once. Time is synctest's: nothing waits for the wall clock.
func TestWorkersAreReused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := Queue{Limit: 3}
		var ran atomic.Int64
		// One key after another: one worker does them all.
		for k := range 50 {
			q.Do(fmt.Sprint("seq", k), func() { ran.Add(1) })
			synctest.Wait()
			if w, p := q.counts(); w != 1 || p != 1 {
				t.Fatalf("after %d sequential keys: %d workers, %d parked; want 1, 1", k+1, w, p)
			}
		}
		// A burst of 30 blocked keys: Limit workers, the parked one among them.
		release := make(chan struct{})
		for k := range 30 {
			q.Do(fmt.Sprint("burst", k), func() { <-release; ran.Add(1) })
		}
		synctest.Wait()
		if w, p := q.counts(); w != 3 || p != 0 {
			t.Fatalf("in the burst: %d workers, %d parked; want 3, 0", w, p)
		}
		close(release)
		synctest.Wait()
		if w, p := q.counts(); w != 3 || p != 3 {
			t.Fatalf("after the burst: %d workers, %d parked; want 3, 3", w, p)
		}
		// More work is handed to the parked workers.
		for k := range 3 {
			q.Do(fmt.Sprint("again", k), func() { ran.Add(1) })
		}
		synctest.Wait()
		if w, p := q.counts(); w != 3 || p != 3 || ran.Load() != 83 {
			t.Fatalf("after more: %d workers, %d parked, %d ran; want 3, 3, 83", w, p, ran.Load())
		}
		// Idle for idleWorker (synctest's clock): they end.
		time.Sleep(idleWorker + time.Second)
		synctest.Wait()
		if w, p := q.counts(); w != 0 || p != 0 {
			t.Fatalf("after idling: %d workers, %d parked; want 0, 0", w, p)
		}
		// And Close ends parked workers without waiting for their idle time.
		q.Do("last", func() { ran.Add(1) })
		synctest.Wait()
		q.Close()
		synctest.Wait()
		if w, p := q.counts(); w != 0 || p != 0 || ran.Load() != 84 {
			t.Fatalf("after Close: %d workers, %d parked, %d ran; want 0, 0, 84", w, p, ran.Load())
		}
	})
}
