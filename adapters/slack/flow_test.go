package slack_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/resetflow"
)

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
	// The clicked message loses its device buttons, names the choice and,
	// under it, holds the sign-in link: the click is answered in place.
	linkMsg := e.WaitMessage(im, "device list answered with the sign-in link", func(m slacktest.Message) bool {
		return m.TS == list.TS && strings.Contains(m.Texts(), "You chose: Alice's Pixel 8") && slacktest.HasAction("pcb_link")(m)
	})
	for _, a := range linkMsg.Actions() {
		if strings.HasPrefix(a.ActionID, "pcb_choice") {
			e.t.Fatalf("the answered device list still has device button %s", a.ActionID)
		}
	}
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
	// The link is only the button's: no text of the message (nothing Slack
	// could unfurl) and not the notification text carries it.
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

// finishReset lets the fleet answer and returns the passcode message.
func (e *env) finishReset() slacktest.Message {
	e.t.Helper()
	im := slacktest.IM(alice)
	e.WaitMessage(im, "resetting", slacktest.HasText("Resetting the passcode of Alice's Pixel 8"))
	e.clk.WaitForTimers(1) // the engine's first poll
	e.clk.Advance(2 * time.Second)
	pass := e.WaitMessage(im, "passcode", slacktest.HasBlock("pcb_secret"))
	e.WaitMessage(im, "success", slacktest.HasText("Done: the passcode of Alice's Pixel 8 was reset successfully."))
	return pass
}

func TestWholeResetFromDMToSuccess(t *testing.T) {
	e := start(t, options{})
	warning := e.resetUntilWarning(nil)
	e.confirm(warning)
	pass := e.finishReset()
	code := slacktest.PasscodeOf(t, pass)
	if len(code) != 8 {
		t.Fatalf("passcode %q: want 8 letters and digits", code)
	}
	if !strings.Contains(pass.Texts(), "Temporary passcode") {
		t.Errorf("passcode message without its label: %q", pass.Texts())
	}
	if got := e.fleet.Resets(); got != 1 {
		t.Errorf("fleet resets = %d, want 1", got)
	}
	// The passcode went to alice's IM only, and never into the notification text or a log.
	for _, c := range e.fs.Calls() {
		if !strings.Contains(c.AllText(), code) {
			continue
		}
		if c.Method != "chat.postMessage" || c.Channel != slacktest.IM(alice) || strings.Contains(c.Text, code) {
			t.Errorf("passcode in call %d %s to %s (text %q)", c.Seq, c.Method, c.Channel, c.Text)
		}
	}
	if strings.Contains(e.logs.String(), code) {
		t.Error("the passcode is in the log")
	}
	if strings.Contains(e.logs.String(), e.fs.BotToken) || strings.Contains(e.logs.String(), e.fs.AppToken) {
		t.Error("a token is in the log")
	}
}

func TestPasscodeRemovedAfterSecretTTL(t *testing.T) {
	e := start(t, options{configure: func(c *slackadapter.Config) { c.SecretTTL = 7 * time.Minute }})
	e.confirm(e.resetUntilWarning(nil))
	pass := e.finishReset()
	code := slacktest.PasscodeOf(t, pass)

	e.clk.WaitForTimers(1) // the removal
	e.clk.Advance(7*time.Minute - time.Second)
	if m, _ := e.fs.Message(pass.Channel, pass.TS); m.Updates != 0 {
		t.Fatal("the passcode was removed before its time")
	}
	e.clk.Advance(time.Second)
	m := e.WaitMessage(pass.Channel, "removed passcode", func(m slacktest.Message) bool { return m.TS == pass.TS && m.Updates > 0 })
	if strings.Contains(string(m.Blocks), code) || strings.Contains(m.Text, code) {
		t.Fatalf("the passcode is still in the message: %s", m.Blocks)
	}
	if !strings.Contains(m.Texts(), "The temporary passcode was removed from this chat for your safety.") {
		t.Fatalf("removed message says %q", m.Texts())
	}
}

