package slack_test

import (
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestAlertTakenInConsole: a take in the helpdesk console shows in the Slack
// channel (button gone, who is on it), a later "I'm on it" on the same alert
// does nothing, and a take in Slack is not overwritten by the console.
func TestAlertTakenInConsole(t *testing.T) {
	e := start(t, options{})
	const helper = "U0HELPER"
	e.fs.AddUser(slacktest.User{ID: helper, Name: "helper", Email: "helper@contoso.example"})
	// Two different people, so the queue does not fold them as repeats.
	// In this order (a map's would be random): the queue posts a1 first.
	for _, p := range [][2]string{{"a1", "bob"}, {"a2", "carol"}} {
		id, u := p[0], p[1]
		e.alerts.Alert(e.ctx, resetflow.Alert{ID: id, Kind: resetflow.AlertContactSupport, Time: e.clk.Now(), Platform: "slack", ChatUser: "U-" + u,
			User: resetflow.User{ID: "u-" + u, UPN: u + "@contoso.example"}})
	}
	// The queue may post them together or one by one (a second post waits a second).
	with := func(id string) func(slacktest.Message) bool {
		return func(m slacktest.Message) bool {
			for _, a := range m.Actions() {
				if a.Value == id {
					return true
				}
			}
			return false
		}
	}
	m1 := e.WaitMessage(helpdesk, "a1", with("a1"))
	if !with("a2")(m1) {
		e.clk.WaitForTimers(1)
		e.clk.Advance(time.Second)
	}
	m2 := e.WaitMessage(helpdesk, "a2", with("a2"))

	// The fake shows the post a moment before the adapter has its answer; a
	// take in that moment is shown once the answer is in.
	e.adapter.MarkAlertTaken(e.ctx, "a1", "helen@contoso.example")
	m := e.WaitMessage(helpdesk, "taken in the console", func(m slacktest.Message) bool {
		return m.TS == m1.TS && strings.Contains(m.Texts(), "helen@contoso.example (console) is on it")
	})
	if with("a1")(m) || with("a2")(m) != (m1.TS == m2.TS) {
		t.Fatalf("buttons left %+v; want a2's only if it shares the message", m.Actions())
	}

	// "I'm on it" on a2 in Slack keeps the console's line for a1.
	cur, _ := e.fs.Message(helpdesk, m2.TS)
	e.Click(helper, cur, "alert_take", "a2")
	m = e.WaitMessage(helpdesk, "taken in Slack", func(m slacktest.Message) bool {
		return m.TS == m2.TS && strings.Contains(m.Texts(), "<@U0HELPER> is on it")
	})
	if m1.TS == m2.TS && !strings.Contains(m.Texts(), "helen@contoso.example (console) is on it") || len(m.Actions()) != 0 {
		t.Errorf("after both takes: %q, %d buttons", m.Texts(), len(m.Actions()))
	}
	select {
	case got := <-e.taken:
		if got != [2]string{"a2", helper} {
			t.Errorf("OnAlertTaken%v; want a2 by the helper only", got)
		}
	case <-e.ctx.Done():
		t.Fatal("OnAlertTaken not called for a2")
	}
	select {
	case got := <-e.taken:
		t.Errorf("OnAlertTaken called again: %v", got)
	default:
	}
	// The console cannot take a2 from the helper.
	updates := len(e.fs.CallsWhere(func(c slacktest.Call) bool { return c.Method == "chat.update" }))
	e.adapter.MarkAlertTaken(e.ctx, "a2", "helen@contoso.example")
	if n := len(e.fs.CallsWhere(func(c slacktest.Call) bool { return c.Method == "chat.update" })); n != updates {
		t.Errorf("the console's take of an alert taken in Slack updated the message")
	}
	e.clk.Advance(time.Minute) // the queue's pacing, so the bot stops at once
}

// TestAlertTakenInConsoleBeforePosted: a take in the console that comes before
// the Slack post has returned is shown as soon as it has.
func TestAlertTakenInConsoleBeforePosted(t *testing.T) {
	e := start(t, options{})
	if e.adapter.MarkAlertTaken(e.ctx, "a9", "helen@contoso.example") {
		t.Fatal("an alert not posted yet was marked")
	}
	e.alerts.Alert(e.ctx, resetflow.Alert{ID: "a9", Kind: resetflow.AlertResetFailed, Time: e.clk.Now(), Platform: "slack", ChatUser: bob})
	m := e.WaitMessage(helpdesk, "taken in the console", func(m slacktest.Message) bool {
		return strings.Contains(m.Texts(), "helen@contoso.example (console) is on it")
	})
	if len(m.Actions()) != 0 || m.Updates != 1 {
		t.Errorf("%d buttons, %d updates; want the button gone in one update", len(m.Actions()), m.Updates)
	}
	e.clk.WaitForTimers(1)
	e.clk.Advance(time.Minute) // the queue's pacing, so the bot stops at once
}
