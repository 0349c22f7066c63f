// Package ttlcache is a map whose entries live a while on the injected clock:
// the chat adapters' dedupe sets and their caches of platform answers.
package ttlcache

import (
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Cache is a map whose entries live ttl on the injected clock and which
// holds at most max entries (no limit when max <= 0): the oldest go first.
// It is safe for concurrent use.
type Cache[V any] struct {
	clk clock.Clock
	ttl time.Duration
	max int

	mu    sync.Mutex
	items map[string]ttlItem[V]
	order []ttlKey // insertion order, for expiry and eviction
	head  int
	seq   uint64
}

// Entries are small: the users cache holds one per person and the dedupe
// cache one per event, so with thousands of conversations open they add up.
type ttlItem[V any] struct {
	v   V
	at  int64 // when it was written: the clock's reading in Unix nanoseconds
	seq uint64
}

type ttlKey struct {
	key string
	seq uint64 // the item it was written for; a later write of the key supersedes it
}

// New makes a cache whose entries live ttl, at most max of them (no limit when max <= 0).
func New[V any](clk clock.Clock, ttl time.Duration, max int) *Cache[V] {
	return &Cache[V]{clk: clk, ttl: ttl, max: max, items: map[string]ttlItem[V]{}}
}

// Get returns the live entry for key.
func (c *Cache[V]) Get(key string) (V, bool) {
	now := c.clk.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[key]
	if !ok || now-it.at >= int64(c.ttl) {
		var zero V
		return zero, false
	}
	return it.v, true
}

// Set stores v under key, for ttl from now.
func (c *Cache[V]) Set(key string, v V) {
	now := c.clk.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.putLocked(key, v, now)
}

// Add stores v under key unless a live entry is there; it reports whether it stored.
// It is the check-and-set of a deduplication.
func (c *Cache[V]) Add(key string, v V) bool {
	now := c.clk.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	if it, ok := c.items[key]; ok && now-it.at < int64(c.ttl) {
		return false
	}
	c.putLocked(key, v, now)
	return true
}

// Update calls f with the live entry under key (and whether there is one)
// and, when f says so, stores what it returns, for ttl from now: in one step,
// so that concurrent updates of a key do not undo each other.
func (c *Cache[V]) Update(key string, f func(v V, ok bool) (V, bool)) {
	now := c.clk.Now().UnixNano()
	c.mu.Lock()
	defer c.mu.Unlock()
	it, ok := c.items[key]
	if ok && now-it.at >= int64(c.ttl) {
		var zero V
		it.v, ok = zero, false
	}
	if v, store := f(it.v, ok); store {
		c.putLocked(key, v, now)
	}
}

// Has reports whether a live entry is under key.
func (c *Cache[V]) Has(key string) bool {
	_, ok := c.Get(key)
	return ok
}

// Remove forgets key.
func (c *Cache[V]) Remove(key string) {
	c.mu.Lock()
	delete(c.items, key)
	c.mu.Unlock()
}

func (c *Cache[V]) putLocked(key string, v V, now int64) {
	c.seq++
	c.items[key] = ttlItem[V]{v: v, at: now, seq: c.seq}
	c.order = append(c.order, ttlKey{key: key, seq: c.seq})
	// Sweep from the oldest: superseded and expired entries, and the oldest beyond max.
	for c.head < len(c.order) {
		k := c.order[c.head]
		it, current := c.items[k.key]
		current = current && it.seq == k.seq
		if current && now-it.at < int64(c.ttl) && (c.max <= 0 || len(c.items) <= c.max) {
			break
		}
		if current {
			delete(c.items, k.key)
		}
		c.order[c.head] = ttlKey{}
		c.head++
	}
	// Drop the swept head, and superseded entries once they outnumber the live ones.
	if live := len(c.order) - c.head; live > 2*len(c.items)+64 {
		kept := make([]ttlKey, 0, len(c.items))
		for _, k := range c.order[c.head:] {
			if it, ok := c.items[k.key]; ok && it.seq == k.seq {
				kept = append(kept, k)
			}
		}
		c.order, c.head = kept, 0
	} else if c.head > 1024 && c.head > len(c.order)/2 {
		c.order = append([]ttlKey(nil), c.order[c.head:]...)
		c.head = 0
	}
}
