package slack_test

import (
	"strings"
	"testing"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

// TestForgedClickIsIgnored: Mallory (bob) sends a click on the warning in
// Alice's DM (Reset passcode, then Cancel). Nothing happens: no reset, the
// warning keeps its buttons, the engine hears nothing from her; then Alice's
// own click still works and her reset goes through.
func TestForgedClickIsIgnored(t *testing.T) {
	e := start(t, options{})
	warning := e.resetUntilWarning(nil)
	mallory := bob
	bobIM := slacktest.IM(mallory)
	for _, button := range []string{"pcb_button_0", "pcb_button_1"} {
		e.Click(mallory, warning, button, "")
	}
	// Mallory's inputs are handled in order: once her "help" is answered, her clicks were too.
	before := len(e.fs.Messages(bobIM))
	e.Deliver(e.fs.DM(mallory, "help"))
	if err := e.fs.WaitFor(e.ctx, func() bool { return len(e.fs.Messages(bobIM)) > before }); err != nil {
		t.Fatal(err)
	}
	m, _ := e.fs.Message(warning.Channel, warning.TS)
	if len(m.Actions()) != 2 || strings.Contains(m.Texts(), "You chose") {
		t.Fatalf("Mallory's click used up Alice's warning: %q %+v", m.Texts(), m.Actions())
	}
	if got := e.fleet.Resets(); got != 0 {
		t.Fatalf("Mallory's click reset a device (%d resets)", got)
	}
	im := slacktest.IM(alice)
	if n := e.countMessages(im, "Resetting the passcode") + e.countMessages(im, "Cancelled"); n != 0 {
		t.Fatalf("Mallory's click moved Alice's conversation")
	}
	if !strings.Contains(e.logs.String(), "ignoring a click on another person's message") {
		t.Errorf("the forged click was not logged")
	}
	// Alice's own click still counts.
	e.confirm(warning)
	e.finishReset()
	if got := e.fleet.Resets(); got != 1 {
		t.Errorf("fleet resets = %d, want 1", got)
	}
}

// TestForgedClickAfterRestart: for a message the adapter did not send in this
// run (posted before a restart), the owner is the person whose IM holds it:
// Mallory's click on it is ignored and leaves it usable, Alice's reaches the engine.
func TestForgedClickAfterRestart(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	api := slackgo.New(e.fs.BotToken, slackgo.OptionAPIURL(e.fs.APIURL()))
	btn := slackgo.NewButtonBlockElement("pcb_button_0", "confirm:dev-pixel", slackgo.NewTextBlockObject("plain_text", "Reset passcode", false, false))
	im := slacktest.IM(alice)
	_, ts, err := api.PostMessage(im, slackgo.MsgOptionText("warning", false), slackgo.MsgOptionBlocks(slackgo.NewActionBlock("pcb_buttons", btn)))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := e.fs.Message(im, ts)
	if !ok {
		t.Fatal("the fake did not keep the message")
	}
	e.Click(bob, m, "pcb_button_0", "")
	e.Click(alice, m, "pcb_button_0", "")
	// Mallory's inputs are handled in order: her "help" comes after her click.
	e.Deliver(e.fs.DM(bob, "help"))
	var aliceClicked, bobHelped bool
	for !aliceClicked || !bobHelped {
		in := r.next(t)
		switch {
		case in.From.UserID == alice && in.Action == "confirm:dev-pixel":
			aliceClicked = true
		case in.From.UserID == bob && in.Text == "help":
			bobHelped = true
		default:
			t.Fatalf("the engine got %+v", in)
		}
	}
	if !strings.Contains(e.logs.String(), "ignoring a click on another person's message") {
		t.Errorf("the forged click was not logged")
	}
}
