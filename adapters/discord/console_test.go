package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestAlertTakenInConsole: a take in the helpdesk console shows in the Discord
// helpdesk message (the embed names the taker, the button is disabled); a
// press of that button afterwards takes nothing; a take in Discord of the
// other alert keeps the console's.
func TestAlertTakenInConsole(t *testing.T) {
	h := newHarness(t)
	h.run()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// A take that comes before the post has returned waits for it.
	if h.adapter.MarkAlertTaken(ctx, "a1", "helen@contoso.example") {
		t.Fatal("an alert not posted yet was marked")
	}
	if err := h.adapter.PostAlerts(ctx, []resetflow.Alert{testAlert("a1", resetflow.AlertWrongPerson), testAlert("a2", resetflow.AlertResetFailed)}); err != nil {
		t.Fatal(err)
	}
	var m discordtest.Message
	h.fake.WaitFor(t, "the console's take shown", func() bool {
		ms := h.fake.Messages(h.helpdesk)
		if len(ms) != 1 || len(ms[0].Embeds) != 2 {
			return false
		}
		m = ms[0]
		return strings.Contains(field(m.Embeds[0], h.cat.T("en", "alert_take")), "helen@contoso.example (console)")
	})
	bs := m.Buttons()
	if len(bs) != 2 || !bs[0].Disabled || bs[1].Disabled || bs[0].Label != h.cat.T("en", "alert_taken", map[string]any{"Who": "helen@contoso.example"}) {
		t.Fatalf("buttons %+v; want #1 disabled naming helen, #2 open", bs)
	}
	if field(m.Embeds[1], h.cat.T("en", "alert_take")) != "" {
		t.Errorf("the second alert shows a taker")
	}

	// Pressing #1 on a stale screen takes nothing; #2 is taken by ivan.
	ivan := h.fake.NewUser("ivan")
	stale, _ := h.fake.Click(ivan, m.ID, bs[0].CustomID, discordtest.InGuild("1190000000000000001"), discordtest.AllowDisabled())
	h.fake.WaitFor(t, "the stale press answered", func() bool { return len(h.fake.Interaction(stale).Callbacks) == 1 })
	if _, err := h.fake.Click(ivan, m.ID, bs[1].CustomID, discordtest.InGuild("1190000000000000001")); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-h.taken:
		if got != [2]string{"a2", ivan.ID} {
			t.Errorf("OnAlertTaken%v; want a2 by ivan only", got)
		}
	case <-ctx.Done():
		t.Fatal("OnAlertTaken not called")
	}
	h.fake.WaitFor(t, "both takes shown", func() bool {
		m = h.fake.Messages(h.helpdesk)[0]
		return strings.Contains(field(m.Embeds[1], h.cat.T("en", "alert_take")), "<@"+ivan.ID+">")
	})
	if !strings.Contains(field(m.Embeds[0], h.cat.T("en", "alert_take")), "helen@contoso.example (console)") {
		t.Errorf("ivan's take lost the console's")
	}
	select {
	case got := <-h.taken:
		t.Errorf("OnAlertTaken called again: %v", got)
	default:
	}
	// The console cannot take a2 from ivan.
	edits := len(h.fake.CallsTo("PATCH", "/channels/"+h.helpdesk+"/messages/"+m.ID))
	h.adapter.MarkAlertTaken(ctx, "a2", "helen@contoso.example")
	if n := len(h.fake.CallsTo("PATCH", "/channels/"+h.helpdesk+"/messages/"+m.ID)); n != edits {
		t.Errorf("the console's take of an alert taken in Discord edited the message")
	}
}