// TestPasscodeRemovedAtShutdown: a bot that stops removes the passcodes it
// still shows, since its removal timers do not outlive it.
func TestPasscodeRemovedAtShutdown(t *testing.T) {
	e := start(t, options{})
	e.confirm(e.resetUntilWarning(nil))
	pass := e.finishReset()
	code := slacktest.PasscodeOf(t, pass)
	e.clk.WaitForTimers(1)
	e.stop()
	<-e.done
	m, _ := e.fs.Message(pass.Channel, pass.TS)
	if m.Updates == 0 || strings.Contains(string(m.Blocks), code) || strings.Contains(m.Text, code) {
		t.Fatalf("the passcode is still shown after the bot stopped: %+v", m)
	}
}

func TestPasscodeRemovalDeletesWhenUpdateFails(t *testing.T) {
	e := start(t, options{})
	e.confirm(e.resetUntilWarning(nil))
	pass := e.finishReset()
	e.clk.WaitForTimers(1)
	e.fs.FailNextWith("chat.update", pass.Channel, 1, "cant_update_message")
	e.clk.Advance(10 * time.Minute)
	e.WaitMessage(pass.Channel, "deleted passcode", func(m slacktest.Message) bool { return m.TS == pass.TS && m.Deleted })
}

func TestReconnectInTheMiddle(t *testing.T) {
	for _, tc := range []struct {
		name string
		cut  func(e *env)
	}{
		{"disconnect envelope", func(e *env) {
			if err := e.fs.Disconnect(); err != nil {
				e.t.Fatal(err)
			}
		}},
		{"abrupt close", func(e *env) {
			e.clk.Advance(slackadapter.StableFor) // up for a while: replaced at once
			e.fs.DropConnection()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t, options{})
			warning := e.resetUntilWarning(func() {
				tc.cut(e)
				if err := e.fs.WaitConnections(e.ctx, 2); err != nil {
					t.Fatal(err)
				}
			})
			e.confirm(warning)
			slacktest.PasscodeOf(t, e.finishReset())
			if got := e.fleet.Resets(); got != 1 {
				t.Errorf("fleet resets = %d, want 1", got)
			}
			if got := e.fs.Connections(); got != 2 {
				t.Errorf("connections = %d, want 2", got)
			}
		})
	}
}

// countMessages counts the messages of channel whose text contains s.
func (e *env) countMessages(channel, s string) int {
	n := 0
	for _, m := range e.fs.Messages(channel) {
		if strings.Contains(m.Texts(), s) {
			n++
		}
	}
	return n
}

// barrier sends alice's "help" and waits for the answer: everything alice sent
// before has been handled by then, since her inputs are handled in order.
func (e *env) barrier() {
	e.t.Helper()
	before := e.countMessages(slacktest.IM(alice), "I reset the passcode")
	e.Deliver(e.fs.DM(alice, "help"))
	if err := e.fs.WaitFor(e.ctx, func() bool { return e.countMessages(slacktest.IM(alice), "I reset the passcode") > before }); err != nil {
		e.t.Fatal(err)
	}
}

func TestSlackRetryOfTheSameEventAnswersOnce(t *testing.T) {
	e := start(t, options{})
	dm := e.fs.DM(alice, "reset")
	e.Deliver(dm)
	e.Deliver(e.fs.Retry(dm))
	e.Deliver(e.fs.Retry(e.fs.Retry(dm)))
	e.barrier()
	im := slacktest.IM(alice)
	if n := e.countMessages(im, "Which device's passcode"); n != 1 {
		t.Errorf("device lists = %d, want 1", n)
	}
	if n := e.countMessages(im, "already have a passcode reset in progress"); n != 0 {
		t.Errorf("the retry reached the engine (%d already_active)", n)
	}
}

