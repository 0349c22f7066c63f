package slack_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestHelpdeskAlertsSurviveARateLimit(t *testing.T) {
	e := start(t, options{})
	const helper = "U0HELPER"
	e.fs.AddUser(slacktest.User{ID: helper, Name: "helper", Email: "helper@contoso.example"})
	dev := &resetflow.Device{Name: "Bob's Galaxy S9", Maker: "Samsung", Model: "SM-G960F", OS: "Android", OSVersion: "9.0"}
	bobUser := resetflow.User{ID: "u-bob", UPN: "bob@contoso.example", DisplayName: "Bob Brown"}
	alert := func(id string, kind resetflow.AlertKind) resetflow.Alert {
		return resetflow.Alert{ID: id, Kind: kind, Time: e.clk.Now(), Platform: "slack", ChatUser: bob, User: bobUser, Device: dev, Detail: "errorCode=DeviceNotReachable <" + id + ">"}
	}

	e.fs.FailNext("chat.postMessage", helpdesk, 1, 3*time.Second)
	e.alerts.Alert(e.ctx, alert("a1", resetflow.AlertResetFailed))
	if _, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool { return c.Channel == helpdesk && c.Status == 429 }); err != nil {
		t.Fatal(err)
	}
	e.alerts.Alert(e.ctx, alert("a2", resetflow.AlertFactoryReset))
	e.alerts.Alert(e.ctx, alert("a3", resetflow.AlertWrongPerson))
	e.clk.WaitForTimers(1) // Retry-After
	if n := len(e.fs.Messages(helpdesk)); n != 0 {
		t.Fatalf("posted before Retry-After: %d", n)
	}
	e.clk.Advance(3 * time.Second)
	digest := e.WaitMessage(helpdesk, "digest", slacktest.HasText("3 helpdesk alerts"))
	text := digest.Texts()
	for _, want := range []string{
		"Passcode reset failed", "Passcode reset impossible: factory reset needed", "Possible malicious reset attempt",
		"Bob Brown (bob@contoso.example)", "Bob's Galaxy S9 (Samsung SM-G960F, Android 9.0)",
		"2026-11-25 09:00:00 UTC", "slack <@U0BOB>", "errorCode=DeviceNotReachable &lt;a3&gt;",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	var values []string
	for _, a := range digest.Actions() {
		if a.ActionID == "alert_take" && a.Text == "I'm on it" {
			values = append(values, a.Value)
		}
	}
	if fmt.Sprint(values) != "[a1 a2 a3]" {
		t.Errorf("I'm on it buttons for %v, want a1 a2 a3", values)
	}
	if n := len(e.fs.Messages(helpdesk)); n != 1 {
		t.Errorf("%d helpdesk messages, want one digest", n)
	}

	// A single alert is a message of its own, once the channel's pace allows.
	e.alerts.Alert(e.ctx, alert("a4", resetflow.AlertLimitReached))
	e.clk.WaitForTimers(1)
	e.clk.Advance(time.Second)
	single := e.WaitMessage(helpdesk, "single alert", slacktest.HasText("Passcode reset limit reached"))
	if strings.Contains(single.Texts(), "helpdesk alerts while") || len(single.Actions()) != 1 {
		t.Errorf("single alert: %q %+v", single.Texts(), single.Actions())
	}

	// "I'm on it" on the second alert of the digest.
	click := e.Click(helper, digest, "alert_take", "a2")
	e.WaitMessage(helpdesk, "taken", func(m slacktest.Message) bool {
		return m.TS == digest.TS && strings.Contains(m.Texts(), "<@U0HELPER> is on it")
	})
	m, _ := e.fs.Message(helpdesk, digest.TS)
	if n := len(m.Actions()); n != 2 {
		t.Errorf("%d buttons left, want 2", n)
	}
	select {
	case got := <-e.taken:
		if got != [2]string{"a2", helper} {
			t.Errorf("OnAlertTaken(%v)", got)
		}
	case <-e.ctx.Done():
		t.Fatal("OnAlertTaken not called")
	}
	e.Deliver(e.fs.Retry(click))
	e.barrier()
	select {
	case got := <-e.taken:
		t.Errorf("OnAlertTaken called twice: %v", got)
	default:
	}
}

func TestDigestOfManyAlertsFitsSlack(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	var alerts []resetflow.Alert
	for i := range 60 {
		alerts = append(alerts, resetflow.Alert{ID: fmt.Sprintf("x%02d", i), Kind: resetflow.AlertBackendError, Time: e.clk.Now(), Platform: "discord", ChatUser: "123456", Detail: strings.Repeat("d", 3000)})
	}
	if err := e.adapter.PostAlerts(e.ctx, alerts); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range e.fs.Messages(helpdesk) {
		n += len(m.Actions())
	}
	if n != 60 {
		t.Errorf("%d alerts posted, want 60", n)
	}
}

func TestRateLimitedAlertPostTellsWhenToRetry(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	e.fs.FailNext("chat.postMessage", helpdesk, 1, 7*time.Second)
	err := e.adapter.PostAlerts(e.ctx, []resetflow.Alert{{ID: "z", Kind: resetflow.AlertResetFailed, Time: e.clk.Now()}})
	ra, ok := err.(interface{ RetryAfter() time.Duration })
	if !ok || ra.RetryAfter() != 7*time.Second {
		t.Fatalf("PostAlerts = %v; want an error with RetryAfter() 7s", err)
	}
}

// TestAccountLinkingAlerts: the alerts of account linking name the
// chat account (platform, id and name) and the directory user.
func TestAccountLinkingAlerts(t *testing.T) {
	e := start(t, options{})
	u := resetflow.User{ID: "u-alice", UPN: "alice@contoso.example", DisplayName: "Alice Anderson"}
	e.alerts.Alert(e.ctx, resetflow.Alert{ID: "l1", Kind: resetflow.AlertLinkRefused, Time: e.clk.Now(), Platform: "discord", ChatUser: "1175000000000000042", ChatName: "Mallory (@mallory)", User: u, Detail: "reason=typed_by_other_account"})
	m := e.WaitMessage(helpdesk, "link refused", slacktest.HasText("Account linking refused"))
	for _, want := range []string{"Account linking refused: possible account takeover attempt", "discord 1175000000000000042 Mallory (@mallory)", "Alice Anderson (alice@contoso.example)", "reason=typed_by_other_account"} {
		if !strings.Contains(m.Texts(), want) {
			t.Errorf("alert lacks %q:\n%s", want, m.Texts())
		}
	}
	e.clk.WaitForTimers(1)
	e.clk.Advance(time.Second)
	e.alerts.Alert(e.ctx, resetflow.Alert{ID: "l2", Kind: resetflow.AlertAccountLinked, Time: e.clk.Now(), Platform: "discord", ChatUser: "1175000000000000042", ChatName: "Alice (@alice)", User: u})
	m = e.WaitMessage(helpdesk, "account linked", slacktest.HasText("Chat account linked to a company account"))
	if !strings.Contains(m.Texts(), "Alice (@alice)") {
		t.Errorf("alert lacks the chat account name:\n%s", m.Texts())
	}
}
