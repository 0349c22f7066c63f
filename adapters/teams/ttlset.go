package teams

import (
	"sync"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// ttlSet remembers keys for a while, by the injected clock (the deadline in
// each entry counts; go-cache only frees the memory later).
type ttlSet struct {
	clk clock.Clock
	ttl time.Duration
	mu  sync.Mutex
	c   *cache.Cache
}

func newTTLSet(clk clock.Clock, ttl time.Duration) *ttlSet {
	return &ttlSet{clk: clk, ttl: ttl, c: cache.New(ttl+time.Minute, time.Minute)}
}

// add records key and reports whether it was new (absent or expired).
func (s *ttlSet) add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	if v, ok := s.c.Get(key); ok && now.Before(v.(time.Time)) {
		return false
	}
	s.c.Set(key, now.Add(s.ttl), cache.DefaultExpiration)
	return true
}

func (s *ttlSet) has(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.c.Get(key)
	return ok && s.clk.Now().Before(v.(time.Time))
}

func (s *ttlSet) remove(key string) {
	s.mu.Lock()
	s.c.Delete(key)
	s.mu.Unlock()
}
