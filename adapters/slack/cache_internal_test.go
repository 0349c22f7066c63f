package slack

import (
	"fmt"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

func TestTTLCache(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	c := newTTLCache[int](clk, time.Minute, 3)
	if !c.add("a", 1) || c.add("a", 2) {
		t.Fatal("add: the second add of a live key must fail")
	}
	if v, ok := c.get("a"); !ok || v != 1 {
		t.Fatalf("get(a) = %d, %v", v, ok)
	}
	clk.Advance(time.Minute)
	if _, ok := c.get("a"); ok {
		t.Fatal("a outlived its ttl")
	}
	if !c.add("a", 3) {
		t.Fatal("an expired key cannot be added again")
	}
	for i := range 5 {
		c.set(fmt.Sprint(i), i)
	}
	for i, want := range []bool{false, false, true, true, true} {
		if _, ok := c.get(fmt.Sprint(i)); ok != want {
			t.Errorf("get(%d) present = %v, want %v (at most 3 entries, oldest out first)", i, ok, want)
		}
	}
	if len(c.items) > 3 {
		t.Errorf("%d entries held, max 3", len(c.items))
	}
	// Many re-sets of one key, even at one instant, keep the bookkeeping small.
	for range 5000 {
		c.set("k", 1)
	}
	if n := len(c.order) - c.head; n > 2*len(c.items)+64 {
		t.Errorf("%d order entries for a handful of keys", n)
	}
}
