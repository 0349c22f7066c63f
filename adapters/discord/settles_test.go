package discord_test

import (
	"context"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestSendDoesNotWaitForTheReplacedMessage (issue 17): a message with
// buttons that replaces another is sent, and Send returns, while the edit
// that greys out the other's buttons is still on its way (a slow Discord
// here); the other message is used up for clicks at once, and greyed out
// once the edit is through.
func TestSendDoesNotWaitForTheReplacedMessage(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.fake.NewUser("alice")
	to := resetflow.Address{Platform: discord.Platform, UserID: alice.ID}
	ctx := context.Background()
	first := resetflow.Message{Text: "First", Buttons: []resetflow.Button{{Label: "One", Value: "one"}}}
	if err := h.adapter.Send(ctx, to, first); err != nil {
		t.Fatal(err)
	}
	old := h.dmSays(alice, "First")
	release := h.fake.HoldEdits(old.ChannelID)
	defer release()
	sent := make(chan error, 1)
	go func() {
		sent <- h.adapter.Send(ctx, to, resetflow.Message{Text: "Second", Buttons: []resetflow.Button{{Label: "Two", Value: "two"}}})
	}()
	h.dmSays(alice, "Second")
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a bound on a wait that should not happen, not a pause
		t.Fatal("Send waits for the edit of the message it replaced")
	}
	if m, _ := h.fake.Message(old.ID); !m.Live() {
		t.Fatal("the first message was edited while Discord held every edit")
	}
	release()
	h.fake.WaitFor(t, "the first message's buttons greyed out", func() bool {
		m, _ := h.fake.Message(old.ID)
		return !m.Live()
	})
}
