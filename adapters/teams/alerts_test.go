package teams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestHelpdeskAlertsSurviveARateLimit: a 429 on the helpdesk channel is not
// waited out inside the adapter; bot.Alerts posts again after Retry-After
// (on the injected clock), with the alerts that came meanwhile in one digest.
// None is lost, none posted twice; "I'm on it" is recorded once, with who.
func TestHelpdeskAlertsSurviveARateLimit(t *testing.T) {
	h := newHarness(t)
	h.run()
	ctx := context.Background()
	dev := &resetflow.Device{Name: "Bob's Galaxy S9", Maker: "Samsung", Model: "SM-G960F", OS: "Android", OSVersion: "9.0"}
	bob := resetflow.User{ID: bobID, UPN: "bob@contoso.example", DisplayName: "Bob Brown"}
	alert := func(id string, kind resetflow.AlertKind) resetflow.Alert {
		return resetflow.Alert{ID: id, Kind: kind, Time: h.clk.Now(), Platform: "teams", ChatUser: bobID, User: bob, Device: dev, Detail: "errorCode=DeviceNotReachable <" + id + ">"}
	}
	h.fake.Throttle(h.helpdesk, 3*time.Second)
	h.alerts.Alert(ctx, alert("a1", resetflow.AlertResetFailed))
	h.fake.WaitFor(t, "the 429", func() bool {
		for _, c := range h.fake.Calls() {
			if c.Status == 429 {
				return true
			}
		}
		return false
	})
	h.alerts.Alert(ctx, alert("a2", resetflow.AlertFactoryReset))
	h.alerts.Alert(ctx, alert("a3", resetflow.AlertWrongPerson))
	h.waitTimers(1) // Retry-After
	if n := len(h.fake.Messages(h.helpdesk)); n != 0 {
		t.Fatalf("posted before Retry-After: %d", n)
	}
	h.clk.Advance(3 * time.Second)
	digest := h.card(h.helpdesk, "the digest", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), "3 helpdesk alerts") })
	text := digest.Texts()
	for _, want := range []string{
		h.cat.T("en", "alert_title_reset_failed"), h.cat.T("en", "alert_title_factory_reset"), h.cat.T("en", "alert_title_wrong_person"),
		"Bob Brown (bob@contoso.example)", "Bob's Galaxy S9 (Samsung SM-G960F, Android 9.0)", "2026-11-25 09:00:00 UTC",
		"errorCode=DeviceNotReachable &lt;a3&gt;",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("digest lacks %q:\n%s", want, text)
		}
	}
	if got := fmt.Sprint(digest.Actions()); got != "[I'm on it #1 I'm on it #2 I'm on it #3]" {
		t.Errorf("digest actions %s", got)
	}
	if n := len(h.fake.Messages(h.helpdesk)); n != 1 {
		t.Errorf("%d helpdesk messages; want one digest", n)
	}

	helper := h.fake.AddUser(teamstest.User{AADObjectID: "8f1c2a6e-00ff-4c1a-9a11-4e1be0000009", UPN: "helper@contoso.example", Name: "Hana Helper"})
	h.click(helper, digest, "I'm on it #2")
	taken := h.card(h.helpdesk, "the alert taken", func(m teamstest.Message) bool {
		return m.ID == digest.ID && strings.Contains(m.Texts(), "Hana Helper is on it")
	})
	if got := fmt.Sprint(taken.Actions()); got != "[I'm on it #1 I'm on it #3]" {
		t.Errorf("actions after the take: %s", got)
	}
	select {
	case got := <-h.taken:
		if got != [2]string{"a2", helper.AADObjectID} {
			t.Errorf("OnAlertTaken%v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnAlertTaken not called")
	}
	// The same click again (stale screen): nothing more.
	h.click(helper, digest, "I'm on it #2")
	h.click(helper, taken, "I'm on it #3")
	select {
	case got := <-h.taken:
		if got[0] != "a3" {
			t.Errorf("OnAlertTaken%v; want a3 only", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnAlertTaken not called for a3")
	}
	select {
	case got := <-h.taken:
		t.Errorf("OnAlertTaken called again: %v", got)
	default:
	}
}

// TestRateLimitedAlertPostTellsWhenToRetry: PostAlerts gives a 429 back with
// the Retry-After, for bot.Alerts to wait.
func TestRateLimitedAlertPostTellsWhenToRetry(t *testing.T) {
	h := newHarness(t)
	h.fake.Throttle(h.helpdesk, 7*time.Second)
	err := h.adapter.PostAlerts(context.Background(), []resetflow.Alert{{ID: "z", Kind: resetflow.AlertResetFailed, Time: h.clk.Now()}})
	ra, ok := err.(interface{ RetryAfter() time.Duration })
	if !ok || ra.RetryAfter() != 7*time.Second {
		t.Fatalf("PostAlerts = %v; want an error with RetryAfter() 7s", err)
	}
	if err := h.adapter.PostAlerts(context.Background(), []resetflow.Alert{{ID: "z", Kind: resetflow.AlertResetFailed, Time: h.clk.Now()}}); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Messages(h.helpdesk)); n != 1 {
		t.Errorf("%d posts; want 1", n)
	}
	var many []resetflow.Alert
	for i := range 25 {
		many = append(many, resetflow.Alert{ID: fmt.Sprintf("m%02d", i), Kind: resetflow.AlertBackendError, Time: h.clk.Now(), Detail: strings.Repeat("d", 900)})
	}
	if err := h.adapter.PostAlerts(context.Background(), many); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range h.fake.Messages(h.helpdesk)[1:] {
		n += len(m.Actions())
		if len(m.Versions[0]) > 28<<10 {
			t.Errorf("a digest of %d bytes is over Teams' 28 KB", len(m.Versions[0]))
		}
	}
	if n != 25 || h.adapter.MaxAlertsPerPost() != 10 {
		t.Errorf("%d alerts posted; want 25 in cards of at most 10", n)
	}
}

// TestConnectorRetries: a 5xx or 429 on a person's message is tried again
// after Retry-After, a bounded number of times.
func TestConnectorRetries(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "help") // the bot knows her chat now
	h.says(conv, firstLine(h.cat.T("en", "help")))

	h.fake.Throttle(conv, 2*time.Second)
	done := make(chan error, 1)
	go func() {
		done <- h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: aliceID, Channel: conv}, resetflow.Message{Text: "after the 429"})
	}()
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("Send after one 429 = %v", err)
	}
	h.says(conv, "after the 429")

	h.fake.Throttle(conv, time.Second, time.Second, time.Second, time.Second)
	go func() {
		done <- h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: aliceID, Channel: conv}, resetflow.Message{Text: "never"})
	}()
	for range 3 {
		h.waitTimers(1)
		h.clk.Advance(time.Second)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "429") {
		t.Fatalf("Send after four 429s = %v; want the 429 after 4 tries", err)
	}
	if n := h.count(conv, "never"); n != 0 {
		t.Error("posted despite the 429s")
	}
}
