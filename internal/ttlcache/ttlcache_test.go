package ttlcache

import (
	"fmt"
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
