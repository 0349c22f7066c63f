package discord_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestForgedClickIsIgnored: Mallory sends a click on the warning in Alice's
// DM (Reset passcode, and Cancel). Nothing happens: her interactions are not
// answered, the warning keeps its live buttons, no reset; then Alice's own
// click still works and her reset goes through.
func TestForgedClickIsIgnored(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.fake.NewUser("alice")
	mallory := h.fake.NewUser("mallory")
	warn := toWarning(t, h, alice)

	var forged []string
	for _, label := range []string{h.cat.T("en", "button_reset"), h.cat.T("en", "button_cancel")} {
		forged = append(forged, h.click(mallory, warn, label))
	}
	// Gateway events are taken in order: once her "help" is answered, her clicks were seen.
	h.fake.UserSays(mallory, "help")
	h.dmSays(mallory, "Intune")
	for _, id := range forged {
		if cb := h.fake.Interaction(id).Callbacks; len(cb) != 0 {
			t.Errorf("Mallory's click %s was answered: %v", id, cb)
		}
	}
	if m, _ := h.fake.Message(warn.ID); !m.Live() {
		t.Fatal("Mallory's click used up Alice's warning")
	}
	if n := h.fleet.Resets(); n != 0 {
		t.Fatalf("Mallory's click reset a device (%d resets)", n)
	}
	if n := h.countDM(alice, h.cat.T("en", "resetting", dev("Alice's iPhone"))); n != 0 {
		t.Fatal("Mallory's click moved Alice's conversation")
	}
	if !strings.Contains(h.logs.String(), "ignoring a click on another person's message") {
		t.Error("the forged click was not logged")
	}

	own := h.click(alice, warn, h.cat.T("en", "button_reset"))
	h.dmSays(alice, h.cat.T("en", "resetting", dev("Alice's iPhone")))
	h.waitTimers(1)
	h.clk.Advance(2 * time.Second)
	h.dmSays(alice, h.cat.T("en", "success", dev("Alice's iPhone")))
	if n := h.fleet.Resets(); n != 1 {
		t.Errorf("fleet resets = %d, want 1", n)
	}
	if cb := h.fake.Interaction(own).Callbacks; len(cb) != 1 {
		t.Errorf("Alice's click answered %v; want one acknowledgement", cb)
	}
}

// TestForgedClickAfterRestart: for a message in a DM the adapter has not sent
// to in this run (one from before a restart), it asks Discord for the
// clicker's DM: Mallory's click is ignored, Carol's counts.
func TestForgedClickAfterRestart(t *testing.T) {
	h := newHarness(t)
	h.run()
	carol := h.fake.NewUser("carol")
	mallory := h.fake.NewUser("mallory")
	dm := h.fake.DMChannel(carol.ID)
	body, _ := json.Marshal(map[string]any{"content": "Reset the passcode?", "components": []any{map[string]any{
		"type": 1, "components": []any{map[string]any{"type": 2, "style": 4, "label": "Reset passcode", "custom_id": "pc|confirm"}},
	}}})
	req, _ := http.NewRequest("POST", h.fake.APIURL()+"channels/"+dm+"/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bot "+h.fake.Token())
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var posted struct{ ID string }
	json.NewDecoder(res.Body).Decode(&posted)
	res.Body.Close()
	msg, ok := h.fake.Message(posted.ID)
	if !ok {
		t.Fatalf("the fake did not keep the message (HTTP %d)", res.StatusCode)
	}

	forged := h.click(mallory, msg, "Reset passcode")
	h.fake.WaitFor(t, "the bot asking for Mallory's DM", func() bool {
		for _, c := range h.fake.CallsTo("POST", "/users/@me/channels") {
			if strings.Contains(string(c.Body), mallory.ID) && c.Status == http.StatusOK {
				return true
			}
		}
		return false
	})
	own := h.click(carol, msg, "Reset passcode")
	h.fake.WaitFor(t, "Carol's click answered and the message settled", func() bool {
		m, _ := h.fake.Message(msg.ID)
		return len(h.fake.Interaction(own).Callbacks) == 1 && !m.Live()
	})
	if cb := h.fake.Interaction(forged).Callbacks; len(cb) != 0 {
		t.Errorf("Mallory's click was answered: %v", cb)
	}
	// The log line comes after the DM lookup the fake saw, on Mallory's own
	// queue: Carol's answer may come first, so wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, ok := h.logs.Wait(ctx, func(s string) bool { return strings.Contains(s, "ignoring a click on another person's message") }); !ok {
		t.Error("the forged click was not logged")
	}
}
