package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// TestWholeResetTransactions counts the transactions (each one WAL sync) that
// a whole reset commits in SQLite when the file is the engine's Recorder,
// Store and Conversations: one for each chat action before its reply (DM,
// pick, sign-in, confirm), then the reset request's record, the result's
// commit before the passcode and the delivery's after it: 7 (12 when each
// record and state change was its own commit).
func TestWholeResetTransactions(t *testing.T) {
	db, _ := open(t)
	k := resetflowtest.Start(t, resetflowtest.WithDeps(func(d *resetflow.Deps) { d.Recorder, d.Store, d.Links, d.Conversations = db, db, db, db }))
	clk, fl, cat, c, eng := k.Clock, k.Fleet, k.Catalog, k.Chat, k.Engine
	ctx := context.Background()
	in := func(text, action string) {
		eng.Handle(ctx, resetflow.Input{From: resetflow.Address{Platform: "t", UserID: "alice"}, Email: "alice@contoso.example", Text: text, Action: action})
	}
	commits := func() int64 { return db.w.commits.Load() }
	step := func(name string, do func()) {
		t.Helper()
		before := commits()
		do()
		if n := commits() - before; n != 1 {
			t.Errorf("%s: %d commits before its reply, want 1", name, n)
		}
	}
	start := commits()
	step("DM", func() { in("reset", "") })
	step("pick", func() { in("2", "") }) // Alice's Pixel 8: a temporary passcode
	m, _ := c.Last()
	link := m.Link.URL
	u, _ := fl.LookupUser(ctx, "alice@contoso.example")
	step("sign-in", func() {
		if r := eng.CompleteSignIn(ctx, link[strings.LastIndex(link, "/")+1:], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: clk.Now()}); r.Status != resetflow.SignInOK {
			t.Fatalf("sign-in %v", r.Status)
		}
	})
	warn, _ := c.Last()
	before := commits()
	in("", warn.Buttons[0].Value)
	if n := commits() - before; n < 1 {
		t.Errorf("confirm: %d commits before its reply, want 1", n)
	}
	success := cat.T("en", "success", map[string]any{"Device": "Alice's Pixel 8"})
	done := make(chan struct{})
	go func() {
		c.WaitFrom(0, "alice", func(m resetflow.Message) bool { return m.Text == success })
		close(done)
	}()
	for waiting := true; waiting; {
		timers := make(chan struct{})
		go func() { clk.WaitForTimers(1); close(timers) }()
		select {
		case <-done:
			waiting = false
		case <-timers:
			clk.Advance(time.Second)
		}
	}
	var passcode bool
	for _, s := range c.All() {
		passcode = passcode || s.M.Secret != nil
	}
	if !passcode {
		t.Fatal("no passcode shown")
	}
	if n := commits() - start; n != 7 {
		t.Fatalf("a whole reset committed %d transactions, want 7", n)
	}
	if in, err := db.InFlight(ctx); err != nil || len(in) != 0 {
		t.Fatalf("still in flight: %+v %v", in, err)
	}
	if open, err := db.TakeConversations(ctx, time.Time{}, time.Now().Add(time.Hour)); err != nil || len(open) != 0 {
		t.Fatalf("conversation left open: %+v %v", open, err)
	}
}

// TestUnwritableDatabaseShowsNoDeviceList: the DM's one commit (request,
// device list, open conversation) fails: the person reads audit_unavailable,
// no device list is shown, no conversation is remembered.
func TestUnwritableDatabaseShowsNoDeviceList(t *testing.T) {
	db, _ := open(t)
	db.db.SetMaxOpenConns(1) // one connection, so the pragma below holds for every statement
	k := resetflowtest.Start(t, resetflowtest.WithDeps(func(d *resetflow.Deps) { d.Recorder, d.Store, d.Links, d.Conversations = db, db, db, db }))
	ctx := context.Background()
	if _, err := db.db.Exec(`PRAGMA query_only = ON`); err != nil {
		t.Fatal(err)
	}
	k.Engine.Handle(ctx, resetflow.Input{From: resetflow.Address{Platform: "t", UserID: "alice"}, Email: "alice@contoso.example", Text: "reset"})
	if got, _ := k.Chat.Last(); got.Text != k.Catalog.T("en", "audit_unavailable") || len(got.Choices) != 0 {
		t.Fatalf("said %+v", got)
	}
	if k.Engine.Active() != 0 {
		t.Fatal("a conversation opened without its commit")
	}
	db.db.Exec(`PRAGMA query_only = OFF`)
	if open, err := db.TakeConversations(ctx, time.Time{}, time.Now().Add(time.Hour)); err != nil || len(open) != 0 {
		t.Fatalf("conversation remembered: %+v %v", open, err)
	}
	if evs, err := db.Events(ctx, Filter{}); err != nil || len(evs) != 0 {
		t.Fatalf("events written: %+v %v", evs, err)
	}
}