func TestDoubleClickOnResetResetsOnce(t *testing.T) {
	e := start(t, options{})
	warning := e.resetUntilWarning(nil)
	first, err := e.fs.Click(alice, warning.Channel, warning.TS, "pcb_button_0", "")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := e.fs.Click(alice, warning.Channel, warning.TS, "pcb_button_0", "")
	if err := e.fs.Deliver(first); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.Deliver(second); err != nil {
		t.Fatal(err)
	}
	for _, env := range []slacktest.Envelope{first, second} {
		if _, err := e.fs.WaitAck(e.ctx, env.EnvelopeID); err != nil {
			t.Fatal(err)
		}
	}
	e.barrier()
	e.finishReset()
	im := slacktest.IM(alice)
	if got := e.fleet.Resets(); got != 1 {
		t.Errorf("fleet resets = %d, want 1", got)
	}
	// One "Resetting…" message, since updated in place to the progress's final state.
	if n := e.countMessages(im, "Resetting the passcode") + e.countMessages(im, "Passcode reset of"); n != 1 {
		t.Errorf("resetting messages = %d, want 1", n)
	}
	if n := e.countMessages(im, "already on its way"); n != 0 {
		t.Errorf("the second click reached the engine")
	}
	m, _ := e.fs.Message(warning.Channel, warning.TS)
	if len(m.Actions()) != 0 || !strings.Contains(m.Texts(), "You chose: Reset passcode") {
		t.Errorf("the warning still has buttons or does not name the choice: %q %+v", m.Texts(), m.Actions())
	}
}

// untilTheResultWithALyingOpen runs alice's reset to the engine's first
// result read, with conversations.open answering a public channel for her.
func untilTheResultWithALyingOpen(t *testing.T) (*env, string) {
	e := start(t, options{})
	e.fs.OverrideOpen(alice, slacktest.Channel{ID: "C0PUBLIC", Name: "everyone"})
	e.confirm(e.resetUntilWarning(nil))
	im := slacktest.IM(alice)
	e.WaitMessage(im, "resetting", slacktest.HasText("Resetting the passcode"))
	e.clk.WaitForTimers(1)
	return e, im
}

