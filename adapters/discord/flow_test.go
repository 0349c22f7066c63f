package discord_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/resetflow"
)

func dev(name string) map[string]any { return map[string]any{"Device": name} }

// TestLinkThenReset: an unlinked Discord user writes "reset", links their
// account by signing in once, and that same sign-in serves as the reset's
// re-authentication: pick, warning, confirm, passcode (DM only), success, and
// the passcode is edited out of the DM after the secret TTL.
func TestLinkThenReset(t *testing.T) {
	h := newHarness(t)
	h.run()
	ctx := context.Background()
	alice := h.fake.NewUser("alice")

	h.fake.UserSays(alice, "reset")
	linkMsg := h.dmSays(alice, h.cat.T("en", "link_needed", map[string]any{"Until": "09:05 UTC", "Minutes": 5}))
	if got, want := linkURL(t, linkMsg), h.web.URL+"/r/"; !strings.HasPrefix(got, want) {
		t.Fatalf("link button URL = %q; want %s...", got, want)
	}
	// The expiry in Discord's own timestamp (each reader's time zone), never later than the real one.
	if want := fmt.Sprintf("<t:%d:t>", start.Add(5*time.Minute).Unix()); !strings.Contains(linkMsg.Content, want) {
		t.Errorf("link message %q lacks the expiry %s", linkMsg.Content, want)
	}
	if _, ok, _ := h.links.LinkedUser(ctx, "discord", alice.ID); ok {
		t.Fatal("linked before signing in")
	}

	// The sign-in page names the Discord account; the link is made only once
	// the code it shows is typed into this DM.
	code := h.linkSignIn(linkURL(t, linkMsg), "alice@contoso.example")
	if !strings.Contains(h.landing, "@alice") {
		t.Errorf("the landing page does not name the Discord account @alice:\n%s", h.landing)
	}
	if _, ok, _ := h.links.LinkedUser(ctx, "discord", alice.ID); ok {
		t.Fatal("linked before the pairing code was typed")
	}
	h.fake.UserSays(alice, code)
	h.dmSays(alice, h.cat.T("en", "linked", map[string]any{"UPN": "alice@contoso.example"}))
	if u, ok, err := h.links.LinkedUser(ctx, "discord", alice.ID); err != nil || !ok || u.UPN != "alice@contoso.example" {
		t.Fatalf("link after sign-in = %+v, %v, %v; want alice", u, ok, err)
	}

	list := h.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("2. Alice's Pixel 8") != nil })
	if n := len(list.Buttons()); n != 4 {
		t.Errorf("device list has %d buttons; want 3 devices and Cancel", n)
	}
	h.fake.WaitFor(t, "the link message's buttons disabled once the device list replaced it", func() bool {
		lm, _ := h.fake.Message(linkMsg.ID)
		return !lm.Live() && lm.Buttons()[0].Disabled
	})

	h.click(alice, list, "2. Alice's Pixel 8")
	// The link's sign-in moments ago stands for the reset's: straight to the warning.
	warn := h.dm(alice, "the warning", func(m discordtest.Message) bool {
		b := m.Button(h.cat.T("en", "button_reset"))
		return b != nil && b.Style == discordgo.DangerButton
	})
	if !strings.Contains(warn.Content, h.cat.T("en", "confirm_text", dev("Alice's Pixel 8"))) {
		t.Errorf("the warning lacks the confirmation text: %q", warn.Content)
	}
	if warn.Button(h.cat.T("en", "button_cancel")) == nil {
		t.Error("the warning has no Cancel button")
	}
	settledList, _ := h.fake.Message(list.ID)
	if settledList.Live() {
		t.Error("the device list is still usable after the pick")
	}
	if b := settledList.Button("2. Alice's Pixel 8"); b == nil || b.Style != discordgo.PrimaryButton {
		t.Error("the picked device's button lost its style")
	}
	if b := settledList.Button("1. Alice's iPhone"); b == nil || b.Style != discordgo.SecondaryButton {
		t.Error("an unpicked device's button was not greyed")
	}

	confirm := h.click(alice, warn, h.cat.T("en", "button_reset"))
	h.dmSays(alice, h.cat.T("en", "resetting", dev("Alice's Pixel 8")))
	in := h.fake.Interaction(confirm)
	if len(in.Callbacks) != 1 || in.Callbacks[0] != discordgo.InteractionResponseUpdateMessage {
		t.Errorf("confirm click answered with %v; want one update of the message (7)", in.Callbacks)
	}
	// That answer took the warning's buttons off, the pressed one marked, and
	// kept its words: no edit of its own after it (issue 17).
	if w, _ := h.fake.Message(warn.ID); w.Live() || w.Content != warn.Content {
		t.Errorf("the warning after the press: live %v, content %q; want its buttons off and its words kept", w.Live(), w.Content)
	} else if b := w.Button(h.cat.T("en", "button_reset")); b == nil || b.Style != discordgo.DangerButton {
		t.Error("the pressed Reset button lost its style")
	} else if b := w.Button(h.cat.T("en", "button_cancel")); b == nil || b.Style != discordgo.SecondaryButton {
		t.Error("Cancel, not pressed, was not greyed")
	}
	for _, c := range h.fake.Calls() {
		if strings.HasPrefix(c.Path, "/webhooks/") && c.Method == http.MethodPatch {
			t.Errorf("a webhook edit after a click: %s %s; the click's answer updates the message", c.Method, c.Path)
		}
	}
	if in.AckDelay > 3*time.Second {
		t.Errorf("confirm click answered after %v; Discord wants 3 s", in.AckDelay)
	}

	h.waitTimers(1) // the engine's first look at the result
	h.clk.Advance(2 * time.Second)
	pm := h.dmSays(alice, h.cat.T("en", "passcode_label")+":")
	pass := passcodeIn(t, pm)
	h.dmSays(alice, h.cat.T("en", "success", dev("Alice's Pixel 8")))
	if n := h.fleet.Resets(); n != 1 {
		t.Fatalf("fleet took %d resets; want 1", n)
	}
	ch, _ := h.fake.Channel(pm.ChannelID)
	if ch.Type != discordgo.ChannelTypeDM || ch.Recipient != alice.ID {
		t.Fatalf("passcode sent to channel %+v; want alice's DM", ch)
	}
	h.noLeaks(pass, pm.ChannelID)

	// Edited out after the TTL, and not a moment before.
	h.waitTimers(1)
	h.clk.Advance(secretTTL - time.Second)
	if m, _ := h.fake.Message(pm.ID); !strings.Contains(m.Content, pass) {
		t.Fatal("the passcode was removed before its TTL")
	}
	h.clk.Advance(time.Second)
	removed := h.dm(alice, "the passcode edited out", func(m discordtest.Message) bool {
		return m.ID == pm.ID && !strings.Contains(m.Content, pass)
	})
	if !strings.Contains(removed.Content, h.cat.T("en", "removed_for_safety")) {
		t.Errorf("the edited message says %q; want removed_for_safety", removed.Content)
	}
	if !strings.Contains(removed.Content, h.cat.T("en", "guide_work_profile_temporary")) {
		t.Error("the edit dropped the how-to-change guide")
	}
	h.noTokens(confirm)
	if missed := h.cat.Missed(); len(missed) > 0 {
		t.Errorf("catalog ids missing: %v", missed)
	}

	for _, c := range h.fake.Calls() {
		if c.Path == "/gateway" {
			t.Error("the gateway URL was asked at GET /gateway; a bot asks GET /gateway/bot")
		}
	}
	if len(h.fake.CallsTo("GET", "/gateway/bot")) == 0 {
		t.Error("GET /gateway/bot never asked")
	}

	// "unlink" removes the link for good.
	h.fake.UserSays(alice, "unlink")
	h.dmSays(alice, h.cat.T("en", "unlinked"))
	if _, ok, _ := h.links.LinkedUser(ctx, "discord", alice.ID); ok {
		t.Error("still linked after unlink")
	}
}

