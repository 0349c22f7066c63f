package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// dmOpens counts the bot's requests to open a DM.
func dmOpens(h *harness) int {
	n := 0
	for _, c := range h.fake.Calls() {
		if c.Method == "POST" && c.Path == "/users/@me/channels" {
			n++
		}
	}
	return n
}

// TestRepliesGoToTheDMThePersonWroteFrom (issue 17): the answers to a person
// who wrote to the bot go to the DM they wrote from, without asking Discord to
// open it (at 1,000 new people at once those requests, sent one at a time by
// discordgo, were most of the wait); the passcode still goes only where Discord
// itself said the channel is that person's DM: the "Reset passcode" press came
// from there in the context BOT_DM, or, for a press without that context (a
// payload without "context"), Discord's answer to opening the DM.
func TestRepliesGoToTheDMThePersonWroteFrom(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []discordtest.InteractionOption
		opens int
	}{
		{"press in the context BOT_DM", nil, 0},
		{"press without a context", []discordtest.InteractionOption{discordtest.Context(discordgo.InteractionContextGuild)}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.run()
			alice := h.fake.NewUser("alice")
			preload(t, h, alice, "alice@contoso.example")
			h.fake.UserSays(alice, "reset")
			list := h.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("2. Alice's Pixel 8") != nil })
			h.click(alice, list, "2. Alice's Pixel 8")
			linkMsg := h.dm(alice, "the sign-in link", func(m discordtest.Message) bool {
				return len(m.Buttons()) > 0 && m.Buttons()[0].Style == discordgo.LinkButton && strings.Contains(m.Content, "Alice's Pixel 8")
			})
			h.signIn(linkURL(t, linkMsg), "alice@contoso.example")
			warn := h.dm(alice, "the warning", func(m discordtest.Message) bool { return m.Button(h.cat.T("en", "button_reset")) != nil })
			if n := dmOpens(h); n != 0 {
				t.Fatalf("%d DM opens before the warning; want 0", n)
			}
			if ch, _ := h.fake.Channel(warn.ChannelID); ch.Type != discordgo.ChannelTypeDM || ch.Recipient != alice.ID {
				t.Fatalf("the warning went to %+v", ch)
			}
			h.click(alice, warn, h.cat.T("en", "button_reset"), tc.opts...)
			h.dmSays(alice, h.cat.T("en", "resetting", dev("Alice's Pixel 8")))
			h.waitTimers(1)
			h.clk.Advance(2 * time.Second)
			pass := h.dmSays(alice, h.cat.T("en", "passcode_label")+":")
			if ch, _ := h.fake.Channel(pass.ChannelID); ch.Type != discordgo.ChannelTypeDM || ch.Recipient != alice.ID {
				t.Fatalf("the passcode went to %+v", ch)
			}
			if n := dmOpens(h); n != tc.opens {
				t.Errorf("%d DM opens for the passcode; want %d", n, tc.opens)
			}
		})
	}
}

// TestHeardDMIsNoPlaceForAPasscode: a DM the person wrote from is where their
// replies go, but a passcode is sent only once Discord confirms the DM; when its
// answer is not that person's DM, nothing is sent, wherever they wrote from.
func TestHeardDMIsNoPlaceForAPasscode(t *testing.T) {
	h := newHarness(t)
	h.run()
	victim := h.fake.NewUser("victim")
	h.fake.UserSays(victim, "help")
	h.dmSays(victim, "Intune")
	h.fake.Misdirect(victim.ID, h.helpdesk)
	const pass = "Zq7Wx3Kp"
	msg := resetflow.Message{Text: "Here is the temporary passcode.", Secret: resetflow.NewSecret("Temporary passcode", pass)}
	if err := h.adapter.Send(context.Background(), resetflow.Address{Platform: discord.Platform, UserID: victim.ID}, msg); err == nil {
		t.Error("a passcode was sent although Discord's answer was not the person's DM")
	}
	for _, m := range h.fake.AllMessages() {
		if strings.Contains(m.Content, pass) {
			t.Errorf("the passcode was posted in channel %s", m.ChannelID)
		}
	}
}