func TestPasscodeNeverSentToANonIMChannel(t *testing.T) {
	t.Run("whole reset: the IM of the person's own DM, not conversations.open's answer", func(t *testing.T) {
		// Slack's event said alice wrote in her IM with the bot: the passcode
		// goes there, whatever conversations.open would answer, and nothing
		// asks it (issue 17: one Web API call fewer per reset).
		e, im := untilTheResultWithALyingOpen(t)
		e.clk.Advance(2 * time.Second)
		e.WaitMessage(im, "passcode", slacktest.HasBlock("pcb_secret"))
		e.WaitMessage(im, "success", slacktest.HasText("Done: the passcode"))
		for _, c := range e.fs.Calls() {
			if c.Channel == "C0PUBLIC" || c.Method == "conversations.open" {
				t.Errorf("call %d %s to %s", c.Seq, c.Method, c.Channel)
			}
		}
	})
	t.Run("whole reset after the IM was forgotten", func(t *testing.T) {
		// Once the IM the event gave is forgotten (after 24 h, or a restart),
		// the passcode waits for conversations.open's answer, checked; a
		// public channel is refused.
		e, im := untilTheResultWithALyingOpen(t)
		e.adapter.ForgetIM(alice)
		e.clk.Advance(2 * time.Second)
		// The passcode is not shown, so the person is not told "success" (issue 11).
		e.WaitMessage(im, "undelivered", slacktest.HasText("can't show you its result"))
		if n := e.countMessages(im, "Done: the passcode"); n != 0 {
			t.Errorf("said success after the passcode was refused")
		}
		for _, c := range e.fs.Calls() {
			if strings.Contains(string(c.Blocks), "pcb_secret") || c.Channel == "C0PUBLIC" && c.Method != "conversations.info" {
				t.Errorf("call %d %s to %s carries the passcode", c.Seq, c.Method, c.Channel)
			}
		}
		if !strings.Contains(e.logs.String(), "refusing to post a temporary passcode") {
			t.Error("the refusal is not logged")
		}
	})
	t.Run("events that are not the person's own DM teach no IM", func(t *testing.T) {
		// A message in a channel, a group DM, an edit, a bot's message, or an
		// "im" whose id is not an IM's is not a person writing in their IM; none
		// of them may name where a passcode goes.
		r := newRecorder()
		e := start(t, options{handler: r})
		e.fs.OverrideOpen(alice, slacktest.Channel{ID: "C0PUBLIC", Name: "everyone"})
		for _, inner := range []map[string]any{
			{"type": "message", "user": alice, "channel": "C0PUBLIC", "channel_type": "channel", "text": "reset", "ts": "1.1"},
			{"type": "message", "user": alice, "channel": "G0MPIM", "channel_type": "mpim", "text": "reset", "ts": "1.2"},
			{"type": "message", "subtype": "message_changed", "user": alice, "channel": "C0PUBLIC", "channel_type": "im", "text": "reset", "ts": "1.3"},
			{"type": "message", "bot_id": "B0OTHER", "user": alice, "channel": "C0PUBLIC", "channel_type": "im", "text": "reset", "ts": "1.4"},
			{"type": "message", "user": alice, "channel": "C0PUBLIC", "channel_type": "im", "text": "reset", "ts": "1.5"},
		} {
			e.Deliver(e.fs.Event(inner))
		}
		const value = "S3CR3T-VALUE-43"
		err := e.adapter.Send(e.ctx, resetflow.Address{Platform: "slack", UserID: alice, Channel: "C0PUBLIC"},
			resetflow.Message{Text: "here", Secret: resetflow.NewSecret("Temporary passcode", value)})
		if err == nil {
			t.Fatal("Send succeeded")
		}
		for _, c := range e.fs.Calls() {
			if c.Method == "chat.postMessage" || strings.Contains(c.AllText(), value) {
				t.Errorf("call %d %s to %s", c.Seq, c.Method, c.Channel)
			}
		}
	})
	for _, tc := range []struct {
		name string
		ch   slacktest.Channel
	}{
		{"a channel", slacktest.Channel{ID: "C0PUBLIC", Name: "everyone"}},
		{"a group DM", slacktest.Channel{ID: "G0MPIM", Name: "mpdm-alice--bob"}},
		{"someone else's IM", slacktest.Channel{ID: slacktest.IM(bob), IsIM: true, User: bob}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			e := start(t, options{handler: r})
			e.fs.OverrideOpen(alice, tc.ch)
			const value = "S3CR3T-VALUE-42"
			err := e.adapter.Send(e.ctx, resetflow.Address{Platform: "slack", UserID: alice, Channel: slacktest.IM(alice)},
				resetflow.Message{Text: "here", Secret: resetflow.NewSecret("Temporary passcode", value)})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if strings.Contains(err.Error(), value) || strings.Contains(e.logs.String(), value) {
				t.Error("the secret is in the error or the log")
			}
			for _, c := range e.fs.Calls() {
				if c.Method == "chat.postMessage" || strings.Contains(c.AllText(), value) {
					t.Errorf("call %d %s to %s", c.Seq, c.Method, c.Channel)
				}
			}
		})
	}
}

func TestMoreThanFiveDevicesUseASelect(t *testing.T) {
	var b strings.Builder
	b.WriteString("users:\n  - id: u-erin\n    upn: erin@contoso.example\n    name: Erin\n    devices:\n")
	for i := range 7 {
		b.WriteString("      - {id: dev-erin-" + string(rune('a'+i)) + ", name: \"Erin's phone " + string(rune('A'+i)) + "\", maker: Google, model: Pixel 9, os: Android, version: \"15\", mode: android_enterprise_fully_managed, owner: company}\n")
	}
	e := start(t, options{fleetYAML: b.String()})
	const erin = "U0ERIN"
	e.fs.AddUser(slacktest.User{ID: erin, Name: "erin", Email: "erin@contoso.example", Locale: "ja-JP"})
	e.Deliver(e.fs.DM(erin, "reset"))
	im := slacktest.IM(erin)
	list := e.WaitMessage(im, "device select", slacktest.HasAction("pcb_choose"))
	sel := list.Action("pcb_choose")
	if sel.Type != "static_select" || len(sel.Options) != 7 {
		t.Fatalf("select = %+v", sel)
	}
	if sel.Options[6].Text != "Erin's phone G" || !strings.Contains(sel.Options[6].Description, "Pixel 9") {
		t.Errorf("last option = %+v", sel.Options[6])
	}
	if !strings.Contains(list.Texts(), "デバイスを選択") {
		t.Errorf("the select's placeholder is not in the user's language: %q", list.Texts())
	}
	e.Click(erin, list, "pcb_choose", sel.Options[6].Value)
	// The select goes; the sign-in link takes its place in the same message.
	link := e.WaitMessage(im, "select replaced by the sign-in link", func(m slacktest.Message) bool {
		return m.TS == list.TS && slacktest.HasAction("pcb_link")(m) && !slacktest.HasAction("pcb_choose")(m) && strings.Contains(m.Texts(), "Erin's phone G")
	})
	if !strings.Contains(link.Texts(), "Erin's phone G") {
		t.Errorf("the link is not for the picked device: %q", link.Texts())
	}
}