// TestLinkedUserResetsInJapanese: a preloaded link, the slash command from a
// Japanese client; the command's deferred answer becomes the device list.
func TestLinkedUserResetsInJapanese(t *testing.T) {
	h := newHarness(t)
	h.run()
	bob := h.fake.NewUser("bob")
	if _, err := discord.Preload(context.Background(), h.links, h.fleet, []discord.PreloadEntry{{DiscordUserID: bob.ID, UPN: "bob@contoso.example"}}); err != nil {
		t.Fatal(err)
	}
	h.fake.WaitFor(t, "the slash command registered", func() bool { return len(h.fake.Commands()) == 1 })

	cmd := h.fake.Command(bob, "reset-passcode", discordtest.Locale("ja"))
	list := h.dm(bob, "the device list in the command's answer", func(m discordtest.Message) bool {
		return m.Via == "interaction" && m.Button("3. Bob's Lumia 635") != nil
	})
	if cb := h.fake.Interaction(cmd).Callbacks; len(cb) != 1 || cb[0] != discordgo.InteractionResponseDeferredChannelMessageWithSource {
		t.Errorf("command answered with %v; want a deferred message (5)", cb)
	}
	if !strings.Contains(list.Content, h.cat.T("ja", "pick_device", map[string]any{"Count": 4})) {
		t.Errorf("device list not in Japanese: %q", list.Content)
	}

	h.click(bob, list, "3. Bob's Lumia 635", discordtest.Locale("ja"))
	linkMsg := h.dm(bob, "the sign-in link", func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "Bob's Lumia 635") && len(m.Buttons()) > 0 && m.Buttons()[0].Style == discordgo.LinkButton
	})
	if linkMsg.Buttons()[0].Label != h.cat.T("ja", "signin_button") {
		t.Errorf("link button label %q; want Japanese", linkMsg.Buttons()[0].Label)
	}
	h.signIn(linkURL(t, linkMsg), "bob@contoso.example")
	warn := h.dm(bob, "the warning", func(m discordtest.Message) bool { return m.Button(h.cat.T("ja", "button_reset")) != nil })
	h.click(bob, warn, h.cat.T("ja", "button_reset"), discordtest.Locale("ja"))
	h.dmSays(bob, h.cat.T("ja", "resetting", dev("Bob's Lumia 635")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	pm := h.dmSays(bob, h.cat.T("ja", "passcode_label")+":")
	pass := passcodeIn(t, pm)
	if len(pass) != 6 || strings.Trim(pass, "0123456789") != "" {
		t.Errorf("Windows Phone 8.1 passcode %q; want 6 digits", pass)
	}
	h.dmSays(bob, h.cat.T("ja", "success", dev("Bob's Lumia 635")))
	h.noLeaks(pass, pm.ChannelID)
	h.waitTimers(1)
	h.clk.Advance(secretTTL)
	h.dm(bob, "the passcode edited out, in Japanese", func(m discordtest.Message) bool {
		return m.ID == pm.ID && !strings.Contains(m.Content, pass) && strings.Contains(m.Content, h.cat.T("ja", "removed_for_safety"))
	})
	h.noTokens(cmd)
}

func preload(t *testing.T, h *harness, u discordtest.User, upn string) {
	t.Helper()
	if _, err := discord.Preload(context.Background(), h.links, h.fleet, []discord.PreloadEntry{{DiscordUserID: u.ID, UPN: upn}}); err != nil {
		t.Fatal(err)
	}
}

// TestReconnectMidFlow: Discord asks the bot to reconnect (op 7) in the middle
// of a reset; what the person writes meanwhile is replayed after the RESUME
// and the reset goes on.
func TestReconnectMidFlow(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.fake.NewUser("alice")
	preload(t, h, alice, "alice@contoso.example")
	h.fake.UserSays(alice, "reset")
	list := h.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("1. Alice's iPhone") != nil })
	session := h.fake.SessionID()

	h.fake.SendReconnect()
	h.fake.UserSays(alice, "1") // sent while the bot reconnects
	linkMsg := h.dm(alice, "the sign-in link for the iPhone", func(m discordtest.Message) bool {
		return m.ID != list.ID && strings.Contains(m.Content, "Alice's iPhone") && len(m.Buttons()) > 0 && m.Buttons()[0].Style == discordgo.LinkButton
	})
	if got := h.fake.Resumes(); len(got) != 1 || got[0] != session {
		t.Fatalf("resumes = %v; want one of session %s", got, session)
	}
	if n := len(h.fake.Identifies()); n != 1 {
		t.Errorf("%d IDENTIFYs; a reconnect should RESUME, not identify again", n)
	}
	replayed := false
	for _, op := range h.fake.GatewayLog() {
		if !op.In && op.Type == "MESSAGE_CREATE" && op.Conn == 2 && strings.Contains(string(op.Data), `"content":"1"`) {
			replayed = true
		}
	}
	if !replayed {
		t.Error(`the "1" written during the reconnect was not replayed on the resumed connection`)
	}

	h.signIn(linkURL(t, linkMsg), "alice@contoso.example")
	warn := h.dm(alice, "the warning", func(m discordtest.Message) bool { return m.Button(h.cat.T("en", "button_reset")) != nil })
	h.click(alice, warn, h.cat.T("en", "button_reset"))
	h.dmSays(alice, h.cat.T("en", "resetting", dev("Alice's iPhone")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	h.dmSays(alice, h.cat.T("en", "success", dev("Alice's iPhone")))
	h.dmSays(alice, h.cat.T("en", "removed_passcode_removed", dev("Alice's iPhone")))
	if n := h.fleet.Resets(); n != 1 {
		t.Errorf("fleet took %d resets; want 1", n)
	}
	if err := h.adapter.Healthy(); err != nil {
		t.Errorf("Healthy after the reconnect = %v", err)
	}
}

// toWarning runs alice (linked) from "reset" to the warning for her iPhone.
func toWarning(t *testing.T, h *harness, alice discordtest.User) discordtest.Message {
	t.Helper()
	preload(t, h, alice, "alice@contoso.example")
	h.fake.UserSays(alice, "reset")
	list := h.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("1. Alice's iPhone") != nil })
	h.click(alice, list, "1. Alice's iPhone")
	linkMsg := h.dm(alice, "the sign-in link", func(m discordtest.Message) bool {
		return len(m.Buttons()) > 0 && m.Buttons()[0].Style == discordgo.LinkButton && strings.Contains(m.Content, "Alice's iPhone")
	})
	h.signIn(linkURL(t, linkMsg), "alice@contoso.example")
	return h.dm(alice, "the warning", func(m discordtest.Message) bool { return m.Button(h.cat.T("en", "button_reset")) != nil })
}

