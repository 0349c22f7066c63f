package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

// callsAfter is the Web API calls of method made after call seq.
func (e *env) callsAfter(seq int, method string) []slacktest.Call {
	return e.fs.CallsWhere(func(c slacktest.Call) bool { return c.Seq > seq && c.Method == method })
}

func lastSeq(e *env) int {
	calls := e.fs.Calls()
	if len(calls) == 0 {
		return 0
	}
	return calls[len(calls)-1].Seq
}

// TestConfirmAnsweredInTheWarning: "Reset passcode" is answered in the warning
// itself, in one chat.update: the buttons go, the choice is named, and
// "Resetting…" is written under the warning's text; no message is posted for
// it. The progress that follows updates that message and keeps the warning
// above it; the passcode and the success notice are new messages.
func TestConfirmAnsweredInTheWarning(t *testing.T) {
	e := start(t, options{})
	im := slacktest.IM(alice)
	warning := e.resetUntilWarning(nil)
	seq := lastSeq(e)
	e.confirm(warning)
	m := e.WaitMessage(im, "resetting in the warning", func(m slacktest.Message) bool {
		return m.TS == warning.TS && strings.Contains(m.Texts(), "Resetting the passcode of Alice's Pixel 8")
	})
	if !strings.Contains(m.Texts(), "Warning: after the passcode") || !strings.Contains(m.Texts(), "You chose: Reset passcode") || len(m.Actions()) != 0 {
		t.Errorf("the answered warning: %q, %d actions; want the warning, the choice and Resetting, no buttons", m.Texts(), len(m.Actions()))
	}
	if strings.Index(m.Texts(), "Warning: after the passcode") > strings.Index(m.Texts(), "You chose") ||
		strings.Index(m.Texts(), "You chose") > strings.Index(m.Texts(), "Resetting the passcode") {
		t.Errorf("the answered warning is not in order warning, choice, answer: %q", m.Texts())
	}
	if !strings.HasPrefix(m.Text, "Resetting the passcode") {
		t.Errorf("its notification text is %q; want the answer's", m.Text)
	}
	pass := e.finishReset()
	if pass.TS == warning.TS {
		t.Fatal("the passcode was written into the warning")
	}
	final := e.WaitMessage(im, "progress done", func(m slacktest.Message) bool {
		return m.TS == warning.TS && strings.Contains(m.Texts(), "Passcode reset of Alice's Pixel 8: done")
	})
	if !strings.Contains(final.Texts(), "Warning: after the passcode") || !strings.Contains(final.Texts(), "You chose: Reset passcode") ||
		strings.Contains(final.Texts(), "Resetting the passcode") {
		t.Errorf("the progress's final state lost the warning or kept the old line: %q", final.Texts())
	}
	// Posts after the click: the passcode and the success notice only.
	var posted []string
	for _, c := range e.callsAfter(seq, "chat.postMessage") {
		posted = append(posted, c.Text)
	}
	if len(posted) != 2 || !strings.Contains(posted[1], "Done: the passcode") {
		t.Errorf("posts after the confirm click: %q; want the passcode and the success notice", posted)
	}
	// The warning was updated once for the click and once per progress state.
	for _, c := range e.callsAfter(seq, "chat.update") {
		if c.TS != warning.TS && c.TS != pass.TS {
			t.Errorf("chat.update of %s, neither the warning nor the passcode", c.TS)
		}
	}
}

