package keyqueue

import (
	"fmt"
	"slices"
	"sync"
	"testing"
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
