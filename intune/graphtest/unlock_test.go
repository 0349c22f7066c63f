package graphtest

import (
	"testing"
	"time"
)

func TestDoneAt(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddUser(User{ID: "u1", UPN: "u1@example.com"}, Device{ID: "d1", OperatingSystem: "Android", Reset: Plan{After: 7 * time.Second}},
		Device{ID: "d2", OperatingSystem: "Android"})
	if _, ok := s.DoneAt("d1"); ok {
		t.Error("DoneAt before any reset request")
	}
	s.mu.Lock()
	before := s.clock.Now()
	s.reset("d1", "c")
	s.reset("d2", "c")
	s.mu.Unlock()
	at, ok := s.DoneAt("d1")
	if !ok || at.Sub(before) < 7*time.Second || at.Sub(before) > 8*time.Second {
		t.Errorf("DoneAt = %v, %v; want the request plus 7s", at.Sub(before), ok)
	}
	if _, ok := s.DoneAt("d2"); ok {
		t.Error("DoneAt of a read-count plan")
	}
}
