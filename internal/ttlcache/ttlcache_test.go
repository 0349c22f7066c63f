package ttlcache

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

func TestTTLCache(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := New[int](clk, time.Minute, 3)
	if !c.Add("a", 1) || c.Add("a", 2) {
		t.Fatal("add: the second add of a live key must fail")
	}
	if v, ok := c.Get("a"); !ok || v != 1 {
		t.Fatalf("get(a) = %d, %v", v, ok)
	}
	clk.Advance(time.Minute)
	if _, ok := c.Get("a"); ok {
		t.Fatal("a outlived its ttl")
	}
	if !c.Add("a", 3) {
		t.Fatal("an expired key cannot be added again")
	}
	for i := range 5 {
		c.Set(fmt.Sprint(i), i)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := c.Get(fmt.Sprint(i)); ok != want {
			t.Errorf("get(%d) present = %v, want %v (at most 3 entries, oldest out first)", i, ok, want)
		}
	}
	if len(c.items) > 3 {
		t.Errorf("%d entries held, max 3", len(c.items))
	}
	// Many re-sets of one key, even at one instant, keep the bookkeeping small.
	for range 5000 {
		c.Set("k", 1)
	}
	if n := len(c.order) - c.head; n > 2*len(c.items)+64 {
		t.Errorf("%d order entries for a handful of keys", n)
	}
}

// TestRemoveHasUnbounded: Remove lets a key be added again at once, Has sees
// only live entries, and max <= 0 keeps every live entry (the dedupe sets).
func TestRemoveHasUnbounded(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := New[struct{}](clk, time.Hour, 0)
	if !c.Add("k", struct{}{}) || !c.Has("k") {
		t.Fatal("a fresh key is not held")
	}
	c.Remove("k")
	if c.Has("k") {
		t.Fatal("a removed key is still held")
	}
	if !c.Add("k", struct{}{}) {
		t.Fatal("a removed key cannot be added again")
	}
	for i := range 10_000 {
		c.Set(fmt.Sprint(i), struct{}{})
	}
	if !c.Has("0") || !c.Has("9999") || !c.Has("k") {
		t.Fatal("an unbounded cache dropped a live entry")
	}
	clk.Advance(time.Hour - time.Nanosecond)
	if !c.Has("k") {
		t.Fatal("k expired before its hour")
	}
	clk.Advance(time.Nanosecond)
	if c.Has("k") || c.Has("9999") {
		t.Fatal("entries outlived their ttl")
	}
}

// TestUpdate: Update sees the live entry (not an expired one), stores only
// when told to, and concurrent updates of one key all count.
func TestUpdate(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := New[int](clk, time.Minute, 0)
	inc := func(v int, ok bool) (int, bool) {
		if !ok {
			return 100, true
		}
		return v + 1, true
	}
	onlyIfThere := func(v int, ok bool) (int, bool) { return v + 1000, ok }
	c.Update("none", onlyIfThere)
	if c.Has("none") {
		t.Fatal("an update that declined to store stored")
	}
	c.Update("k", inc)
	c.Update("k", inc)
	if v, _ := c.Get("k"); v != 101 {
		t.Fatalf("after two updates k = %d, want 101", v)
	}
	clk.Advance(time.Minute)
	c.Update("k", inc)
	if v, _ := c.Get("k"); v != 100 {
		t.Fatalf("an update after expiry saw the expired entry: k = %d, want 100", v)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() { c.Update("k", inc) })
	}
	wg.Wait()
	if v, _ := c.Get("k"); v != 150 {
		t.Errorf("after 50 concurrent updates k = %d, want 150", v)
	}
}
