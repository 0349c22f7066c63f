package teams_test

import (
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
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
