package app_test

// The conversation driver of the whole-program Slack tests: slacktest.Driver,
// and the steps of a reset as these tests take them (the adapter's tests have
// their own in adapters/slack).

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
)

// env is the running program as the driver sees it: the fake Slack it talks to
// and the bot's own HTTP server.
type env struct {
	*slacktest.Driver // delivers, waits, clicks and signs in on the fake
	t                 testing.TB
	ctx               context.Context
	fs                *slacktest.Server
	clk               *clock.Fake // nil: the program runs on the real clock
	cat               *catalog.Catalog
	base              string
}

const (
	alice    = "U0ALICE"
	bob      = "U0BOB"
	helpdesk = "C0HELP"
	secret   = "8f14e45fceea167a5a36dedd4bea2543" // the signing secret of the tests
)

// waitTimeout bounds every wait: a failing test stops instead of hanging. No
// test waits for time to pass; time moves only with the fake clock.
const waitTimeout = 20 * time.Second

var worksUntil = regexp.MustCompile(`This link works until (\d\d:\d\d \w+)`)

// resetUntilWarning drives alice from "reset" to the warning with the
// confirm button: it picks her Pixel (a temporary passcode) and signs in.
// between runs after the device pick, before the sign-in (a reconnect, say).
func (e *env) resetUntilWarning(between func()) slacktest.Message {
	e.t.Helper()
	im := slacktest.IM(alice)
	e.Deliver(e.fs.DM(alice, "reset"))
	list := e.WaitMessage(im, "device list", slacktest.HasAction("pcb_choice_1"))
	if got := len(list.Actions()); got != 4 { // three devices and Cancel
		e.t.Fatalf("device list has %d elements, want 4: %+v", got, list.Actions())
	}
	if a := list.Action("pcb_choice_1"); a.Text != "Alice's Pixel 8" {
		e.t.Fatalf("second device button = %q", a.Text)
	}
	e.Click(alice, list, "pcb_choice_1", "")
	// The clicked message loses its device buttons, names the choice and
	// holds the sign-in link under it (the click is answered in place).
	linkMsg := e.WaitMessage(im, "device list answered with the sign-in link", func(m slacktest.Message) bool {
		return m.TS == list.TS && strings.Contains(m.Texts(), "You chose: Alice's Pixel 8") && slacktest.HasAction("pcb_link")(m) && !slacktest.HasAction("pcb_choice_1")(m)
	})
	if between != nil {
		between()
	}
	link := linkMsg.Action("pcb_link")
	if !strings.HasPrefix(link.URL, e.base+"/r/") {
		e.t.Fatalf("link %q does not point at the bot", link.URL)
	}
	// The link's own line says the same time as the engine's sentence.
	until := worksUntil.FindStringSubmatch(linkMsg.Texts())
	if until == nil || !strings.Contains(linkMsg.Texts(), "Works until "+until[1]) {
		e.t.Errorf("link message does not say until when it works: %q", linkMsg.Texts())
	}
	if e.clk != nil && until != nil && until[1] != "09:05 UTC" {
		e.t.Errorf("link works until %s, want 09:05 UTC (five minutes)", until[1])
	}
	if strings.Contains(linkMsg.Texts(), link.URL) || strings.Contains(linkMsg.Text, link.URL) {
		e.t.Errorf("a text of the message carries the link: %q / %q", linkMsg.Texts(), linkMsg.Text)
	}
	e.SignIn(link.URL, "alice@contoso.example")
	warning := e.WaitMessage(im, "warning", slacktest.HasText("Warning: after the passcode"))
	confirm := warning.Action("pcb_button_0")
	if confirm.Style != "danger" || confirm.Confirm == nil || confirm.Confirm.Style != "danger" || confirm.Confirm.Title != "Reset passcode?" {
		e.t.Fatalf("reset button without a danger confirm dialog: %+v %+v", confirm, confirm.Confirm)
	}
	if c := warning.Action("pcb_button_1"); c.Text != "Cancel" {
		e.t.Fatalf("second button = %+v, want Cancel", c)
	}
	return warning
}

// confirm presses "Reset passcode" and waits for the warning to lose its buttons.
func (e *env) confirm(warning slacktest.Message) {
	e.t.Helper()
	e.Click(alice, warning, "pcb_button_0", "")
	e.WaitMessage(warning.Channel, "warning without buttons", func(m slacktest.Message) bool {
		return m.TS == warning.TS && len(m.Actions()) == 0 && strings.Contains(m.Texts(), "You chose: Reset passcode")
	})
}