func TestSendWaitsOutAChannelRateLimit(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	im := slacktest.IM(alice)
	e.fs.RateLimit(im, time.Second)
	msg := resetflow.Message{Text: "one"}
	if err := e.adapter.Send(e.ctx, e.addr(alice), msg); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.adapter.Send(e.ctx, e.addr(alice), resetflow.Message{Text: "two"}) }()
	if _, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool { return c.Channel == im && c.Status == 429 }); err != nil {
		t.Fatal(err)
	}
	e.clk.WaitForTimers(1)
	e.clk.Advance(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ms := e.fs.Messages(im); len(ms) != 2 || ms[1].Text != "two" {
		t.Fatalf("messages: %s", slacktest.Dump(ms))
	}
}

// TestSecretLedgerAndRestore: every passcode message is reported with its
// removal time and reported again once removed, and a message left by an
// earlier run (Restore) is removed at its time, or at once when overdue.
func TestSecretLedgerAndRestore(t *testing.T) {
	type entry struct {
		channel, ts, loc string
		at               time.Time
	}
	shown, removed := make(chan entry, 4), make(chan entry, 4)
	e := start(t, options{configure: func(c *slackadapter.Config) {
		c.Ledger = onscreen.LedgerFuncs{
			OnShown: func(it onscreen.Item) error {
				shown <- entry{it.Channel, it.MessageID, it.Locale, it.RemoveAt}
				return nil
			},
			OnRemoved: func(ch, ts string) error { removed <- entry{channel: ch, ts: ts}; return nil },
		}
	}})
	ctx := context.Background()
	pass := resetflow.Message{Text: "x", Secret: resetflow.NewSecret("Temporary passcode", "Qw3rTy7u")}
	if err := e.adapter.Send(ctx, e.addr(alice), pass); err != nil {
		t.Fatal(err)
	}
	got := <-shown
	if got.channel != slacktest.IM(alice) || got.ts == "" || !got.at.Equal(e.clk.Now().Add(10*time.Minute)) {
		t.Fatalf("shown %+v", got)
	}
	e.clk.WaitForTimers(1)
	e.clk.Advance(10 * time.Minute)
	if r := <-removed; r.channel != got.channel || r.ts != got.ts {
		t.Fatalf("removed %+v, want %+v", r, got)
	}

	// A message an earlier run left on screen: overdue, so it goes at once.
	if err := e.adapter.Send(ctx, e.addr(alice), resetflow.Message{Text: "left over"}); err != nil {
		t.Fatal(err)
	}
	msgs := e.fs.Messages(slacktest.IM(alice))
	old := msgs[len(msgs)-1]
	e.adapter.Restore(old.Channel, old.TS, "ja", e.clk.Now().Add(-time.Minute))
	e.WaitMessage(old.Channel, "restored removal", func(m slacktest.Message) bool {
		return m.TS == old.TS && strings.Contains(m.Texts(), "安全のため")
	})
	if r := <-removed; r.ts != old.TS {
		t.Errorf("removed %+v, want ts %s", r, old.TS)
	}
}
