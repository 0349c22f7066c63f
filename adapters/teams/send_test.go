package teams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestProactiveMessage: a person the bot has not heard from since it started
// (a reset in flight across a restart) is reached in their personal chat,
// opened through POST /v3/conversations at the configured service URL.
func TestProactiveMessage(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	if err := h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: aliceID}, resetflow.Message{Text: "hello from before"}); err != nil {
		t.Fatal(err)
	}
	h.says(h.fake.PersonalChat(alice), "hello from before")
	created := false
	for _, c := range h.fake.Calls() {
		created = created || (c.Method == "POST" && c.Path == "/amer/v3/conversations" && strings.Contains(string(c.Body), aliceID))
	}
	if !created {
		t.Error("no conversation was created")
	}
}

// TestPasscodeOnlyToThePersonalChat: a passcode addressed to a conversation
// that is not the person's personal chat is not sent at all.
func TestPasscodeOnlyToThePersonalChat(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "help")
	h.says(conv, firstLine(h.cat.T("en", "help")))
	before := len(h.connectorCalls())
	err := h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: aliceID, Channel: h.helpdesk},
		resetflow.Message{Text: "x", Secret: resetflow.NewSecret("Temporary passcode", "SECRET123")})
	if err == nil {
		t.Fatal("a passcode was sent to a conversation that is not the personal chat")
	}
	if n := len(h.connectorCalls()) - before; n != 0 {
		t.Errorf("%d Connector calls for a refused passcode", n)
	}
	h.noLeaks("SECRET123", conv)
}

// TestPasscodeRemovedAtShutdownAndAfterRestart: a clean stop removes every
// passcode still shown at once; after a crash, the next run's Restore removes
// the one the crashed run left, at its time.
func TestPasscodeRemovedAtShutdownAndAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "help")
	h.says(conv, firstLine(h.cat.T("en", "help")))
	secret := resetflow.Message{Text: "Your passcode", Secret: resetflow.NewSecret(h.cat.T("en", "passcode_label"), "K7Q2M9")}
	if err := h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: aliceID, Channel: conv}, secret); err != nil {
		t.Fatal(err)
	}
	pm := h.card(conv, "the passcode", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), "K7Q2M9") })
	h.stop()
	h.card(conv, "the passcode removed at shutdown", func(m teamstest.Message) bool {
		return m.ID == pm.ID && !strings.Contains(m.Texts(), "K7Q2M9") && strings.Contains(m.Texts(), h.cat.T("en", "removed_for_safety"))
	})

	// A crash: nothing removed it; the next run's adapter gets the ledger's entry.
	var channel string
	h2 := newHarness(t, func(c *teams.Config) {
		c.SecretShown = func(ch, _, _ string, _ time.Time) { channel = ch }
	})
	h2.run()
	bob := h2.user(bobID, "bob@contoso.example", "ja-JP")
	conv2 := h2.fake.PersonalChat(bob)
	h2.say(bob, "help")
	h2.says(conv2, firstLine(h2.cat.T("ja", "help")))
	if err := h2.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: bobID, Channel: conv2}, resetflow.Message{Text: "パスコード", Secret: resetflow.NewSecret(h2.cat.T("ja", "passcode_label"), "Z9Y8X7")}); err != nil {
		t.Fatal(err)
	}
	left := h2.card(conv2, "bob's passcode", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), "Z9Y8X7") })
	if channel == "" {
		t.Fatal("SecretShown gave no channel")
	}
	restarted, err := teams.New(teams.Config{AppID: h2.fake.AppID(), AppPassword: h2.fake.AppPassword(), TenantID: h2.fake.TenantID(),
		ServiceURL: "https://smba.trafficmanager.net/teams/", MetadataURL: h2.fake.MetadataURL(), TokenURL: h2.fake.TokenURL(),
		Catalog: h2.cat, Clock: h2.clk})
	if err != nil {
		t.Fatal(err)
	}
	restarted.Restore(channel, left.ID, "ja", h2.clk.Now().Add(time.Minute))
	h2.clk.Advance(time.Minute)
	h2.card(conv2, "the passcode removed after the restart", func(m teamstest.Message) bool {
		return m.ID == left.ID && !strings.Contains(m.Texts(), "Z9Y8X7") && strings.Contains(m.Texts(), h2.cat.T("ja", "removed_for_safety"))
	})
}

// TestNewNeedsItsSettings: New names what is missing.
func TestNewNeedsItsSettings(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		cfg  teams.Config
		want string
	}{
		{teams.Config{AppPassword: "p", TenantID: "t", Catalog: h.cat}, "app id"},
		{teams.Config{AppID: "a", TenantID: "t", Catalog: h.cat}, teams.PasswordEnv},
		{teams.Config{AppID: "a", AppPassword: "p", Catalog: h.cat}, "tenant"},
	} {
		if _, err := teams.New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v; want an error naming %s", tc.cfg, err, tc.want)
		}
	}
}
