package teams_test

import (
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
)

func dev(name string) map[string]any { return map[string]any{"Device": name} }

// TestAndroidReset: the whole reset in a Teams personal chat, with the real
// token validation: "reset", the devices as link buttons (Action.OpenUrl), the
// pick in the browser that lands on the sign-in (the card loses its buttons and
// links; the sign-in link with its expiry names the same window),
// the warning with a destructive "Reset passcode", the temporary passcode in
// the personal chat only, the success notice, and the passcode removed after
// the secret TTL (not a moment before).
func TestAndroidReset(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)

	h.say(alice, "reset")
	list := h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 3}))
	if got := strings.Join(list.Actions(), "|"); got != "1. Alice's iPhone|2. Alice's Pixel 8|3. Alice's Lumia 950|"+h.cat.T("en", "button_cancel") {
		t.Fatalf("device buttons = %q", got)
	}
	// Every device the rules allow is a link of its own (Teams sends the bot
	// nothing for it); Cancel stays a button.
	for i, title := range []string{"1. Alice's iPhone", "2. Alice's Pixel 8", "3. Alice's Lumia 950"} {
		u := list.OpenURL(title)
		if !strings.HasPrefix(u, h.web.URL+"/r/") || !strings.HasSuffix(u, fmt.Sprintf("?d=%d", i+1)) {
			t.Errorf("%s opens %q; want its device-list link", title, u)
		}
	}
	if a := list.Action(h.cat.T("en", "button_cancel")); a["type"] != "Action.Submit" {
		t.Errorf("Cancel = %v; want an Action.Submit", a)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range h.fake.Messages(conv) {
				t.Logf("%s %q %q %d", m.ID, m.Texts(), m.Actions(), len(m.Versions))
			}
		}
	})
	form := h.open(list, "2. Alice's Pixel 8")
	window := formToken(t, form)
	link := h.card(conv, "the sign-in link", func(m teamstest.Message) bool {
		return strings.Contains(m.Texts(), "09:05") && m.Action(h.cat.T("en", "signin_button")) != nil
	})
	if !strings.HasPrefix(linkURL(t, link), h.web.URL+"/r/") || !strings.Contains(link.Texts(), "Alice's Pixel 8") {
		t.Errorf("link = %q for %q", linkURL(t, link), link.Texts())
	}
	if path.Base(linkURL(t, link)) != window {
		t.Errorf("the browser signs in to window %s, the chat's link is %s", window, linkURL(t, link))
	}
	h.fake.WaitFor(t, "the device list settled", func() bool {
		for _, m := range h.fake.Messages(conv) {
			if m.ID == list.ID {
				// No button and no device link is left anywhere on the card.
				return len(m.Actions()) == 0 && !strings.Contains(string(mustJSON(m.Card)), h.web.URL+"/r/")
			}
		}
		return false
	})

	h.localSignIn(window, "alice@contoso.example")
	warn := h.card(conv, "the warning", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "button_reset")) != nil })
	if s := styleOf(warn, h.cat.T("en", "button_reset")); s != "destructive" {
		t.Errorf("Reset passcode style = %q; want destructive", s)
	}
	if warn.Action(h.cat.T("en", "button_cancel")) == nil {
		t.Error("the warning has no Cancel")
	}
	if !strings.Contains(warn.Texts(), h.cat.T("en", "confirm_text", dev("Alice's Pixel 8"))) {
		t.Errorf("the warning lacks the confirmation text: %q", warn.Texts())
	}

	// A double click: two Action.Submit activities for the same card.
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if res, err := h.fake.Click(alice, warn, h.cat.T("en", "button_reset"), nil); err != nil || res.Status != http.StatusOK {
				t.Errorf("click = %+v, %v", res, err)
			}
		}()
	}
	wg.Wait()
	h.says(conv, h.cat.T("en", "resetting", dev("Alice's Pixel 8")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	pm := h.card(conv, "the passcode", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), h.cat.T("en", "passcode_label")) })
	pass := passcodeIn(t, pm)
	h.says(conv, h.cat.T("en", "success", dev("Alice's Pixel 8")))
	if n := h.fleet.Resets(); n != 1 {
		t.Fatalf("fleet took %d resets after a double click; want 1", n)
	}
	if n := h.count(conv, h.cat.T("en", "resetting", dev("Alice's Pixel 8"))); n != 1 {
		t.Errorf("%d 'resetting' messages; want 1", n)
	}
	// The second click never reached the engine: no "already resetting", no "earlier request".
	if n := h.count(conv, h.cat.T("en", "already_resetting")) + h.count(conv, h.cat.T("en", "stale_action")); n != 0 {
		t.Errorf("the second click of a double click was answered (%d messages)", n)
	}
	h.noLeaks(pass, conv)
	select {
	case id := <-h.shown:
		if id != pm.ID {
			t.Errorf("SecretShown(%s); want %s", id, pm.ID)
		}
	default:
		t.Error("SecretShown not called")
	}

	h.waitTimers(1)
	h.clk.Advance(secretTTL - time.Second)
	for _, m := range h.fake.Messages(conv) {
		if m.ID == pm.ID && !strings.Contains(m.Texts(), pass) {
			t.Fatal("the passcode was removed before its TTL")
		}
	}
	h.clk.Advance(time.Second)
	gone := h.card(conv, "the passcode removed", func(m teamstest.Message) bool { return m.ID == pm.ID && !strings.Contains(m.Texts(), pass) })
	if !strings.Contains(gone.Texts(), h.cat.T("en", "removed_for_safety")) {
		t.Errorf("the removed passcode card says %q", gone.Texts())
	}
	select {
	case <-h.removed:
	case <-time.After(10 * time.Second):
		t.Error("SecretRemoved not called")
	}
	if missed := h.cat.Missed(); len(missed) > 0 {
		t.Errorf("catalog ids missing: %v", missed)
	}
	if strings.Contains(h.logs.String(), h.fake.AppPassword()) || strings.Contains(h.logs.String(), "fake-connector-token") {
		t.Error("a secret of the app is in the log")
	}
}

