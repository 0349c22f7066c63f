package resetflow_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// chatIn is what a chat platform without verified identities (Discord) sends.
func chatIn(user, text string) resetflow.Input {
	return resetflow.Input{From: resetflow.Address{Platform: "discord", UserID: user}, Text: text, Unverified: true, AccountName: "name-of-" + user}
}

func (h *harness) chatSays(user, text string) { h.eng.Handle(context.Background(), chatIn(user, text)) }

func (h *harness) linkedTo(user string) string {
	u, ok, err := h.links.LinkedUser(context.Background(), "discord", user)
	if err != nil {
		h.t.Fatal(err)
	}
	if !ok {
		return ""
	}
	return u.UPN
}

// pairingSignIn: user asks for a reset, signer signs in with the link; it
// returns the pairing result the sign-in page shows.
func (h *harness) pairingSignIn(user, signer string) resetflow.SignInResult {
	h.t.Helper()
	h.chatSays(user, "reset")
	link := h.last(user)
	if link.Link == nil {
		h.t.Fatalf("%s got no link: %q", user, link.Text)
	}
	info, st := h.eng.Window(token(h.t, link))
	if st != resetflow.WindowOpen || !info.Linking || info.Account != "name-of-"+user || info.Platform != "discord" {
		h.t.Fatalf("linking window = %+v %v; want it to name the chat account", info, st)
	}
	res := h.signIn(signer, token(h.t, link))
	if res.Status != resetflow.SignInPairing || !regexp.MustCompile(`^\d{6}$`).MatchString(res.Code) ||
		res.Account != "name-of-"+user || res.UPN != signer || !res.Expires.Equal(h.clk.Now().Add(3*time.Minute)) {
		h.t.Fatalf("linking sign-in = %+v; want a pairing code for %s naming name-of-%s", res, signer, user)
	}
	return res
}

func (h *harness) steps(prefix string) []string {
	var out []string
	for _, s := range h.rec.Steps() {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// noSecretAnywhere: the pairing code is on the sign-in page only: never in a
// chat message, an alert, an audit event or a log line.
func (h *harness) codeOnlyOnThePage(code string) {
	h.t.Helper()
	for _, s := range h.chat.All() {
		if strings.Contains(fmt.Sprint(s.M), code) {
			h.t.Errorf("the pairing code is in a chat message: %q", s.M.Text)
		}
	}
	if strings.Contains(fmt.Sprintf("%+v", h.alerts.All()), code) {
		h.t.Error("the pairing code is in an alert")
	}
	evs := fmt.Sprintf("%+v", h.rec.Events())
	if strings.Contains(evs, code) {
		h.t.Error("the pairing code is in the audit trail")
	}
	if strings.Contains(h.logs.String(), code) {
		h.t.Error("the pairing code is in the log")
	}
}

// TestPairingLinksTheAccountThatTypesTheCode: the honest path. The sign-in
// alone links nothing and lists no devices; the code typed into the same chat
// account links it, the helpdesk hears of the new link, and the sign-in then
// serves as the reset's re-auth.
func TestPairingLinksTheAccountThatTypesTheCode(t *testing.T) {
	h := newHarness(t)
	res := h.pairingSignIn("D1", alice)
	if h.linkedTo("D1") != "" {
		t.Fatal("linked by the sign-in alone")
	}
	if got, want := h.last("D1").Text, h.tr("pair_prompt", map[string]any{"Until": "09:03 UTC", "Digits": 6}); got != want {
		t.Fatalf("after the sign-in the chat said %q; want %q", got, want)
	}
	if got := h.steps("devices_listed"); len(got) != 0 {
		t.Fatalf("devices were listed before the pairing: %v", got)
	}
	if len(h.alerts.All()) != 0 {
		t.Fatalf("alerts before the pairing: %v", h.alerts.Kinds())
	}

	// Typed with a space, in full-width digits (a Japanese keyboard).
	typed := res.Code[:3] + " " + strings.Map(func(r rune) rune { return r - '0' + '０' }, res.Code[3:])
	h.clk.Advance(time.Minute)
	h.chatSays("D1", typed)
	if got := h.linkedTo("D1"); got != alice {
		t.Fatalf("after the code D1 is linked to %q; want %s", got, alice)
	}
	if got := h.alerts.All(); len(got) != 1 || got[0].Kind != resetflow.AlertAccountLinked || got[0].ChatUser != "D1" ||
		got[0].ChatName != "name-of-D1" || got[0].User.UPN != alice || got[0].Platform != "discord" {
		t.Fatalf("alerts = %+v; want one account_linked naming D1 and %s", got, alice)
	}
	if got := h.steps("link/"); !slices.Equal(got, []string{"link/linked"}) {
		t.Errorf("audit link steps = %v", got)
	}
	if got := h.steps("pair_issued"); len(got) != 1 {
		t.Errorf("audit pair_issued steps = %v", got)
	}
	list := h.last("D1")
	if len(list.Choices) != 3 {
		t.Fatalf("no device list after pairing: %q", list.Text)
	}
	h.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "discord", UserID: "D1"}, Action: list.Choices[0].Value, Unverified: true})
	if warn := h.last("D1"); !strings.Contains(warn.Text, "physical access") {
		t.Fatalf("after the pick got %q; want the warning (the paired sign-in is the re-auth)", warn.Text)
	}
	h.codeOnlyOnThePage(res.Code)
}

