package teams_test

import (
	"context"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestAnswerDoesNotWaitForTheClickedCard (issue 17): after "Reset passcode",
// the engine's "Resetting…" goes out while the update that takes the
// warning's buttons off is still on its way (a slow Connector here); the
// buttons go once it is through.
func TestAnswerDoesNotWaitForTheClickedCard(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "reset")
	list := h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 3}))
	window := formToken(t, h.open(list, "2. Alice's Pixel 8"))
	link := h.card(conv, "the sign-in link", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "signin_button")) != nil })
	h.localSignIn(window, "alice@contoso.example")
	warn := h.card(conv, "the warning", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "button_reset")) != nil })
	// A card is settled once updated (its buttons off; a link it leads to may stay).
	settled := func(id string) func() bool {
		return func() bool {
			for _, m := range h.fake.Messages(conv) {
				if m.ID == id {
					return len(m.Versions) > 1
				}
			}
			return false
		}
	}
	h.fake.WaitFor(t, "the sign-in link settled once the warning replaced it", settled(link.ID))

	release := h.fake.HoldUpdates(conv)
	defer release()
	h.click(alice, warn, h.cat.T("en", "button_reset"))
	h.says(conv, h.cat.T("en", "resetting", dev("Alice's Pixel 8")))
	if settled(warn.ID)() {
		t.Fatal("the warning was updated while the Connector held every update")
	}
	release()
	h.fake.WaitFor(t, "the warning's buttons taken off", settled(warn.ID))
	for _, m := range h.fake.Messages(conv) {
		if m.ID == warn.ID && len(m.Actions()) != 0 {
			t.Errorf("the warning still has %q", m.Actions())
		}
	}
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	h.says(conv, h.cat.T("en", "success", dev("Alice's Pixel 8")))
}

// TestSendDoesNotWaitForTheReplacedCard (issue 17): a card with buttons
// that replaces another is posted, and Send returns, while the update that
// takes the other's buttons off is still on its way (a slow Connector); the
// buttons go once it is through.
func TestSendDoesNotWaitForTheReplacedCard(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "help") // the bot knows the personal chat from here
	to := resetflow.Address{Platform: teams.Platform, UserID: aliceID, Channel: conv}
	ctx := context.Background()
	if err := h.adapter.Send(ctx, to, resetflow.Message{Text: "First", Buttons: []resetflow.Button{{Label: "One", Value: "one"}}}); err != nil {
		t.Fatal(err)
	}
	first := h.says(conv, "First")
	release := h.fake.HoldUpdates(conv)
	defer release()
	sent := make(chan error, 1)
	go func() {
		sent <- h.adapter.Send(ctx, to, resetflow.Message{Text: "Second", Buttons: []resetflow.Button{{Label: "Two", Value: "two"}}})
	}()
	select {
	case err := <-sent:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second): // a bound on a wait that should not happen, not a pause
		t.Fatal("Send waits for the update of the card it replaced")
	}
	h.says(conv, "Second")
	updated := func() bool {
		for _, m := range h.fake.Messages(conv) {
			if m.ID == first.ID {
				return len(m.Versions) > 1
			}
		}
		return false
	}
	if updated() {
		t.Fatal("the first card was updated while the Connector held every update")
	}
	release()
	h.fake.WaitFor(t, "the first card's buttons taken off", updated)
}
