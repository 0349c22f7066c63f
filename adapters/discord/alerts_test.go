package discord_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/resetflow"
)

func testAlert(id string, kind resetflow.AlertKind) resetflow.Alert {
	return resetflow.Alert{
		ID: id, Kind: kind, Time: start, Platform: "discord", ChatUser: "1175000000000000042",
		User:   resetflow.User{ID: "8f1c2a6e-0001-4c1a-9a11-a11ce0000001", UPN: "alice@contoso.example", DisplayName: "Alice Anderson"},
		Device: &resetflow.Device{ID: "dev-alice-pixel", Name: "Alice's Pixel 8", Maker: "Google", Model: "Pixel 8", OS: "Android", OSVersion: "15"},
		Detail: "signed_in_as=mallory@contoso.example",
	}
}

func field(e *discordgo.MessageEmbed, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// TestAlertPostedThroughA429: the runtime's queue posts an alert; Discord
// answers 429 first; the alert is posted after exactly retry_after, once.
// Then a helpdesk member presses "I'm on it".
func TestAlertPostedThroughA429(t *testing.T) {
	h := newHarness(t)
	h.run()
	h.fake.RateLimit("POST", "/channels/"+h.helpdesk+"/messages", 1, 2500*time.Millisecond, false)
	q := bot.NewAlerts(h.clk, slog.New(slog.NewTextHandler(h.logs, nil)), h.adapter)
	q.Start()
	q.Alert(context.Background(), testAlert("a1", resetflow.AlertWrongPerson))

	h.fake.WaitFor(t, "a 429", func() bool { return len(h.fake.CallsTo("POST", "/channels/"+h.helpdesk+"/messages")) == 1 })
	if c := h.fake.CallsTo("POST", "/channels/"+h.helpdesk+"/messages")[0]; c.Status != 429 {
		t.Fatalf("first post answered %d; want 429", c.Status)
	}
	h.waitTimers(1) // the queue waits Retry-After on the clock
	h.clk.Advance(2499 * time.Millisecond)
	if n := len(h.fake.CallsTo("POST", "/channels/"+h.helpdesk+"/messages")); n != 1 {
		t.Fatalf("%d posts before retry_after passed; want 1", n)
	}
	h.clk.Advance(time.Millisecond)
	h.fake.WaitFor(t, "the alert posted", func() bool { return len(h.fake.Messages(h.helpdesk)) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	h.waitTimers(1) // the queue paces the channel: its next post waits an interval
	h.clk.Advance(time.Second)
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	msgs := h.fake.Messages(h.helpdesk)
	if len(msgs) != 1 || len(msgs[0].Embeds) != 1 {
		t.Fatalf("helpdesk has %d messages; want one with one embed", len(msgs))
	}
	m, e := msgs[0], msgs[0].Embeds[0]
	if e.Title != h.cat.T("en", "alert_title_wrong_person") {
		t.Errorf("embed title %q", e.Title)
	}
	for name, want := range map[string]string{
		h.cat.T("en", "alert_who"):    "alice@contoso.example",
		h.cat.T("en", "alert_device"): "Alice's Pixel 8",
		h.cat.T("en", "alert_when"):   fmt.Sprintf("<t:%d:f>", start.Unix()),
		h.cat.T("en", "alert_detail"): "signed_in_as=mallory@contoso.example",
		h.cat.T("en", "alert_chat"):   "<@1175000000000000042>",
	} {
		if got := field(e, name); !strings.Contains(got, want) {
			t.Errorf("field %s = %q; want it to contain %q", name, got, want)
		}
	}
	if !strings.Contains(field(e, h.cat.T("en", "alert_device")), "Google Pixel 8") {
		t.Error("no device model in the alert")
	}

	// "I'm on it".
	helen := h.fake.NewUser("helen")
	take := m.Button(h.cat.T("en", "alert_take"))
	if take == nil {
		t.Fatal("no I'm on it button")
	}
	first, err := h.fake.Click(helen, m.ID, take.CustomID, discordtest.InGuild("1190000000000000001"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-h.taken:
		if got != [2]string{"a1", helen.ID} {
			t.Errorf("OnAlertTaken(%q, %q); want a1 by helen", got[0], got[1])
		}
	case <-time.After(15 * time.Second):
		t.Fatal("OnAlertTaken not called")
	}
	taken := h.fake.Messages(h.helpdesk)[0]
	h.fake.WaitFor(t, "the alert marked taken", func() bool {
		taken = h.fake.Messages(h.helpdesk)[0]
		return len(taken.Buttons()) == 1 && taken.Buttons()[0].Disabled
	})
	if got := taken.Buttons()[0].Label; got != h.cat.T("en", "alert_taken", map[string]any{"Who": "helen"}) {
		t.Errorf("taken button label %q", got)
	}
	if got := field(taken.Embeds[0], h.cat.T("en", "alert_take")); got != h.cat.T("en", "alert_taken", map[string]any{"Who": "<@" + helen.ID + ">"}) {
		t.Errorf("taken field %q", got)
	}
	if cb := h.fake.Interaction(first).Callbacks; len(cb) != 1 || cb[0] != discordgo.InteractionResponseDeferredMessageUpdate {
		t.Errorf("take answered %v; want a deferred update", cb)
	}
	// A second press (a colleague's stale screen) changes nothing.
	ivan := h.fake.NewUser("ivan")
	second, _ := h.fake.Click(ivan, m.ID, take.CustomID, discordtest.InGuild("1190000000000000001"), discordtest.AllowDisabled())
	h.fake.WaitFor(t, "the second press answered", func() bool { return len(h.fake.Interaction(second).Callbacks) == 1 })
	select {
	case got := <-h.taken:
		t.Errorf("OnAlertTaken called again: %v", got)
	default:
	}
	h.noTokens(first, second)
}

// TestAlertDigestNoneDroppedNoneTwice: twelve alerts need two messages (ten
// embeds each at most); a 429 on the second leaves the first posted, and the
// retry posts only the rest.
func TestAlertDigestNoneDroppedNoneTwice(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	var alerts []resetflow.Alert
	for i := range 12 {
		alerts = append(alerts, testAlert(fmt.Sprintf("d%02d", i), resetflow.AlertResetFailed))
	}
	h.fake.RateLimitNth("POST", "/channels/"+h.helpdesk+"/messages", 2, 1500*time.Millisecond)
	err := h.adapter.PostAlerts(ctx, alerts)
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != 1500*time.Millisecond {
		t.Fatalf("PostAlerts = %v; want an error with RetryAfter 1.5s", err)
	}
	if err := h.adapter.PostAlerts(ctx, alerts); err != nil {
		t.Fatal(err)
	}
	msgs := h.fake.Messages(h.helpdesk)
	if len(msgs) != 2 || len(msgs[0].Embeds) != 10 || len(msgs[1].Embeds) != 2 {
		t.Fatalf("got %d messages; want 10 + 2 embeds", len(msgs))
	}
	seen := map[string]int{}
	for _, m := range msgs {
		for _, e := range m.Embeds {
			seen[strings.TrimPrefix(e.Footer.Text, "alert ")]++
		}
		if len(m.Buttons()) != len(m.Embeds) {
			t.Errorf("%d take buttons for %d alerts", len(m.Buttons()), len(m.Embeds))
		}
	}
	for _, a := range alerts {
		if seen[a.ID] != 1 {
			t.Errorf("alert %s posted %d times; want 1", a.ID, seen[a.ID])
		}
	}
	if !strings.Contains(msgs[0].Content, h.cat.T("en", "alert_digest", map[string]any{"Count": 12})) {
		t.Errorf("digest header %q", msgs[0].Content)
	}
}

// TestAccountLinkingAlerts: the alerts of account linking name the
// Discord account (mention and name) and the directory user; a refused
// linking is red.
func TestAccountLinkingAlerts(t *testing.T) {
	h := newHarness(t)
	h.run()
	refused := testAlert("l1", resetflow.AlertLinkRefused)
	refused.Device, refused.ChatName, refused.Detail = nil, "Mallory (@mallory)", "reason=expired"
	linked := testAlert("l2", resetflow.AlertAccountLinked)
	linked.Device, linked.ChatName = nil, "Alice (@alice)"
	if err := h.adapter.PostAlerts(context.Background(), []resetflow.Alert{refused, linked}); err != nil {
		t.Fatal(err)
	}
	msgs := h.fake.Messages(h.helpdesk)
	if len(msgs) != 1 || len(msgs[0].Embeds) != 2 {
		t.Fatalf("helpdesk got %d messages; want one with two embeds", len(msgs))
	}
	r, l := msgs[0].Embeds[0], msgs[0].Embeds[1]
	if !strings.HasSuffix(r.Title, h.cat.T("en", "alert_title_link_refused")) || r.Color != 0xED4245 {
		t.Errorf("refused embed: %q colour %x", r.Title, r.Color)
	}
	if got := field(r, h.cat.T("en", "alert_chat")); !strings.Contains(got, "<@1175000000000000042>") || !strings.Contains(got, "Mallory (@mallory)") {
		t.Errorf("refused chat field %q", got)
	}
	if got := field(r, h.cat.T("en", "alert_who")); !strings.Contains(got, "alice@contoso.example") {
		t.Errorf("refused who field %q", got)
	}
	if !strings.HasSuffix(l.Title, h.cat.T("en", "alert_title_account_linked")) || !strings.Contains(field(l, h.cat.T("en", "alert_chat")), "Alice (@alice)") {
		t.Errorf("linked embed: %q %q", l.Title, field(l, h.cat.T("en", "alert_chat")))
	}
}
