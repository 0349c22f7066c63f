package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// TestUnwritableDatabaseRefusesReset: when the SQLite file stops taking writes
// between the warning and the click, the bot refuses to reset rather than reset
// without a record, tells the person, and alerts the helpdesk.
func TestUnwritableDatabaseRefusesReset(t *testing.T) {
	db, _ := open(t)
	db.db.SetMaxOpenConns(1) // one connection, so the pragma below holds for every statement
	k := resetflowtest.Start(t, resetflowtest.WithDeps(func(d *resetflow.Deps) { d.Recorder, d.Store, d.Links = db, db, db }))
	clk, fl, cat, c, al, eng := k.Clock, k.Fleet, k.Catalog, k.Chat, k.Alerts, k.Engine
	ctx := context.Background()
	in := func(text, action string) {
		eng.Handle(ctx, resetflow.Input{From: resetflow.Address{Platform: "t", UserID: "alice"}, Email: "alice@contoso.example", Text: text, Action: action})
	}
	in("reset", "")
	in("1", "")
	m, _ := c.Last()
	link := m.Link.URL
	u, _ := fl.LookupUser(ctx, "alice@contoso.example")
	if r := eng.CompleteSignIn(ctx, link[strings.LastIndex(link, "/")+1:], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: clk.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in %v", r.Status)
	}
	warn, _ := c.Last()

	if _, err := db.db.Exec(`PRAGMA query_only = ON`); err != nil {
		t.Fatal(err)
	}
	in("", warn.Buttons[0].Value)
	if got, _ := c.Last(); got.Text != cat.T("en", "audit_unavailable") {
		t.Errorf("said %q", got.Text)
	}
	if fl.Resets() != 0 {
		t.Fatal("reset without an audit record")
	}
	if got := al.Kinds(); len(got) != 1 || got[0] != resetflow.AlertAuditDown {
		t.Errorf("alerts %v", got)
	}
	if n, _ := db.ResetsSince(ctx, u.Key(), t0.Add(-time.Hour)); n != 0 {
		t.Errorf("a refused reset was counted")
	}
	// Writable again: the person can start over and finish.
	db.db.Exec(`PRAGMA query_only = OFF`)
	in("reset", "")
	if m, _ := c.Last(); len(m.Choices) == 0 {
		t.Errorf("no device list after the database recovered: %q", m.Text)
	}
}
