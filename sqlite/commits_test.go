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

// TestStopMidResetResumesFromTheCommits: a process stops (its engine's
// background work cancelled, the file closed) after the reset was requested
// and before its result; the next process, on the same file, finds the reset
// in flight in what the commits wrote, reads its result without asking again,
// shows the passcode once and ends it. The audit trail has each step once.
func TestStopMidResetResumesFromTheCommits(t *testing.T) {
	db1, path := open(t)
	k1 := resetflowtest.Start(t, resetflowtest.WithDeps(func(d *resetflow.Deps) { d.Recorder, d.Store, d.Links, d.Conversations = db1, db1, db1, db1 }))
	ctx := context.Background()
	from := resetflow.Address{Platform: "t", UserID: "alice"}
	in := func(text, action string) {
		k1.Engine.Handle(ctx, resetflow.Input{From: from, Email: "alice@contoso.example", Text: text, Action: action})
	}
	in("reset", "")
	in("2", "")
	m, _ := k1.Chat.Last()
	u, _ := k1.Fleet.LookupUser(ctx, "alice@contoso.example")
	if r := k1.Engine.CompleteSignIn(ctx, m.Link.URL[strings.LastIndex(m.Link.URL, "/")+1:], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: k1.Clock.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in %v", r.Status)
	}
	warn, _ := k1.Chat.Last()
	in("", warn.Buttons[0].Value)
	k1.Clock.WaitForTimers(1) // the first result read: the request was made and recorded
	stopped, cancel := context.WithCancel(ctx)
	cancel()
	k1.Engine.Shutdown(stopped)
	if err := db1.Close(); err != nil {
		t.Fatal(err)
	}
	if k1.Fleet.Resets() != 1 {
		t.Fatalf("%d reset requests before the stop", k1.Fleet.Resets())
	}
	k1.Clock.Advance(time.Minute) // the device finishes meanwhile

	db2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db2.Close() })
	k2 := resetflowtest.Start(t, resetflowtest.WithDeps(func(d *resetflow.Deps) {
		d.Recorder, d.Store, d.Links, d.Conversations = db2, db2, db2, db2
		d.Devices, d.Directory = k1.Fleet, k1.Fleet
	}))
	k2.Clock.Advance(k1.Clock.Now().Sub(k2.Clock.Now())) // the same time as the first process
	if err := k2.Engine.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	success := k2.Catalog.T("en", "success", map[string]any{"Device": "Alice's Pixel 8"})
	done := make(chan struct{})
	go func() {
		k2.Chat.WaitFrom(0, "alice", func(m resetflow.Message) bool { return m.Text == success })
		close(done)
	}()
	for waiting := true; waiting; {
		timers := make(chan struct{})
		go func() { k2.Clock.WaitForTimers(1); close(timers) }()
		select {
		case <-done:
			waiting = false
		case <-timers:
			k2.Clock.Advance(time.Second)
		}
	}
	shown := 0
	for _, s := range k2.Chat.All() {
		if s.M.Secret != nil {
			shown++
		}
	}
	if shown != 1 || k1.Fleet.Resets() != 1 {
		t.Fatalf("passcode shown %d times, %d reset requests", shown, k1.Fleet.Resets())
	}
	if l, err := db2.InFlight(ctx); err != nil || len(l) != 0 {
		t.Fatalf("still in flight: %+v %v", l, err)
	}
	evs, err := db2.Events(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range evs {
		got = append(got, e.Step)
	}
	if s := strings.Join(got, " "); s != "request devices_listed eligibility link_issued signin confirm reset_requested result delivery" {
		t.Fatalf("audit trail: %s", s)
	}
}