// TestClickOnAnOlderMessageIsAnsweredBelow: a click on a message that is no
// longer the newest of the DM (here a device list the person cancelled by
// typing, then asked for help) is answered in a new message at the bottom,
// where it is seen; the old message still loses its buttons.
func TestClickOnAnOlderMessageIsAnsweredBelow(t *testing.T) {
	e := start(t, options{})
	im := slacktest.IM(alice)
	e.Deliver(e.fs.DM(alice, "reset"))
	old := e.WaitMessage(im, "device list", slacktest.HasAction("pcb_choice_1"))
	e.Deliver(e.fs.DM(alice, "cancel"))
	e.WaitMessage(im, "cancelled", slacktest.HasText("Cancelled. Nothing was changed."))
	seq := lastSeq(e)
	e.Click(alice, old, "pcb_choice_1", "")
	e.WaitMessage(im, "the old list without buttons", func(m slacktest.Message) bool {
		return m.TS == old.TS && len(m.Actions()) == 0 && strings.Contains(m.Texts(), "You chose: Alice's Pixel 8")
	})
	answer, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool { return c.Seq > seq && c.Method == "chat.postMessage" })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(answer.Text, "belongs to an earlier request") || answer.TS == old.TS {
		t.Errorf("the answer %q (ts %s) is not a new message saying the button is old", answer.Text, answer.TS)
	}
	m, _ := e.fs.Message(im, old.TS)
	if strings.Contains(m.Texts(), "belongs to an earlier request") {
		t.Errorf("the answer is in the old list: %q", m.Texts())
	}
}

// TestAnswerInPlaceFailsThenPosted: when the clicked message cannot be
// updated (deleted meanwhile), the answer is posted as a new message.
func TestAnswerInPlaceFailsThenPosted(t *testing.T) {
	e := start(t, options{})
	im := slacktest.IM(alice)
	warning := e.resetUntilWarning(nil)
	e.fs.FailNextWith("chat.update", im, 2, "message_not_found")
	seq := lastSeq(e)
	e.Click(alice, warning, "pcb_button_0", "")
	post, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool {
		return c.Seq > seq && c.Method == "chat.postMessage" && strings.Contains(c.Text, "Resetting the passcode")
	})
	if err != nil {
		t.Fatal(err)
	}
	if post.TS == warning.TS {
		t.Error("posted into the warning")
	}
	e.clk.WaitForTimers(1)
	e.clk.Advance(2 * time.Second)
	e.WaitMessage(im, "success", slacktest.HasText("Done: the passcode of Alice's Pixel 8 was reset successfully."))
}

// TestCancelOnTheAnsweredList: the sign-in link's Cancel, written into the
// device list by the pick, takes its own click (the pick's did not use it
// up), and its answer goes in place too, under the next generation of block
// ids (the fake refuses a repeated block_id, as Slack does). A second click
// on Cancel is dropped.
func TestCancelOnTheAnsweredList(t *testing.T) {
	e := start(t, options{})
	im := slacktest.IM(alice)
	e.Deliver(e.fs.DM(alice, "reset"))
	list := e.WaitMessage(im, "device list", slacktest.HasAction("pcb_choice_1"))
	e.Click(alice, list, "pcb_choice_1", "")
	answered := e.WaitMessage(im, "the list with the link", func(m slacktest.Message) bool {
		return m.TS == list.TS && slacktest.HasAction("pcb_link")(m)
	})
	var cancel slacktest.Action
	for _, a := range answered.Actions() {
		if a.Text == "Cancel" {
			cancel = a
		}
	}
	if cancel.ActionID == "" || !strings.HasSuffix(cancel.BlockID, "_a") {
		t.Fatalf("the answer's Cancel %+v; want it in a block of generation _a", cancel)
	}
	seq := lastSeq(e)
	env := e.Click(alice, answered, cancel.ActionID, "")
	m := e.WaitMessage(im, "cancelled in place", func(m slacktest.Message) bool {
		return m.TS == list.TS && strings.Contains(m.Texts(), "Cancelled. Nothing was changed.")
	})
	if len(m.Actions()) != 0 || !strings.Contains(m.Texts(), "You chose: Alice's Pixel 8") || !strings.Contains(m.Texts(), "You chose: Cancel") {
		t.Errorf("the twice-answered list: %q, %d actions; want both choices named and nothing to click", m.Texts(), len(m.Actions()))
	}
	if n := len(e.callsAfter(seq, "chat.postMessage")); n != 0 {
		t.Errorf("%d posts after Cancel; want its answer in place", n)
	}
	// The same Cancel again (Slack redelivers, people double-click): nothing.
	e.Deliver(e.fs.Retry(env))
	e.barrier()
	if n := e.countMessages(im, "Cancelled. Nothing was changed."); n != 1 {
		t.Errorf("%d messages say cancelled; want 1", n)
	}
}
