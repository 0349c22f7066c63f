package teams_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
)

// TestFourActionsToThePasscode: on Teams a reset takes four actions of the
// person: write "reset", open the device's link (Action.OpenUrl: it picks the
// device in the browser and lands on the sign-in), sign in, press "Reset
// passcode". Previews of every device link (each fetched twice, as a link
// preview or a link scanner would) change nothing: no message, no card
// edited, no pick, nothing used up. The passcode arrives in the personal chat.
func TestFourActionsToThePasscode(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.acts = 0

	h.say(alice, "reset") // 1
	list := h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 3}))
	acts, _ := list.Card["actions"].([]any)
	var links []string
	for _, a := range acts {
		if am := a.(map[string]any); am["type"] == "Action.OpenUrl" {
			links = append(links, am["url"].(string))
		}
	}
	if len(links) != 3 {
		t.Fatalf("%d device links on the list; want one for each of the 3 devices: %s", len(links), mustJSON(acts))
	}

	// Previews of every device link: nothing is said, edited, picked or used up.
	type seen struct {
		id       string
		versions int
	}
	snapshot := func() []seen {
		var out []seen
		for _, m := range h.fake.Messages(conv) {
			out = append(out, seen{m.ID, len(m.Versions)})
		}
		return out
	}
	before := snapshot()
	for _, l := range links {
		for range 2 {
			resp, err := http.Get(l)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("preview GET %s = %d", l, resp.StatusCode)
			}
		}
	}
	// "help", a barrier (not one of the reset's actions, so not through h.say):
	// its answer comes after anything the previews could have caused.
	if res, err := h.fake.Say(alice, "help"); err != nil || res.Status != http.StatusOK {
		t.Fatalf("Say(help) = %+v, %v", res, err)
	}
	h.says(conv, h.cat.T("en", "step_picking"))
	after := snapshot()
	if len(after) != len(before)+1 {
		t.Fatalf("previews of the device links made %d messages", len(after)-len(before)-1)
	}
	for i, s := range before {
		if after[i] != s {
			t.Errorf("a preview edited message %s (%d versions, was %d)", s.id, after[i].versions, s.versions)
		}
	}
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 0 {
		t.Fatalf("a preview picked a device: %d sign-in links", n)
	}

	form := h.open(list, "2. Alice's Pixel 8") // 2
	window := formToken(t, form)
	// The link again (a reload, a second tab): the same sign-in, not a second one.
	if again := formToken(t, h.browse(links[1])); again != window {
		t.Errorf("the link opened again signs in to %s; the first time to %s", again, window)
	}
	h.card(conv, "the sign-in link", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "signin_button")) != nil })
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 1 {
		t.Errorf("%d sign-in links after the link was opened twice; want 1", n)
	}
	h.localSignIn(window, "alice@contoso.example") // 3
	warn := h.card(conv, "the warning", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "button_reset")) != nil })
	if !strings.Contains(warn.Texts(), h.cat.T("en", "confirm_text", dev("Alice's Pixel 8"))) {
		t.Errorf("the warning is not about the Pixel: %q", warn.Texts())
	}
	h.click(alice, warn, h.cat.T("en", "button_reset")) // 4
	h.says(conv, h.cat.T("en", "resetting", dev("Alice's Pixel 8")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	pm := h.card(conv, "the passcode", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), h.cat.T("en", "passcode_label")) })
	if pm.ConversationID != conv {
		t.Errorf("the passcode went to %s; want the personal chat %s", pm.ConversationID, conv)
	}
	h.noLeaks(passcodeIn(t, pm), conv)
	if h.acts != 4 {
		t.Errorf("%d actions from reset to the passcode; want 4", h.acts)
	}
	if n := h.fleet.Resets(); n != 1 {
		t.Errorf("fleet took %d resets; want 1", n)
	}
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 1 {
		t.Errorf("%d sign-in links in the whole reset; want 1", n)
	}
}

// TestIneligibleDeviceIsAButton: a device the rules refuse gets no link (a
// link scanner must never cause a helpdesk alert): it stays an Action.Submit,
// and pressing it settles the list saying what was chosen and tells the
// person why. The devices the rules allow on the same list are links.
func TestIneligibleDeviceIsAButton(t *testing.T) {
	h := newHarness(t)
	h.run()
	bob := h.user(bobID, "bob@contoso.example", "en-US")
	conv := h.fake.PersonalChat(bob)
	h.say(bob, "reset")
	list := h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 4}))
	for title, want := range map[string]string{
		"1. Bob's Galaxy S9": "Action.Submit", "2. Warehouse scanner 12": "Action.Submit",
		"3. Bob's Lumia 635": "Action.OpenUrl", "4. Bob's Galaxy S5": "Action.OpenUrl",
	} {
		if a := list.Action(title); a == nil || a["type"] != want {
			t.Errorf("%s = %v; want an %s", title, a, want)
		}
	}
	h.click(bob, list, "2. Warehouse scanner 12")
	h.says(conv, h.cat.T("en", "denied_contact_support", dev("Warehouse scanner 12")))
	h.fake.WaitFor(t, "the list settled with the choice", func() bool {
		for _, m := range h.fake.Messages(conv) {
			if m.ID == list.ID {
				return len(m.Actions()) == 0 && strings.Contains(m.Texts(), h.cat.T("en", "slack_chosen", map[string]any{"Choice": "Warehouse scanner 12"}))
			}
		}
		return false
	})
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 0 {
		t.Errorf("%d sign-in links for a refused device", n)
	}
}
