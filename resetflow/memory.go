package resetflow

import (
	"context"
	"sync"
	"time"
)

// NopRecorder drops audit events.
type NopRecorder struct{}

func (NopRecorder) Record(context.Context, Event) error { return nil }

// MemoryStore is a Store that lives as long as the process.
type MemoryStore struct {
	mu       sync.Mutex
	resets   map[string][]time.Time // user id -> reset times
	inflight map[string]InFlight
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{resets: map[string][]time.Time{}, inflight: map[string]InFlight{}}
}

func (s *MemoryStore) ResetsSince(_ context.Context, userID string, since time.Time) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	keep := s.resets[userID][:0]
	for _, t := range s.resets[userID] {
		if !t.Before(since) {
			n++
			keep = append(keep, t)
		}
	}
	s.resets[userID] = keep
	return n, nil
}

func (s *MemoryStore) BeginReset(_ context.Context, r InFlight, since time.Time, limit int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := r.User.Key()
	n := 0
	for _, t := range s.resets[k] {
		if !t.Before(since) {
			n++
		}
	}
	if n >= limit {
		return ErrLimitReached
	}
	s.resets[k] = append(s.resets[k], r.Started)
	s.inflight[r.Flow] = r
	return nil
}

func (s *MemoryStore) MarkDelivered(_ context.Context, flow string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.inflight[flow]; ok {
		r.Delivered = true
		s.inflight[flow] = r
	}
	return nil
}

func (s *MemoryStore) EndReset(_ context.Context, flow, _ string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.inflight, flow)
	return nil
}

func (s *MemoryStore) InFlight(context.Context) ([]InFlight, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []InFlight
	for _, r := range s.inflight {
		out = append(out, r)
	}
	return out, nil
}

// MemoryLinks is a Links that lives as long as the process.
type MemoryLinks struct {
	mu    sync.Mutex
	links map[string]User
}

// NewMemoryLinks returns an empty link table.
func NewMemoryLinks() *MemoryLinks { return &MemoryLinks{links: map[string]User{}} }

func (l *MemoryLinks) LinkedUser(_ context.Context, platform, chatUserID string) (User, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.links[platform+"\x00"+chatUserID]
	return u, ok, nil
}

func (l *MemoryLinks) SetLink(_ context.Context, platform, chatUserID string, u User) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.links[platform+"\x00"+chatUserID] = u
	return nil
}

func (l *MemoryLinks) RemoveLink(_ context.Context, platform, chatUserID string) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := platform + "\x00" + chatUserID
	_, ok := l.links[k]
	delete(l.links, k)
	return ok, nil
}