// TestPairingRefused: the code typed by another chat account, typed too late, or
// guessed too often links nothing, records the refusal, alerts the helpdesk
// (naming the chat account and the directory user), and leaves no sign-in that
// a later reset could reuse.
func TestPairingRefused(t *testing.T) {
	refused := func(h *harness, reason string) {
		t.Helper()
		got := h.alerts.All()
		if len(got) != 1 || got[0].Kind != resetflow.AlertLinkRefused || got[0].ChatUser != "MALLORY" ||
			got[0].ChatName != "name-of-MALLORY" || got[0].User.UPN != alice || !strings.Contains(got[0].Detail, "reason="+reason) {
			t.Fatalf("alerts = %+v; want one link_refused (%s) naming MALLORY and %s", got, reason, alice)
		}
		if s := h.steps("pair/refused"); len(s) != 1 {
			t.Errorf("audit pair/refused = %v", s)
		}
		for _, u := range []string{"MALLORY", "ALICE"} {
			if l := h.linkedTo(u); l != "" {
				t.Errorf("%s is linked to %s", u, l)
			}
		}
		if s := h.steps("devices_listed"); len(s) != 0 {
			t.Errorf("devices listed: %v", s)
		}
		for _, s := range h.chat.All() {
			if len(s.M.Choices) > 0 {
				t.Errorf("%s was shown devices: %+v", s.To.UserID, s.M.Choices)
			}
		}
		// Mallory asks again: a fresh link, not alice's devices.
		h.chatSays("MALLORY", "reset")
		if m := h.last("MALLORY"); m.Link == nil || len(m.Choices) > 0 {
			t.Errorf("reset after the refusal got %q; want a new linking link", m.Text)
		}
	}

	t.Run("typed by another account", func(t *testing.T) {
		h := newHarness(t)
		res := h.pairingSignIn("MALLORY", alice)
		// Alice follows the page's instruction from her own chat account.
		h.chatSays("ALICE", res.Code)
		if got := h.last("ALICE").Text; got != h.tr("pair_not_yours") {
			t.Errorf("ALICE was told %q", got)
		}
		if got := h.last("MALLORY").Text; got != h.tr("pair_refused") {
			t.Errorf("MALLORY was told %q", got)
		}
		// The code is spent: Mallory typing it now does nothing.
		h.chatSays("MALLORY", res.Code)
		refused(h, "typed_by_other_account")
		h.codeOnlyOnThePage(res.Code)
	})
	t.Run("expired", func(t *testing.T) {
		h := newHarness(t)
		res := h.pairingSignIn("MALLORY", alice)
		h.clk.Advance(3*time.Minute + time.Second)
		// The expiry timer runs on its own goroutine: wait for its message.
		h.chat.WaitFrom(0, "MALLORY", func(m resetflow.Message) bool { return m.Text == h.tr("pair_expired") })
		h.chatSays("MALLORY", res.Code)
		refused(h, "expired")
	})
	t.Run("too many tries", func(t *testing.T) {
		h := newHarness(t)
		res := h.pairingSignIn("MALLORY", alice)
		wrong := fmt.Sprintf("%06d", (atoi(res.Code)+1)%1000000)
		h.chatSays("MALLORY", wrong)
		if got := h.last("MALLORY").Text; got != h.tr("pair_wrong", map[string]any{"Left": 2}) {
			t.Errorf("first wrong code: %q", got)
		}
		h.chatSays("MALLORY", wrong)
		h.chatSays("MALLORY", wrong)
		if got := h.last("MALLORY").Text; got != h.tr("pair_refused") {
			t.Errorf("third wrong code: %q", got)
		}
		h.chatSays("MALLORY", res.Code)
		if s := h.steps("pair/wrong_code"); len(s) != 2 {
			t.Errorf("audit pair/wrong_code = %v", s)
		}
		refused(h, "too_many_tries")
	})
	t.Run("callback from another browser", func(t *testing.T) {
		h := newHarness(t)
		h.chatSays("MALLORY", "reset")
		tok := token(t, h.last("MALLORY"))
		// The provider refuses a callback without the browser cookie; the
		// engine hears of it and ends the linking.
		if res := h.eng.RefuseSignIn(context.Background(), tok, "callback_from_another_browser"); res.Status != resetflow.SignInOtherBrowser {
			t.Fatalf("RefuseSignIn = %v", res.Status)
		}
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInUnknown {
			t.Errorf("the link still works after the refusal: %v", res.Status)
		}
		got := h.alerts.All()
		if len(got) != 1 || got[0].Kind != resetflow.AlertLinkRefused || got[0].ChatUser != "MALLORY" || !strings.Contains(got[0].Detail, "callback_from_another_browser") {
			t.Fatalf("alerts = %+v; want one link_refused", got)
		}
		if got := h.last("MALLORY").Text; got != h.tr("signin_other_browser") {
			t.Errorf("MALLORY was told %q", got)
		}
		if h.linkedTo("MALLORY") != "" {
			t.Error("linked")
		}
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestPairingSignInIsNoReauthBeforeThePairing: between the sign-in and the
// code, nothing the chat account does reaches a device: no list, no pick, no
// warning; typed numbers and old actions are refused.
func TestPairingSignInIsNoReauthBeforeThePairing(t *testing.T) {
	h := newHarness(t)
	res := h.pairingSignIn("MALLORY", alice)
	for _, in := range []resetflow.Input{
		chatIn("MALLORY", "1"),
		chatIn("MALLORY", "reset"),
		{From: resetflow.Address{Platform: "discord", UserID: "MALLORY"}, Action: "pick:0000000000000000:0", Unverified: true},
		{From: resetflow.Address{Platform: "discord", UserID: "MALLORY"}, Action: "confirm:0000000000000000", Unverified: true},
	} {
		h.eng.Handle(context.Background(), in)
		if m := h.last("MALLORY"); len(m.Choices) > 0 || strings.Contains(m.Text, "physical access") {
			t.Fatalf("%+v before the pairing got %q", in, m.Text)
		}
	}
	if s := h.steps("devices_listed"); len(s) != 0 {
		t.Fatalf("devices listed before the pairing: %v", s)
	}
	// Cancel ends the pairing; the code is then worth nothing.
	h.chatSays("MALLORY", "cancel")
	h.chatSays("MALLORY", res.Code)
	if h.linkedTo("MALLORY") != "" {
		t.Fatal("linked after cancel")
	}
}

// TestUnverifiedPlatformLinksEvenWithAnEmail: the rule belongs to the
// platform's identity, not to Discord: an account the platform marks as
// unverified is linked by pairing even when it reports an email.
func TestUnverifiedPlatformLinksEvenWithAnEmail(t *testing.T) {
	h := newHarness(t)
	h.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "teams-guest", UserID: "G1"}, Email: alice, Text: "reset", Unverified: true, AccountName: "Alice?"})
	m := h.last("G1")
	if m.Link == nil || len(m.Choices) > 0 {
		t.Fatalf("an unverified account with an email got %q; want a linking link", m.Text)
	}
	if info, _ := h.eng.Window(token(t, m)); !info.Linking || info.Account != "Alice?" {
		t.Errorf("window = %+v", info)
	}
	// A verified platform (Slack) with the same email goes straight to the devices.
	h.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "slack", UserID: "U1"}, Email: alice, Text: "reset"})
	if m := h.last("U1"); len(m.Choices) != 3 {
		t.Errorf("verified account got %q", m.Text)
	}
}
