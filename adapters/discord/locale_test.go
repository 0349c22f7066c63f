package discord_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestSecretInEngineLocale: a passcode message carries the engine's language
// (Message.Locale), and the adapter takes it as is: the ledger records it and
// the passcode is replaced by the notice in that language, even when the
// label and the bot's default say otherwise.
func TestSecretInEngineLocale(t *testing.T) {
	locs := make(chan string, 2)
	h := newHarness(t, withSecretLedger(func(_, _, loc string, _ time.Time) { locs <- loc }, func(string, string) {}))
	h.run()
	alice := h.fake.NewUser("alice")
	to := resetflow.Address{Platform: "discord", UserID: alice.ID}
	pass := resetflow.Message{Text: "x", Locale: "ja", Secret: resetflow.NewSecret(h.cat.T("en", "passcode_label"), "Qw3rTy7u")}
	if err := h.adapter.Send(context.Background(), to, pass); err != nil {
		t.Fatal(err)
	}
	if loc := <-locs; loc != "ja" {
		t.Fatalf("ledger locale %q, want the engine's ja", loc)
	}
	sent := h.dmSays(alice, "x")
	h.waitTimers(1)
	h.clk.Advance(secretTTL)
	h.dm(alice, "the passcode replaced in Japanese", func(m discordtest.Message) bool {
		return m.ID == sent.ID && !strings.Contains(m.Content, "Qw3rTy7u") && strings.Contains(m.Content, h.cat.T("ja", "removed_for_safety"))
	})
}