// TestJapaneseIOSReset: a person whose Teams speaks Japanese gets every
// sentence in Japanese, and an iPhone's outcome: the passcode is removed, no
// temporary passcode.
func TestJapaneseIOSReset(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "ja-JP")
	conv := h.fake.PersonalChat(alice)

	h.say(alice, "パスコードをリセット")
	list := h.says(conv, h.cat.T("ja", "pick_device", map[string]any{"Count": 3}))
	form := h.open(list, "1. Alice's iPhone")
	link := h.card(conv, "the sign-in link", func(m teamstest.Message) bool { return m.Action(h.cat.T("ja", "signin_button")) != nil })
	if !strings.Contains(link.Texts(), h.cat.T("ja", "slack_link_until", map[string]any{"Until": "09:05"})) {
		t.Errorf("the link card lacks its expiry in Japanese: %q", link.Texts())
	}
	if !strings.Contains(form, `lang="ja"`) {
		t.Errorf("the sign-in page the device link led to is not in Japanese:\n%s", form)
	}
	h.localSignIn(formToken(t, form), "alice@contoso.example")
	warn := h.card(conv, "the warning", func(m teamstest.Message) bool { return m.Action(h.cat.T("ja", "button_reset")) != nil })
	h.click(alice, warn, h.cat.T("ja", "button_reset"))
	h.says(conv, h.cat.T("ja", "resetting", dev("Alice's iPhone")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	h.says(conv, h.cat.T("ja", "success", dev("Alice's iPhone")))
	h.says(conv, h.cat.T("ja", "removed_passcode_removed", dev("Alice's iPhone")))
	for _, m := range h.fake.Messages(conv) {
		if strings.Contains(string(mustJSON(m.Card)), "Monospace") {
			t.Errorf("an iPhone got a passcode card: %q", m.Texts())
		}
		if strings.Contains(m.Texts(), "Reset passcode") || strings.Contains(m.Texts(), "Pick") {
			t.Errorf("English on the Japanese path: %q", m.Texts())
		}
	}
	if n := h.fleet.Resets(); n != 1 {
		t.Errorf("fleet took %d resets; want 1", n)
	}
	select {
	case id := <-h.shown:
		t.Errorf("a passcode message %s was recorded for an iPhone", id)
	default:
	}
}

// TestManyDevicesChoiceSet: more than five devices are a choice set with a
// Choose button instead of a button each; the pick goes on with the chosen one.
func TestManyDevicesChoiceSet(t *testing.T) {
	h := newHarnessFleet(t, erinsFleet(7))
	h.run()
	erin := h.user(erinID, "erin@contoso.example", "en-US")
	conv := h.fake.PersonalChat(erin)
	h.say(erin, "reset")
	list := h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 7}))
	id, titles, _ := list.ChoiceSet()
	if id == "" || len(titles) != 7 || titles[3] != "4. Erin's phone 4" {
		t.Fatalf("choice set %q %q", id, titles)
	}
	if got := strings.Join(list.Actions(), "|"); got != h.cat.T("en", "teams_choose")+"|"+h.cat.T("en", "button_cancel") {
		t.Errorf("actions %q; want Choose and Cancel only", got)
	}
	if res, err := h.fake.Choose(erin, list, "4. Erin's phone 4", h.cat.T("en", "teams_choose")); err != nil || res.Status != http.StatusOK {
		t.Fatalf("Choose = %+v, %v", res, err)
	}
	link := h.card(conv, "the sign-in link", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "signin_button")) != nil })
	if !strings.Contains(link.Texts(), "Erin's phone 4") {
		t.Errorf("the link card is not about phone 4: %q", link.Texts())
	}
	h.fake.WaitFor(t, "the list settled", func() bool {
		for _, m := range h.fake.Messages(conv) {
			if m.ID == list.ID {
				cid, _, _ := m.ChoiceSet()
				return cid == "" && len(m.Actions()) == 0 && strings.Contains(m.Texts(), "You chose: Erin's phone 4")
			}
		}
		return false
	})
}

const erinID = "8f1c2a6e-0005-4c1a-9a11-e41e00000005"

// erinsFleet is a fleet of one person, Erin, with n phones the rules allow.
func erinsFleet(n int) string {
	var y strings.Builder
	y.WriteString("users:\n  - id: " + erinID + "\n    upn: erin@contoso.example\n    name: Erin Example\n    devices:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&y, "      - {id: dev-erin-%d, name: \"Erin's phone %d\", maker: Google, model: Pixel %d, os: Android, version: \"15\", mode: android_enterprise_corporate_work_profile, owner: company, last_sync: \"2026-11-25T08:00:00Z\"}\n", i, i, i)
	}
	return y.String()
}
