package teams_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/resetflow"
)

// sendPasscode posts a passcode to the person's personal chat outside any
// conversation (no engine, no alert queue: the screen's timer is the only one
// on the fake clock) and returns the chat and the message.
func sendPasscode(t *testing.T, h *harness, u teamstest.User, m resetflow.Message, passcode string) (string, teamstest.Message) {
	t.Helper()
	if err := h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: u.AADObjectID}, m); err != nil {
		t.Fatal(err)
	}
	conv := h.fake.PersonalChat(u)
	pm := h.card(conv, "the passcode", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), passcode) })
	select {
	case id := <-h.shown:
		if id != pm.ID {
			t.Fatalf("ledger Shown(%s); want %s", id, pm.ID)
		}
	default:
		t.Fatal("the ledger did not hear of the passcode")
	}
	return conv, pm
}

// passcodeDue posts a passcode to Alice, has the fake refuse its next
// refusals updates, and moves the clock to the passcode's removal.
func passcodeDue(t *testing.T, h *harness, passcode string, refusals int) (string, teamstest.Message) {
	t.Helper()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	m := resetflow.Message{Text: "Your passcode", Locale: "en", Secret: resetflow.NewSecret(h.cat.T("en", "passcode_label"), passcode)}
	conv, pm := sendPasscode(t, h, alice, m, passcode)
	h.fake.RefuseUpdates(conv, refusals)
	h.waitTimers(1)
	h.clk.Advance(secretTTL)
	return conv, pm
}

// refusedUpdates counts the updates of the message the fake refused.
func refusedUpdates(h *harness, conv, id string) int {
	n := 0
	for _, c := range h.fake.Calls() {
		if c.Method == "PUT" && c.Path == "/amer/v3/conversations/"+conv+"/activities/"+id && c.Status == 403 {
			n++
		}
	}
	return n
}

// TestPasscodeRemovalRetriesThenDeletes: a passcode card whose update fails is
// updated again 30s, 60s, 90s and 120s later (not sooner); the fifth failure
// deletes the message, and only then does the ledger forget it.
func TestPasscodeRemovalRetriesThenDeletes(t *testing.T) {
	h := newHarness(t)
	conv, pm := passcodeDue(t, h, "R3TRY99", 5)
	for try, wait := range []time.Duration{30 * time.Second, time.Minute, 90 * time.Second, 2 * time.Minute} {
		h.fake.WaitFor(t, "a refused update", func() bool { return refusedUpdates(h, conv, pm.ID) == try+1 })
		h.waitTimers(1) // the next try, scheduled
		h.clk.Advance(wait - time.Second)
		if n := refusedUpdates(h, conv, pm.ID); n != try+1 || h.clk.Pending() != 1 {
			t.Fatalf("after try %d, %v later: %d refused updates, %d timers; want the next try only after %v", try+1, wait-time.Second, n, h.clk.Pending(), wait)
		}
		for _, m := range h.fake.Messages(conv) {
			if m.ID == pm.ID && m.Deleted {
				t.Fatalf("deleted after %d failed updates; want 5", try+1)
			}
		}
		select {
		case id := <-h.removed:
			t.Fatalf("the ledger forgot %s while the passcode is still shown", id)
		default:
		}
		h.clk.Advance(time.Second)
	}
	h.fake.WaitFor(t, "the passcode message deleted", func() bool {
		for _, m := range h.fake.Messages(conv) {
			if m.ID == pm.ID {
				return m.Deleted
			}
		}
		return false
	})
	if n := refusedUpdates(h, conv, pm.ID); n != 5 {
		t.Errorf("%d refused updates before the delete; want 5", n)
	}
	select {
	case id := <-h.removed:
		if id != pm.ID {
			t.Errorf("ledger Removed(%s); want %s", id, pm.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the ledger never forgot the deleted passcode")
	}
	if n := h.clk.Pending(); n != 0 {
		t.Errorf("%d timers left after the delete; want none", n)
	}
	h.noLeaks("R3TRY99", conv)
}

// TestPasscodeRemovalRetrySucceeds: after two failed updates the third
// replaces the passcode with the notice; nothing is deleted and no fourth
// try is scheduled.
func TestPasscodeRemovalRetrySucceeds(t *testing.T) {
	h := newHarness(t)
	conv, pm := passcodeDue(t, h, "SUCC3SS", 2)
	h.fake.WaitFor(t, "the first refused update", func() bool { return refusedUpdates(h, conv, pm.ID) == 1 })
	h.waitTimers(1)
	h.clk.Advance(30 * time.Second)
	h.fake.WaitFor(t, "the second refused update", func() bool { return refusedUpdates(h, conv, pm.ID) == 2 })
	h.waitTimers(1)
	h.clk.Advance(time.Minute)
	gone := h.card(conv, "the passcode replaced", func(m teamstest.Message) bool { return m.ID == pm.ID && !strings.Contains(m.Texts(), "SUCC3SS") })
	if !strings.Contains(gone.Texts(), h.cat.T("en", "removed_for_safety")) || !strings.Contains(gone.Texts(), "Your passcode") {
		t.Errorf("the replaced card says %q; want the message's text and the notice", gone.Texts())
	}
	select {
	case <-h.removed:
	case <-time.After(10 * time.Second):
		t.Fatal("the ledger never forgot the removed passcode")
	}
	if n := h.clk.Pending(); n != 0 {
		t.Errorf("%d timers left after the removal; want none", n)
	}
}

// TestSecretInEngineLocale: a passcode message carries the engine's language
// (Message.Locale) and the adapter takes it as is: the ledger records it and
// the card that replaces the passcode is in that language, even when the
// label and the person's own language say otherwise.
func TestSecretInEngineLocale(t *testing.T) {
	locs := make(chan string, 2)
	h := newHarness(t, func(c *teams.Config) {
		c.Ledger = onscreen.LedgerFuncs{OnShown: func(it onscreen.Item) error { locs <- it.Locale; return nil }}
	})
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "help")
	h.says(conv, firstLine(h.cat.T("en", "help")))
	pass := resetflow.Message{Text: "x", Locale: "ja", Secret: resetflow.NewSecret(h.cat.T("en", "passcode_label"), "Qw3rTy7u")}
	if err := h.adapter.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: aliceID, Channel: conv}, pass); err != nil {
		t.Fatal(err)
	}
	if loc := <-locs; loc != "ja" {
		t.Fatalf("ledger locale %q; want the engine's ja", loc)
	}
	pm := h.card(conv, "the passcode", func(m teamstest.Message) bool { return strings.Contains(m.Texts(), "Qw3rTy7u") })
	h.stop() // removes it now, in the engine's language
	h.card(conv, "the passcode replaced in Japanese", func(m teamstest.Message) bool {
		return m.ID == pm.ID && !strings.Contains(m.Texts(), "Qw3rTy7u") && strings.Contains(m.Texts(), h.cat.T("ja", "removed_for_safety"))
	})
}
