package discord_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
)

var hiddenToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// TestFourActionsToThePasscode: on Discord a reset takes four actions of a
// linked person: write "reset", press the device's link button (it picks the
// device and opens the sign-in), sign in, press "Reset passcode". Link previews
// of the device links change nothing.
func TestFourActionsToThePasscode(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.fake.NewUser("alice")
	preload(t, h, alice, "alice@contoso.example")
	var actions []string

	actions = append(actions, "write reset")
	h.fake.UserSays(alice, "reset")
	list := h.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("2. Alice's Pixel 8") != nil })
	pixel := list.Button("2. Alice's Pixel 8")
	if pixel.Style != discordgo.LinkButton || !strings.HasPrefix(pixel.URL, h.web.URL+"/r/") {
		t.Fatalf("the device button does not open the sign-in: %+v", pixel)
	}
	// Previews of every device link: nothing is said, nothing picked.
	before := len(h.fake.Messages(h.fake.DMChannel(alice.ID)))
	for _, b := range list.Buttons() {
		if b.Style == discordgo.LinkButton {
			for range 2 {
				resp, err := http.Get(b.URL)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
		}
	}
	h.fake.UserSays(alice, "help") // a barrier
	h.dmSays(alice, h.cat.T("en", "step_picking"))
	if n := len(h.fake.Messages(h.fake.DMChannel(alice.ID))); n != before+2 { // "help" and its answer
		t.Fatalf("previews of the device links made %d messages", n-before-2)
	}

	actions = append(actions, "press the Pixel")
	form := h.browse(pixel.URL)
	tok := hiddenToken.FindStringSubmatch(form)
	if tok == nil {
		t.Fatalf("no sign-in form after the device link:\n%s", form)
	}

	actions = append(actions, "sign in")
	resp, err := http.PostForm(h.web.URL+"/local/signin", url.Values{"token": {tok[1]}, "choice": {"alice@contoso.example"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	warn := h.dm(alice, "the warning", func(m discordtest.Message) bool { return m.Button(h.cat.T("en", "button_reset")) != nil })

	actions = append(actions, "press Reset passcode")
	h.click(alice, warn, h.cat.T("en", "button_reset"))
	h.dmSays(alice, h.cat.T("en", "resetting", dev("Alice's Pixel 8")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	h.dmSays(alice, h.cat.T("en", "passcode_label")+":")
	if len(actions) != 4 {
		t.Errorf("%d actions: %q; want 4", len(actions), actions)
	}
	if n := h.fleet.Resets(); n != 1 {
		t.Errorf("fleet took %d resets", n)
	}
}
