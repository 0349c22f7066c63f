package sqlite

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

type chat struct {
	mu   sync.Mutex
	msgs []resetflow.Message
}

func (c *chat) Send(_ context.Context, _ resetflow.Address, m resetflow.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, m)
	return nil
}

func (c *chat) last() resetflow.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.msgs[len(c.msgs)-1]
}

type alerts struct {
	mu    sync.Mutex
	kinds []resetflow.AlertKind
}

func (a *alerts) Alert(_ context.Context, al resetflow.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.kinds = append(a.kinds, al.Kind)
}

// TestUnwritableDatabaseRefusesReset: when the SQLite file stops taking writes
// between the warning and the click, the bot refuses to reset rather than reset
// without a record, tells the person, and alerts the helpdesk.
func TestUnwritableDatabaseRefusesReset(t *testing.T) {
	db, _ := open(t)
	db.db.SetMaxOpenConns(1) // one connection, so the pragma below holds for every statement
	clk := clock.NewFake(t0)
	fl, _ := fleet.Load(fleet.Demo(), clk, time.Second)
	cat := catalog.MustNew("en")
	c, al := &chat{}, &alerts{}
	eng, err := resetflow.New(resetflow.DefaultConfig(), resetflow.Deps{Clock: clk, Catalog: cat, Devices: fl, Directory: fl,
		Messenger: c, Alerter: al, Recorder: db, Store: db, Links: db})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	in := func(text, action string) {
		eng.Handle(ctx, resetflow.Input{From: resetflow.Address{Platform: "t", UserID: "alice"}, Email: "alice@contoso.example", Text: text, Action: action})
	}
	in("reset", "")
	in("1", "")
	link := c.last().Link.URL
	u, _ := fl.LookupUser(ctx, "alice@contoso.example")
	if r := eng.CompleteSignIn(ctx, link[strings.LastIndex(link, "/")+1:], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: clk.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in %v", r.Status)
	}
	warn := c.last()

	if _, err := db.db.Exec(`PRAGMA query_only = ON`); err != nil {
		t.Fatal(err)
	}
	in("", warn.Buttons[0].Value)
	if got := c.last().Text; got != cat.T("en", "audit_unavailable") {
		t.Errorf("said %q", got)
	}
	if fl.Resets() != 0 {
		t.Fatal("reset without an audit record")
	}
	if len(al.kinds) != 1 || al.kinds[0] != resetflow.AlertAuditDown {
		t.Errorf("alerts %v", al.kinds)
	}
	if n, _ := db.ResetsSince(ctx, u.Key(), t0.Add(-time.Hour)); n != 0 {
		t.Errorf("a refused reset was counted")
	}
	// Writable again: the person can start over and finish.
	db.db.Exec(`PRAGMA query_only = OFF`)
	in("reset", "")
	if len(c.last().Choices) == 0 {
		t.Errorf("no device list after the database recovered: %q", c.last().Text)
	}
}