// TestDoubleClickResetsOnce: two clicks on "Reset passcode" before the screen
// catches up make one reset, and the second click is answered but does nothing.
func TestDoubleClickResetsOnce(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.fake.NewUser("alice")
	warn := toWarning(t, h, alice)

	first := h.click(alice, warn, h.cat.T("en", "button_reset"))
	second := h.click(alice, warn, h.cat.T("en", "button_reset"), discordtest.AllowDisabled())
	h.fake.WaitFor(t, "both clicks answered", func() bool {
		return len(h.fake.Interaction(first).Callbacks) == 1 && len(h.fake.Interaction(second).Callbacks) == 1
	})
	h.dmSays(alice, h.cat.T("en", "resetting", dev("Alice's iPhone")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	h.dmSays(alice, h.cat.T("en", "success", dev("Alice's iPhone")))
	if n := h.fleet.Resets(); n != 1 {
		t.Fatalf("fleet took %d resets for a double click; want 1", n)
	}
	// One "resetting" message, since edited to the progress's final state.
	resetting := 0
	for _, m := range h.fake.Messages(h.fake.DMChannel(alice.ID)) {
		if len(m.Versions) > 0 && strings.Contains(m.Versions[0], h.cat.T("en", "resetting", dev("Alice's iPhone"))) {
			resetting++
			if !strings.Contains(m.Content, "Passcode reset of Alice's iPhone: done after 0:02") {
				t.Errorf("the resetting message ends as %q; want its final state", m.Content)
			}
		}
	}
	if resetting != 1 || h.countDM(alice, "Passcode reset of") != 1 {
		t.Errorf(`%d "resetting" messages; want 1, updated in place`, resetting)
	}
	// The second click never reached the engine: after the warning the bot said
	// exactly what one click makes it say (and the answer to a barrier "help").
	h.fake.UserSays(alice, "help")
	h.dmSays(alice, "Intune")
	want := []string{
		h.cat.T("en", "resetting", dev("Alice's iPhone")),
		h.cat.T("en", "removed_passcode_removed", dev("Alice's iPhone")),
		h.cat.T("en", "success", dev("Alice's iPhone")),
		"Intune",
	}
	after := false
	for _, m := range h.fake.Messages(h.fake.DMChannel(alice.ID)) {
		if m.ID == warn.ID {
			after = true
			continue
		}
		if !after || m.AuthorID != h.fake.BotID() {
			continue
		}
		if len(want) == 0 || !strings.Contains(strings.Join(m.Versions, "\n")+m.Content, want[0]) {
			t.Errorf("unexpected message after the warning: %q", m.Content)
			continue
		}
		want = want[1:]
	}
	if len(want) != 0 {
		t.Errorf("missing messages: %q", want)
	}
}

// TestStaleInteractions: an interaction older than its token, a click on a
// message already used, and a click whose answer Discord refused all do nothing;
// the refused one can be clicked again.
func TestStaleInteractions(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.fake.NewUser("alice")
	preload(t, h, alice, "alice@contoso.example")
	h.fake.UserSays(alice, "reset")
	list := h.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("1. Alice's iPhone") != nil })

	// Replayed after a long outage: 20 minutes old. No answer, no effect. (The
	// devices are link buttons, which send no interaction: the list's Cancel is.)
	old, err := h.fake.Click(alice, list.ID, list.Button(h.cat.T("en", "button_cancel")).CustomID, discordtest.At(start.Add(-20*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	h.click(alice, list, "2. Alice's Pixel 8")
	linkMsg := h.dm(alice, "the sign-in link for the Pixel", func(m discordtest.Message) bool {
		return m.ID != list.ID && len(m.Buttons()) > 0 && m.Buttons()[0].Style == discordgo.LinkButton && strings.Contains(m.Content, "Alice's Pixel 8")
	})
	if cb := h.fake.Interaction(old).Callbacks; len(cb) != 0 {
		t.Errorf("a 20-minute-old interaction was answered: %v", cb)
	}
	if strings.Contains(linkMsg.Content, "iPhone") || h.countDM(alice, h.cat.T("en", "cancelled")) > 0 {
		t.Error("the stale click did something")
	}

	// The device list again, from a screen that hasn't caught up: answered, ignored.
	again, _ := h.fake.Click(alice, list.ID, list.Button(h.cat.T("en", "button_cancel")).CustomID, discordtest.AllowDisabled())
	h.fake.WaitFor(t, "the old-list click answered", func() bool { return len(h.fake.Interaction(again).Callbacks) == 1 })
	// Discord refuses the answer to this Cancel (its 3 s ran out): nothing happens.
	h.fake.RefuseCallbacks(1)
	refused := h.click(alice, linkMsg, h.cat.T("en", "button_cancel"))
	h.fake.UserSays(alice, "help") // a barrier: handled after both clicks
	h.dmSays(alice, h.cat.T("en", "step_signing_in"))
	if n := h.countDM(alice, h.cat.T("en", "already_picked")); n != 0 {
		t.Error("a click on the used device list reached the engine")
	}
	if r := h.fake.Interaction(refused); len(r.Refused) != 1 || len(r.Callbacks) != 0 {
		t.Fatalf("refused interaction: %+v", r)
	}
	if n := h.countDM(alice, h.cat.T("en", "cancelled")); n != 0 {
		t.Fatal("a click Discord never saw answered cancelled the reset")
	}
	// The same button still works.
	h.click(alice, linkMsg, h.cat.T("en", "button_cancel"))
	h.dmSays(alice, h.cat.T("en", "cancelled"))
	if n := h.fleet.Resets(); n != 0 {
		t.Errorf("fleet took %d resets; want 0", n)
	}
}

// TestManyDevicesUseASelectMenu: more than five devices are a select menu.
func TestManyDevicesUseASelectMenu(t *testing.T) {
	h := newHarness(t, withFleetYAML(sixDevices))
	h.run()
	erin := h.fake.NewUser("erin")
	preload(t, h, erin, "erin@contoso.example")
	h.fake.UserSays(erin, "reset")
	list := h.dm(erin, "the device select", func(m discordtest.Message) bool { return len(m.Selects()) == 1 })
	sm := list.Selects()[0]
	if len(sm.Options) != 6 || sm.Options[5].Label != "6. Tablet 6" || !strings.Contains(sm.Options[5].Description, "Android 14") {
		t.Fatalf("select options = %+v", sm.Options)
	}
	if list.Button(h.cat.T("en", "button_cancel")) == nil {
		t.Error("no Cancel beside the select")
	}
	if _, err := h.fake.Select(erin, list.ID, sm.CustomID, []string{sm.Options[4].Value}); err != nil {
		t.Fatal(err)
	}
	h.dm(erin, "the sign-in link for tablet 5", func(m discordtest.Message) bool {
		return strings.Contains(m.Content, "Tablet 5") && len(m.Buttons()) > 0 && m.Buttons()[0].Style == discordgo.LinkButton
	})
	settledList, _ := h.fake.Message(list.ID)
	s := settledList.Selects()[0]
	if !s.Disabled || !s.Options[4].Default {
		t.Errorf("the used select is not disabled with the choice shown: %+v", s)
	}
}

const sixDevices = `users:
  - id: 8f1c2a6e-0005-4c1a-9a11-e41200000005
    upn: erin@contoso.example
    name: Erin Evans
    devices:
      - {id: t1, name: "Tablet 1", maker: Lenovo, model: Tab, os: Android, version: "14", mode: aosp, owner: company}
      - {id: t2, name: "Tablet 2", maker: Lenovo, model: Tab, os: Android, version: "14", mode: aosp, owner: company}
      - {id: t3, name: "Tablet 3", maker: Lenovo, model: Tab, os: Android, version: "14", mode: aosp, owner: company}
      - {id: t4, name: "Tablet 4", maker: Lenovo, model: Tab, os: Android, version: "14", mode: aosp, owner: company}
      - {id: t5, name: "Tablet 5", maker: Lenovo, model: Tab, os: Android, version: "14", mode: aosp, owner: company}
      - {id: t6, name: "Tablet 6", maker: Lenovo, model: Tab, os: Android, version: "14", mode: aosp, owner: company}
`

// TestSecretNeverLeavesTheDM: when Discord's answer to "open a DM" is not a
// DM with that person, or the conversation names another channel, no passcode is sent.
func TestSecretNeverLeavesTheDM(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	const pass = "Zq7Wx3Kp"
	msg := resetflow.Message{Text: "Here is the temporary passcode.", Secret: resetflow.NewSecret("Temporary passcode", pass)}

	victim := h.fake.NewUser("victim")
	h.fake.Misdirect(victim.ID, h.helpdesk)
	if err := h.adapter.Send(ctx, resetflow.Address{Platform: "discord", UserID: victim.ID}, msg); err == nil {
		t.Error("Send of a passcode succeeded although Discord answered with a guild channel")
	}

	carol := h.fake.NewUser("carol")
	if err := h.adapter.Send(ctx, resetflow.Address{Platform: "discord", UserID: carol.ID, Channel: h.helpdesk}, msg); err == nil {
		t.Error("Send of a passcode to a conversation in a guild channel succeeded")
	}
	for _, m := range h.fake.AllMessages() {
		if strings.Contains(m.Content, pass) {
			t.Errorf("the passcode was posted in channel %s", m.ChannelID)
		}
	}
	for _, c := range h.fake.Calls() {
		if strings.Contains(string(c.Body), pass) {
			t.Errorf("the passcode went out in %s %s", c.Method, c.Path)
		}
	}
	// To the real DM it goes.
	if err := h.adapter.Send(ctx, resetflow.Address{Platform: "discord", UserID: carol.ID}, msg); err != nil {
		t.Fatal(err)
	}
	m := h.dmSays(carol, "`"+pass+"`")
	if ch, _ := h.fake.Channel(m.ChannelID); ch.Type != discordgo.ChannelTypeDM || ch.Recipient != carol.ID {
		t.Errorf("passcode went to %+v", ch)
	}
}

// TestOnlyInTheBotDM: the command from a server channel, or from someone
// else's DM (a user-installed context), gets a private refusal and starts nothing.
func TestOnlyInTheBotDM(t *testing.T) {
	h := newHarness(t)
	h.run()
	eve := h.fake.NewUser("eve")
	preload(t, h, eve, "alice@contoso.example")
	for name, opt := range map[string]discordtest.InteractionOption{
		"server channel": discordtest.InGuild("1190000000000000001"),
		"another DM":     discordtest.Context(discordgo.InteractionContextPrivateChannel),
	} {
		id := h.fake.Command(eve, "reset-passcode", opt, discordtest.Locale("ja"))
		h.fake.WaitFor(t, "the refusal from "+name, func() bool { return h.fake.Interaction(id).OriginalID != "" })
		in := h.fake.Interaction(id)
		m, _ := h.fake.Message(in.OriginalID)
		if in.Callbacks[0] != discordgo.InteractionResponseChannelMessageWithSource || m.Flags&discordgo.MessageFlagsEphemeral == 0 || m.Content != h.cat.T("ja", "refused_not_dm") {
			t.Errorf("%s: answered %v with %q (flags %d); want a private refused_not_dm", name, in.Callbacks, m.Content, m.Flags)
		}
	}
	h.fake.UserSays(eve, "help") // a barrier: handled after both commands
	h.dmSays(eve, "Intune")
	for _, m := range h.fake.Messages(h.fake.DMChannel(eve.ID)) {
		if m.AuthorID == h.fake.BotID() && m.Flags&discordgo.MessageFlagsEphemeral == 0 && !strings.Contains(m.Content, "Intune") {
			t.Errorf("a command from outside the bot's DM got an answer in the DM: %q", m.Content)
		}
	}
}

// TestIgnoresBotsAndItself: messages from other bots, and the bot's own DMs
// echoed by the gateway, get no answer.
func TestIgnoresBotsAndItself(t *testing.T) {
	h := newHarness(t)
	h.run()
	robot := h.fake.NewUser("robot")
	robot.Bot = true
	h.fake.UserSays(robot, "reset")
	person := h.fake.NewUser("person")
	h.fake.UserSays(person, "help") // a barrier
	h.dmSays(person, "Intune")
	for _, m := range h.fake.Messages(h.fake.DMChannel(robot.ID)) {
		if m.AuthorID == h.fake.BotID() {
			t.Errorf("answered a bot: %q", m.Content)
		}
	}
	// The person's DM holds exactly one answer: the bot did not answer its own echo.
	n := 0
	for _, m := range h.fake.Messages(h.fake.DMChannel(person.ID)) {
		if m.AuthorID == h.fake.BotID() {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d bot messages in the DM; want 1", n)
	}
}

func withSecretLedger(shown func(ch, id, loc string, at time.Time), removed func(ch, id string)) harnessOpt {
	return func(s *harnessSetup) {
		s.cfg.Ledger = onscreen.LedgerFuncs{
			OnShown:   func(it onscreen.Item) error { shown(it.Channel, it.MessageID, it.Locale, it.RemoveAt); return nil },
			OnRemoved: func(ch, id string) error { removed(ch, id); return nil },
		}
	}
}

// TestSecretLedgerAndRestore: every passcode message is reported with its
// removal time and reported again once edited out, and a message left by an
// earlier run (Restore) is edited out at its time, or at once when overdue.
func TestSecretLedgerAndRestore(t *testing.T) {
	type entry struct {
		ch, id, loc string
		at          time.Time
	}
	shown, removed := make(chan entry, 4), make(chan entry, 4)
	h := newHarness(t, withSecretLedger(
		func(ch, id, loc string, at time.Time) { shown <- entry{ch, id, loc, at} },
		func(ch, id string) { removed <- entry{ch: ch, id: id} }))
	h.run()
	ctx := context.Background()
	alice := h.fake.NewUser("alice")
	to := resetflow.Address{Platform: "discord", UserID: alice.ID}
	pass := resetflow.Message{Text: "x", Secret: resetflow.NewSecret(h.cat.T("en", "passcode_label"), "Qw3rTy7u")}
	if err := h.adapter.Send(ctx, to, pass); err != nil {
		t.Fatal(err)
	}
	got := <-shown
	if got.ch != h.fake.DMChannel(alice.ID) || got.id == "" || got.loc != "en" || !got.at.Equal(h.clk.Now().Add(secretTTL)) {
		t.Fatalf("shown %+v", got)
	}
	h.waitTimers(1)
	h.clk.Advance(secretTTL)
	if r := <-removed; r.ch != got.ch || r.id != got.id {
		t.Fatalf("removed %+v, want %+v", r, got)
	}

	// A message an earlier run left on screen: overdue, so it goes at once.
	if err := h.adapter.Send(ctx, to, resetflow.Message{Text: "left over"}); err != nil {
		t.Fatal(err)
	}
	old := h.dmSays(alice, "left over")
	h.adapter.Restore(old.ChannelID, old.ID, "ja", h.clk.Now().Add(-time.Minute))
	h.dm(alice, "the left-over message edited out", func(m discordtest.Message) bool {
		return m.ID == old.ID && strings.Contains(m.Content, h.cat.T("ja", "removed_for_safety"))
	})
	if r := <-removed; r.id != old.ID {
		t.Errorf("removed %+v, want id %s", r, old.ID)
	}
}
