package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// commitTogether: Commit writes a step's events with the store's and the
// conversations' state in one transaction, all of it or nothing, and says so
// through Keeps; over the limit it keeps the events, not the reset; and what
// it wrote survives a restart like the methods' writes.
func commitTogether(t *testing.T, o func() Store, limitErr error) {
	ctx := context.Background()
	s := open(t, o)
	if !s.Keeps(s) {
		t.Fatal("a store does not keep its own writes")
	}
	if other := open(t, o); s.Keeps(other) || s.Keeps(resetflow.NewMemoryStore()) {
		t.Fatal("a store keeps another handle's (or another store's) writes")
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	r := reset("c1", "u1", now)
	// DM: the request, the device list, the open conversation.
	if err := s.Commit(ctx, resetflow.Commit{
		Events: []resetflow.Event{ev(0, "c1", "request", "u1@x", "", ""), ev(1, "c1", "devices_listed", "u1@x", "", "1")},
		Opened: &resetflow.OpenedConversation{Flow: "c1", To: r.Address, Locale: "ja", At: now},
	}); err != nil {
		t.Fatal(err)
	}
	// Confirm: the confirmation and the reset in flight.
	if err := s.Commit(ctx, resetflow.Commit{Events: []resetflow.Event{ev(2, "c1", "confirm", "u1@x", "dev-c1", "")},
		Begin: &resetflow.BeginReset{Reset: r, Since: now.Add(-24 * time.Hour), Limit: 2}}); err != nil {
		t.Fatal(err)
	}
	// A commit one part of which the database refuses (the flow is taken)
	// writes none of it.
	if err := s.Commit(ctx, resetflow.Commit{Events: []resetflow.Event{ev(3, "c1", "bogus", "u1@x", "", "")},
		Begin: &resetflow.BeginReset{Reset: r, Since: now.Add(-24 * time.Hour), Limit: 5}}); err == nil || errors.Is(err, limitErr) {
		t.Fatalf("a second reset under a flow already begun: %v", err)
	}
	// Over the limit: the confirmation is kept, the reset is not.
	if err := s.Commit(ctx, resetflow.Commit{Events: []resetflow.Event{ev(4, "c2", "confirm", "u1@x", "dev-c2", "")},
		Begin: &resetflow.BeginReset{Reset: reset("c2", "u1", now.Add(time.Second)), Since: now.Add(-24 * time.Hour), Limit: 1}}); !errors.Is(err, limitErr) {
		t.Fatalf("over the limit: %v, want %v", err, limitErr)
	}
	if n, err := s.ResetsSince(ctx, "u1", now.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("resets counted: %d %v, want 1", n, err)
	}
	// The result about to be shown: marked delivered, not yet ended.
	if err := s.Commit(ctx, resetflow.Commit{Delivered: "c1"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, o)
	in, err := s.InFlight(ctx)
	if err != nil || len(in) != 1 || in[0].Flow != "c1" || !in[0].Delivered || in[0].Device.ID != "dev-c1" {
		t.Fatalf("in flight after a restart: %+v %v", in, err)
	}
	// The result: its event, the end of the reset and of the conversation.
	if err := s.Commit(ctx, resetflow.Commit{Events: []resetflow.Event{ev(5, "c1", "result", "u1@x", "dev-c1", "done")},
		Delivered: "c1", End: &resetflow.EndReset{Flow: "c1", Outcome: "done"}, Closed: "c1"}); err != nil {
		t.Fatal(err)
	}
	if in, err := s.InFlight(ctx); err != nil || len(in) != 0 {
		t.Fatalf("in flight after its end: %+v %v", in, err)
	}
	all, err := s.Events(ctx, sqlite.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := steps(all); got != "c1/request c1/devices_listed c1/confirm c2/confirm c1/result" {
		t.Fatalf("events: %s", got)
	}
	// Open, then closed in a commit: no conversation left to tell.
	if err := s.Commit(ctx, resetflow.Commit{Opened: &resetflow.OpenedConversation{Flow: "c3", To: r.Address, Locale: "en", At: now}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, resetflow.Commit{Closed: "c3"}); err != nil {
		t.Fatal(err)
	}
	if open, err := s.TakeConversations(ctx, now.Add(-time.Hour), now.Add(time.Hour)); err != nil || len(open) != 0 {
		t.Fatalf("conversations left open: %+v %v", open, err)
	}
	if err := s.Commit(ctx, resetflow.Commit{}); err != nil {
		t.Fatalf("an empty commit: %v", err)
	}
}
