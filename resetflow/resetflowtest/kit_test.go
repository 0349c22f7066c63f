package resetflowtest_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// TestKitStandsUpAWorkingEngine: the kit's engine answers in its chat, links
// point at the configured public URL, and its options reach the engine.
func TestKitStandsUpAWorkingEngine(t *testing.T) {
	ctx := context.Background()
	k := resetflowtest.Start(t, resetflowtest.WithConfig(func(c *resetflow.Config) { c.PublicURL = "http://kit.test" }))
	if !k.Clock.Now().Equal(resetflowtest.T0) {
		t.Fatalf("clock at %v; want T0", k.Clock.Now())
	}
	k.Say(ctx, "alice", "alice@contoso.example", "reset", "")
	list, ok := k.Chat.Last()
	if !ok || len(list.Buttons) == 0 {
		t.Fatalf("no device list after reset: %+v", list)
	}
	k.Say(ctx, "alice", "alice@contoso.example", "1", "")
	m, _ := k.Chat.Last()
	if m.Link == nil || !strings.HasPrefix(m.Link.URL, "http://kit.test/r/") {
		t.Fatalf("sign-in link %+v; want one under the configured public URL", m.Link)
	}
	if all := k.Chat.All(); len(all) < 2 || all[0].To.UserID != "alice" || all[0].To.Platform != "t" {
		t.Fatalf("messages went to %+v", all)
	}
}

// TestKitAuditFails: Audit.Fail makes the recorder refuse, so a reset is
// refused without a record, and the helpdesk is told.
func TestKitAuditFails(t *testing.T) {
	ctx := context.Background()
	k := resetflowtest.Start(t)
	k.Say(ctx, "alice", "alice@contoso.example", "reset", "")
	k.Say(ctx, "alice", "alice@contoso.example", "1", "")
	m, _ := k.Chat.Last()
	u, _ := k.Fleet.LookupUser(ctx, "alice@contoso.example")
	token := m.Link.URL[strings.LastIndex(m.Link.URL, "/")+1:]
	if r := k.Engine.CompleteSignIn(ctx, token, resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: k.Clock.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in %v", r.Status)
	}
	warn, _ := k.Chat.Last()
	k.Audit.Fail(context.DeadlineExceeded)
	k.Say(ctx, "alice", "alice@contoso.example", "", warn.Buttons[0].Value)
	if k.Fleet.Resets() != 0 {
		t.Fatal("reset while the audit trail refuses records")
	}
	if got := k.Alerts.Kinds(); len(got) != 1 || got[0] != resetflow.AlertAuditDown {
		t.Errorf("alerts %v; want one audit-down alert", got)
	}
	if steps := k.Audit.Steps(); len(steps) == 0 {
		t.Errorf("nothing was recorded before the failure: %v", steps)
	}
}

// TestKitShellDrivesAWholeReset: with WithShell the kit puts the terminal chat
// in front of the engine; a person types, the engine answers on the terminal,
// and the passcode is printed there once the fleet has made it.
func TestKitShellDrivesAWholeReset(t *testing.T) {
	ctx := context.Background()
	k := resetflowtest.Start(t, resetflowtest.WithShell("alice@contoso.example"))
	sh := k.Shell
	sh.Type(t, "reset")
	sh.Wait(t, regexp.MustCompile(`\[2\] Alice's Pixel 8`)) // an Android device: it gets a temporary passcode
	sh.Type(t, "2")
	link := sh.Wait(t, regexp.MustCompile(`http://bot\.test/r/([A-Za-z0-9_-]+)(?:\s|$)`)) // the sign-in link, not a device-list link (?d=n)
	u, _ := k.Fleet.LookupUser(ctx, "alice@contoso.example")
	if r := k.Engine.CompleteSignIn(ctx, link[1], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: k.Clock.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in %v", r.Status)
	}
	reset := sh.Wait(t, regexp.MustCompile(`\[(\d)\] `+regexp.QuoteMeta(k.Catalog.T("en", "button_reset"))))
	sh.Type(t, reset[1])
	sh.WaitAdvancing(t, k.Clock, regexp.MustCompile(`was reset successfully`))
	if k.Fleet.Resets() != 1 {
		t.Fatalf("%d resets; want 1", k.Fleet.Resets())
	}
	var secret string
	for _, s := range k.Chat.All() {
		if s.M.Secret != nil {
			secret = s.M.Secret.Reveal()
		}
	}
	if secret == "" || !strings.Contains(sh.Out.String(), secret) {
		t.Errorf("the passcode %q the kit's Chat saw is not on the terminal:\n%s", secret, sh.Out.String())
	}
}
