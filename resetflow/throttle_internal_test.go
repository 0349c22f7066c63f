package resetflow

import (
	"testing"
	"time"
)

// TestThrottleSlidingWindow: the compact throttle (hashed keys, the first
// event in the map slot) keeps the sliding-window rules: limit events per
// window per key, the first refusal of a burst flagged once, retry at the
// oldest event plus the window, keys apart, and idle keys swept.
func TestThrottleSlidingWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	th := newThrottle(3, 10*time.Minute)
	for i := range 3 {
		if ok, _, _ := th.allow("a", t0.Add(time.Duration(i)*time.Minute)); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	ok, first, retry := th.allow("a", t0.Add(3*time.Minute))
	if ok || !first || !retry.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("4th event: ok %v first %v retry %v", ok, first, retry)
	}
	if ok, first, _ := th.allow("a", t0.Add(4*time.Minute)); ok || first {
		t.Fatalf("5th event: ok %v first %v; want refused, not first", ok, first)
	}
	if ok, _, _ := th.allow("b", t0.Add(4*time.Minute)); !ok {
		t.Fatal("another key was refused")
	}
	// At 10 minutes the oldest event leaves the window: one more is allowed,
	// then the next refusal is a new burst's first.
	if ok, _, _ := th.allow("a", t0.Add(10*time.Minute)); !ok {
		t.Fatal("refused after the oldest event left the window")
	}
	ok, first, retry = th.allow("a", t0.Add(10*time.Minute+time.Second))
	if ok || !first || !retry.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("after the window: ok %v first %v retry %v", ok, first, retry)
	}
	// A sweep (every 1024 calls) drops keys whose newest event left the window.
	late := t0.Add(time.Hour)
	for range 1024 {
		th.allow("c", late)
	}
	if _, ok := th.seen[th.key("a")]; ok {
		t.Fatal("an idle key survived the sweep")
	}
	if len(th.seen) != 1 {
		t.Fatalf("%d keys after the sweep, want 1", len(th.seen))
	}
	// With a limit of one, the refusal flag has no other events to sit beside.
	one := newThrottle(1, time.Minute)
	if ok, _, _ := one.allow("x", t0); !ok {
		t.Fatal("limit 1: the first event refused")
	}
	if ok, first, _ := one.allow("x", t0.Add(time.Second)); ok || !first {
		t.Fatalf("limit 1: second event ok %v first %v", ok, first)
	}
	if ok, first, _ := one.allow("x", t0.Add(2*time.Second)); ok || first {
		t.Fatalf("limit 1: third event ok %v first %v", ok, first)
	}
	if ok, _, _ := one.allow("x", t0.Add(time.Minute)); !ok {
		t.Fatal("limit 1: refused after the window")
	}
}
