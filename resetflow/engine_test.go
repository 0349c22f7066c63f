package resetflow_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

const (
	alice = "alice@contoso.example"
	bob   = "bob@contoso.example"
	carol = "carol@contoso.example"
	dave  = "dave@contoso.example"
)

// TestPlatformOutcomes drives a whole reset for every platform outcome and checks
// what the person is told: the passcode (or none) and how to change it, then success.
func TestPlatformOutcomes(t *testing.T) {
	tests := []struct {
		user, device string
		outcome      resetflow.Outcome
		passcode     *regexp.Regexp // nil: no temporary passcode
		mentions     []string
	}{
		{alice, "Alice's iPhone", resetflow.OutcomePasscodeRemoved, nil, []string{"Touch ID", "Face ID"}},
		{alice, "Alice's Pixel 8", resetflow.OutcomeWorkProfileTemporary, regexp.MustCompile(`^[A-Za-z0-9]{8}$`), []string{"work profile"}},
		{alice, "Alice's Lumia 950", resetflow.OutcomeWindows10MobileTemporary, regexp.MustCompile(`^[A-Za-z0-9]{8}$`), []string{"Windows Hello"}},
		{bob, "Bob's Lumia 635", resetflow.OutcomeWindowsPhone81Temporary, regexp.MustCompile(`^[0-9]{6}$`), []string{"digits only"}},
		{bob, "Bob's Galaxy S5", resetflow.OutcomeAndroidTemporary, regexp.MustCompile(`^[A-Za-z0-9]{8}$`), []string{"letters and digits"}},
		{dave, "Dave's Quest 3", resetflow.OutcomeAndroidTemporary, regexp.MustCompile(`^[A-Za-z0-9]{8}$`), []string{"letters and digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.device, func(t *testing.T) {
			h := newHarness(t)
			link := h.pickDevice(tt.user, tt.device)
			if res := h.signIn(tt.user, token(t, link)); res.Status != resetflow.SignInOK {
				t.Fatalf("sign-in = %v, want OK", res.Status)
			}
			warn := h.last(tt.user)
			if !strings.Contains(warn.Text, "physical access") {
				t.Fatalf("after sign-in got %q, want the warning", warn.Text)
			}
			h.click(tt.user, button(t, warn, h.tr("button_reset")))
			success := h.finishReset(tt.user, "was reset successfully")
			if !strings.Contains(success.Text, tt.device) {
				t.Errorf("success notice %q does not name the device", success.Text)
			}
			msgs := h.chat.All()
			// The message before the success notice carries the outcome.
			outcomeMsg := msgs[len(msgs)-2].M
			if tt.passcode == nil {
				if outcomeMsg.Secret != nil {
					t.Fatalf("iOS got a temporary passcode")
				}
				if !strings.Contains(outcomeMsg.Text, "removed") {
					t.Errorf("outcome %q does not say the passcode was removed", outcomeMsg.Text)
				}
			} else {
				if outcomeMsg.Secret == nil {
					t.Fatalf("no temporary passcode in %q", outcomeMsg.Text)
				}
				if p := outcomeMsg.Secret.Reveal(); !tt.passcode.MatchString(p) {
					t.Errorf("passcode %q does not match %v", p, tt.passcode)
				}
				if !strings.Contains(outcomeMsg.Notice, "Settings") {
					t.Errorf("no Settings guide in %q", outcomeMsg.Notice)
				}
			}
			all := outcomeMsg.Text + outcomeMsg.Notice
			for _, m := range tt.mentions {
				if !strings.Contains(all, m) {
					t.Errorf("outcome message %q lacks %q", all, m)
				}
			}
			if n := h.fleet.Resets(); n != 1 {
				t.Errorf("fleet got %d reset requests, want 1", n)
			}
			if len(h.alerts.Kinds()) != 0 {
				t.Errorf("alerts %v on a successful reset", h.alerts.Kinds())
			}
			if h.eng.Active() != 0 {
				t.Errorf("conversation still open after success")
			}
		})
	}
}

// TestEligibility checks every refusal branch of the default rules: the person's
// message and the helpdesk alert, and that no sign-in link is sent.
func TestEligibility(t *testing.T) {
	tests := []struct {
		user, device string
		alert        resetflow.AlertKind
		says         string
	}{
		{bob, "Warehouse scanner 12", resetflow.AlertContactSupport, "I've notified the helpdesk; they will contact you to reset it"},
		{bob, "Bob's Galaxy S9", resetflow.AlertFactoryReset, "factory reset"},
		{dave, "Dave's Surface Pro", resetflow.AlertNotSupported, "isn't available"},
		{dave, "Dave's Pixel 7", resetflow.AlertContactSupport, "I've notified the helpdesk; they will contact you to reset it"},
		{dave, "Dave's iPhone SE", resetflow.AlertContactSupport, "I've notified the helpdesk; they will contact you to reset it"},
		{dave, "Dave's work iPhone (User Enrollment)", resetflow.AlertNotSupported, "isn't available"},
	}
	for _, tt := range tests {
		t.Run(tt.device, func(t *testing.T) {
			h := newHarness(t)
			m := h.pickDevice(tt.user, tt.device)
			if m.Link != nil {
				t.Fatalf("got a sign-in link for an ineligible device")
			}
			if !strings.Contains(m.Text, tt.says) {
				t.Errorf("said %q, want it to contain %q", m.Text, tt.says)
			}
			if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{tt.alert}) {
				t.Fatalf("alerts = %v, want [%v]", got, tt.alert)
			}
			al := h.alerts.All()[0]
			if al.Device == nil || al.Device.Name != tt.device || al.User.UPN != tt.user {
				t.Errorf("alert does not say who and which device: %+v", al)
			}
			if h.eng.Active() != 0 {
				t.Errorf("conversation still open after refusal")
			}
		})
	}
	t.Run("factory reset says what it erases", func(t *testing.T) {
		h := newHarness(t)
		m := h.pickDevice(bob, "Bob's Galaxy S9")
		if !strings.Contains(m.Text, "erases everything") {
			t.Errorf("factory reset message %q does not say what it erases", m.Text)
		}
	})
}

func TestRulesTable(t *testing.T) {
	rules := resetflow.DefaultRules()
	tests := []struct {
		mode    resetflow.Mode
		version string
		owner   resetflow.Ownership
		want    resetflow.Decision
		outcome resetflow.Outcome
	}{
		{resetflow.ModeIOS, "18.1", resetflow.OwnerPersonal, resetflow.ContactSupport, ""},
		{resetflow.ModeIOS, "18.1", resetflow.OwnerUnknown, resetflow.ContactSupport, ""},
		{resetflow.ModeIOS, "17.0", resetflow.OwnerCompany, resetflow.Allow, resetflow.OutcomePasscodeRemoved},
		{resetflow.ModeIOSUserEnrollment, "18.1", resetflow.OwnerPersonal, resetflow.NotSupported, ""},
		{resetflow.ModeIOSUserEnrollment, "18.1", resetflow.OwnerCompany, resetflow.NotSupported, ""},
		{resetflow.ModeAndroidDeviceAdmin, "6.0.1", resetflow.OwnerPersonal, resetflow.Allow, resetflow.OutcomeAndroidTemporary},
		{resetflow.ModeAndroidDeviceAdmin, "7.0", resetflow.OwnerPersonal, resetflow.FactoryReset, ""},
		{resetflow.ModeAndroidDeviceAdmin, "7", resetflow.OwnerPersonal, resetflow.FactoryReset, ""},
		{resetflow.ModeAndroidDeviceAdmin, "6.9.9", resetflow.OwnerPersonal, resetflow.Allow, resetflow.OutcomeAndroidTemporary},
		{resetflow.ModeAndroidDeviceAdmin, "10", resetflow.OwnerCompany, resetflow.FactoryReset, ""},
		{resetflow.ModeAndroidEnterpriseDedicated, "11", resetflow.OwnerCompany, resetflow.ContactSupport, ""},
		{resetflow.ModeAndroidEnterpriseFullyManaged, "14", resetflow.OwnerCompany, resetflow.Allow, resetflow.OutcomeWorkProfileTemporary},
		{resetflow.ModeAndroidEnterpriseCorporateProfile, "13", resetflow.OwnerCompany, resetflow.Allow, resetflow.OutcomeWorkProfileTemporary},
		{resetflow.ModeAndroidEnterprisePersonalProfile, "8.0", resetflow.OwnerPersonal, resetflow.ContactSupport, ""},
		{resetflow.ModeAndroidEnterprisePersonalProfile, "7.1", resetflow.OwnerPersonal, resetflow.Allow, resetflow.OutcomeWorkProfileTemporary},
		{resetflow.ModeAOSP, "12", resetflow.OwnerCompany, resetflow.Allow, resetflow.OutcomeAndroidTemporary},
		{resetflow.ModeWindows10Mobile, "10.0.15254", resetflow.OwnerCompany, resetflow.Allow, resetflow.OutcomeWindows10MobileTemporary},
		{resetflow.ModeWindowsPhone81, "8.1", resetflow.OwnerPersonal, resetflow.Allow, resetflow.OutcomeWindowsPhone81Temporary},
		{resetflow.ModeWindows, "10.0.22631", resetflow.OwnerCompany, resetflow.NotSupported, ""},
		{resetflow.ModeMacOS, "15.1", resetflow.OwnerPersonal, resetflow.NotSupported, ""},
		{resetflow.ModeUnknown, "", resetflow.OwnerCompany, resetflow.ContactSupport, ""},
		{resetflow.ModeUnknown, "", resetflow.OwnerPersonal, resetflow.NotSupported, ""},
	}
	for _, tt := range tests {
		v := rules.Evaluate(resetflow.Device{Mode: tt.mode, OSVersion: tt.version, Owner: tt.owner})
		if v.Decision != tt.want || v.Outcome != tt.outcome {
			t.Errorf("Evaluate(%s %s %s) = %s/%s (rule %s); want %s/%s", tt.mode, tt.version, tt.owner, v.Decision, v.Outcome, v.Rule, tt.want, tt.outcome)
		}
	}
	if err := rules.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRulesValidate(t *testing.T) {
	tests := []struct {
		name string
		r    resetflow.Rule
		want string
	}{
		{"no name", resetflow.Rule{Decision: resetflow.NotSupported}, "rules[0].name"},
		{"unknown mode", resetflow.Rule{Name: "x", Modes: []resetflow.Mode{"blackberry"}, Decision: resetflow.NotSupported}, "rules[0].modes"},
		{"allow without outcome", resetflow.Rule{Name: "x", Decision: resetflow.Allow}, "rules[0].outcome"},
		{"deny with outcome", resetflow.Rule{Name: "x", Decision: resetflow.FactoryReset, Outcome: resetflow.OutcomeAndroidTemporary}, "rules[0].outcome"},
		{"bad decision", resetflow.Rule{Name: "x", Decision: "maybe"}, "rules[0].decision"},
		{"bad owner", resetflow.Rule{Name: "x", Owner: "nobody", Decision: resetflow.NotSupported}, "rules[0].owner"},
		{"android outcome for iOS", resetflow.Rule{Name: "x", Modes: []resetflow.Mode{resetflow.ModeIOS}, Decision: resetflow.Allow, Outcome: resetflow.OutcomeAndroidTemporary}, "rules[0].outcome: android_temporary cannot apply to mode ios"},
		{"passcode removal for User Enrollment", resetflow.Rule{Name: "x", Modes: []resetflow.Mode{resetflow.ModeIOSUserEnrollment}, Decision: resetflow.Allow, Outcome: resetflow.OutcomePasscodeRemoved}, "cannot apply to mode ios_user_enrollment"},
		{"work profile outcome for device admin", resetflow.Rule{Name: "x", Modes: []resetflow.Mode{resetflow.ModeAndroidDeviceAdmin}, Decision: resetflow.Allow, Outcome: resetflow.OutcomeWorkProfileTemporary}, "cannot apply to mode android_device_admin"},
		{"allow for every mode", resetflow.Rule{Name: "x", Decision: resetflow.Allow, Outcome: resetflow.OutcomeAndroidTemporary}, "rules[0].modes: an allow rule must name its modes"},
	}
	t.Run("every problem at once", func(t *testing.T) {
		err := resetflow.Rules{
			{Name: "ok", Modes: []resetflow.Mode{resetflow.ModeAOSP}, Decision: resetflow.Allow, Outcome: resetflow.OutcomeAndroidTemporary},
			{Name: "", Decision: resetflow.NotSupported},
			{Name: "y", Modes: []resetflow.Mode{resetflow.ModeIOS, resetflow.ModeWindows}, Decision: resetflow.Allow, Outcome: resetflow.OutcomePasscodeRemoved},
			{Name: "z", Decision: "maybe"},
		}.Validate()
		for _, want := range []string{"rules[1].name", "rules[2].outcome: passcode_removed cannot apply to mode windows", "rules[3].decision"} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Validate() = %v; want it to name %s", err, want)
			}
		}
		if err != nil && strings.Contains(err.Error(), "rules[0]") {
			t.Errorf("a good rule reported: %v", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := resetflow.Rules{tt.r}.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestWindowBoundary: a sign-in at 4:59 proceeds, at 5:01 it is refused.
func TestWindowBoundary(t *testing.T) {
	t.Run("4:59 proceeds", func(t *testing.T) {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		h.clk.Advance(4*time.Minute + 59*time.Second)
		if res := h.signIn(alice, token(t, link)); res.Status != resetflow.SignInOK {
			t.Fatalf("sign-in at 4:59 = %v, want OK", res.Status)
		}
		if !strings.Contains(h.last(alice).Text, "physical access") {
			t.Errorf("no warning after sign-in at 4:59")
		}
	})
	t.Run("5:01 refuses", func(t *testing.T) {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		tok := token(t, link)
		h.clk.Advance(5*time.Minute + time.Second)
		if _, st := h.eng.Window(tok); st != resetflow.WindowExpired {
			t.Errorf("window status at 5:01 = %v, want expired", st)
		}
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInExpired {
			t.Fatalf("sign-in at 5:01 = %v, want expired", res.Status)
		}
		m := h.chat.WaitFrom(0, alice, func(m resetflow.Message) bool { return strings.Contains(m.Text, "expired") })
		if len(m.Buttons) == 0 || m.Buttons[0].Label != h.tr("button_start_again") {
			t.Errorf("expiry message offers no start again: %+v", m)
		}
		if h.fleet.Resets() != 0 || h.eng.Active() != 0 {
			t.Errorf("resets=%d active=%d after expiry", h.fleet.Resets(), h.eng.Active())
		}
	})
	t.Run("deadline checked by the engine clock, not the cache", func(t *testing.T) {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		tok := token(t, link)
		// The wall clock has not moved: only the engine's clock says the window is over.
		h.clk.Advance(5*time.Minute + time.Millisecond)
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInExpired && res.Status != resetflow.SignInUnknown {
			t.Fatalf("sign-in after the deadline = %v, want expired", res.Status)
		}
	})
	t.Run("link message says until when", func(t *testing.T) {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		if !strings.Contains(link.Text, "09:05 UTC") {
			t.Errorf("link message %q does not say 09:05 UTC", link.Text)
		}
		if !link.Link.Expires.Equal(t0.Add(5 * time.Minute)) {
			t.Errorf("link expires %v, want %v", link.Link.Expires, t0.Add(5*time.Minute))
		}
	})
	t.Run("confirm 5:01 after sign-in refuses", func(t *testing.T) {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		h.signIn(alice, token(t, link))
		warn := h.last(alice)
		h.clk.Advance(5*time.Minute + time.Second)
		h.chat.WaitFrom(0, alice, func(m resetflow.Message) bool { return strings.Contains(m.Text, "More than 5 minutes") })
		h.click(alice, button(t, warn, h.tr("button_reset")))
		if h.fleet.Resets() != 0 {
			t.Fatalf("reset after the confirm window")
		}
	})
}

func TestSignInChecks(t *testing.T) {
	t.Run("replayed token", func(t *testing.T) {
		h := newHarness(t)
		tok := token(t, h.pickDevice(alice, "Alice's iPhone"))
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInOK {
			t.Fatalf("first sign-in = %v", res.Status)
		}
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInUnknown {
			t.Fatalf("replayed sign-in = %v, want unknown", res.Status)
		}
	})
	t.Run("tampered token", func(t *testing.T) {
		h := newHarness(t)
		tok := token(t, h.pickDevice(alice, "Alice's iPhone"))
		bad := tok[:len(tok)-1] + "A"
		if bad == tok {
			bad = tok[:len(tok)-1] + "B"
		}
		if _, st := h.eng.Window(bad); st != resetflow.WindowUnknown {
			t.Errorf("tampered token window = %v", st)
		}
		if res := h.signIn(alice, bad); res.Status != resetflow.SignInUnknown {
			t.Fatalf("tampered sign-in = %v", res.Status)
		}
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInOK {
			t.Fatalf("the real token stopped working after a tampered one: %v", res.Status)
		}
	})
	t.Run("different person", func(t *testing.T) {
		h := newHarness(t)
		tok := token(t, h.pickDevice(alice, "Alice's iPhone"))
		if res := h.signIn(bob, tok); res.Status != resetflow.SignInWrongPerson {
			t.Fatalf("bob signing in for alice = %v", res.Status)
		}
		if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{resetflow.AlertWrongPerson}) {
			t.Errorf("alerts = %v", got)
		}
		if !strings.Contains(h.last(alice).Text, "Someone other than the owner") {
			t.Errorf("alice not told: %q", h.last(alice).Text)
		}
		if res := h.signIn(alice, tok); res.Status != resetflow.SignInUnknown {
			t.Errorf("the link still works after a wrong person used it: %v", res.Status)
		}
	})
	t.Run("match by upn", func(t *testing.T) {
		h := newHarness(t, func(c *resetflow.Config, _ *resetflow.Deps) { c.MatchBy = resetflow.MatchByUPN })
		tok := token(t, h.pickDevice(alice, "Alice's iPhone"))
		res := h.eng.CompleteSignIn(context.Background(), tok, resetflow.Identity{UPN: "ALICE@contoso.example", AuthTime: h.clk.Now()})
		if res.Status != resetflow.SignInOK {
			t.Fatalf("UPN match = %v", res.Status)
		}
	})
	t.Run("wrong tenant", func(t *testing.T) {
		h := newHarness(t, func(c *resetflow.Config, _ *resetflow.Deps) { c.TenantID = "tenant-a" })
		tok := token(t, h.pickDevice(alice, "Alice's iPhone"))
		u, _ := h.fleet.LookupUser(context.Background(), alice)
		res := h.eng.CompleteSignIn(context.Background(), tok, resetflow.Identity{Subject: u.ID, UPN: u.UPN, TenantID: "tenant-b", AuthTime: h.clk.Now()})
		if res.Status != resetflow.SignInWrongPerson {
			t.Fatalf("other tenant = %v", res.Status)
		}
	})
	for _, tt := range []struct {
		name string
		at   func(now time.Time) time.Time
	}{
		{"auth_time missing", func(time.Time) time.Time { return time.Time{} }},
		{"auth_time before the link", func(now time.Time) time.Time { return now.Add(-2 * time.Minute) }},
		{"auth_time 6 minutes old", func(now time.Time) time.Time { return now.Add(-6 * time.Minute) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			tok := token(t, h.pickDevice(alice, "Alice's iPhone"))
			h.clk.Advance(time.Minute)
			u, _ := h.fleet.LookupUser(context.Background(), alice)
			res := h.eng.CompleteSignIn(context.Background(), tok, resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: tt.at(h.clk.Now())})
			if res.Status != resetflow.SignInStale {
				t.Fatalf("status = %v, want stale", res.Status)
			}
			// A fresh sign-in still works within the window.
			if res := h.signIn(alice, tok); res.Status != resetflow.SignInOK {
				t.Fatalf("fresh sign-in after a stale one = %v", res.Status)
			}
		})
	}
}

func TestDoubleClickResetsOnce(t *testing.T) {
	h := newHarness(t)
	h.signIn(alice, token(t, h.pickDevice(alice, "Alice's Pixel 8")))
	warn := h.last(alice)
	v := button(t, warn, h.tr("button_reset"))
	var wg sync.WaitGroup
	for range 5 {
		wg.Add(1)
		go func() { defer wg.Done(); h.click(alice, v) }()
	}
	wg.Wait()
	h.finishReset(alice, "was reset successfully")
	if n := h.fleet.Resets(); n != 1 {
		t.Fatalf("%d reset requests for 5 clicks, want 1", n)
	}
	h.click(alice, v)
	if got := h.last(alice).Text; got != h.tr("stale_action") {
		t.Errorf("click after the end said %q", got)
	}
	if n := h.fleet.Resets(); n != 1 {
		t.Fatalf("a click after the end reset again")
	}
}

func TestStaleAndBadInput(t *testing.T) {
	h := newHarness(t)
	h.say(alice, "reset")
	first := h.last(alice)
	h.say(alice, "cancel")
	h.say(alice, "reset")
	second := h.last(alice)

	// A button from the cancelled conversation does nothing.
	h.click(alice, first.Choices[0].Value)
	if got := h.last(alice).Text; got != h.tr("stale_action") {
		t.Errorf("old button said %q", got)
	}
	// A device number that doesn't exist.
	h.say(alice, "7")
	if got := h.last(alice).Text; !strings.Contains(got, "no device number 7") {
		t.Errorf("number 7 said %q", got)
	}
	// Garbage action values.
	for _, v := range []string{"pick:zz", "pick:" + strings.Repeat("a", 16) + ":x", "confirm:", ":::", "drop table"} {
		h.click(alice, v)
		if got := h.last(alice).Text; got != h.tr("stale_action") {
			t.Errorf("action %q said %q", v, got)
		}
	}
	// Unknown text.
	h.say(alice, "what is the weather")
	if got := h.last(alice).Text; got != h.tr("unknown_input") {
		t.Errorf("unknown text said %q", got)
	}
	// Nothing changed: the second list still works.
	h.click(alice, second.Choices[0].Value)
	if h.last(alice).Link == nil {
		t.Fatalf("current conversation broken by bad input: %q", h.last(alice).Text)
	}
	// Someone else's button value does nothing to their conversation.
	h.say(bob, "reset")
	bobList := h.last(bob)
	h.click(alice, bobList.Choices[0].Value)
	if got := h.last(alice).Text; got != h.tr("stale_action") {
		t.Errorf("alice clicking bob's button said %q", got)
	}
}

func TestCancelAndHelpAtEveryStep(t *testing.T) {
	steps := []struct {
		name string
		to   func(h *harness)
		hint string
	}{
		{"picking", func(h *harness) { h.say(alice, "reset") }, "step_picking"},
		{"signing in", func(h *harness) { h.pickDevice(alice, "Alice's iPhone") }, "step_signing_in"},
		{"confirming", func(h *harness) { h.signIn(alice, token(h.t, h.pickDevice(alice, "Alice's iPhone"))) }, "step_confirming"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			h := newHarness(t)
			st.to(h)
			h.say(alice, "help")
			if m := h.last(alice); !strings.Contains(m.Text, "Company Portal") || m.Notice != h.tr(st.hint) {
				t.Errorf("help at %s: %q / %q", st.name, m.Text, m.Notice)
			}
			if h.eng.Active() != 1 {
				t.Fatalf("help changed the conversation")
			}
			h.say(alice, "キャンセル")
			if got := h.last(alice).Text; got != h.cat.T("ja", "cancelled") {
				t.Errorf("cancel said %q", got)
			}
			if h.eng.Active() != 0 {
				t.Errorf("conversation open after cancel")
			}
		})
	}
	t.Run("resetting cannot be cancelled", func(t *testing.T) {
		h := newHarness(t)
		h.signIn(alice, token(t, h.pickDevice(alice, "Alice's iPhone")))
		h.click(alice, button(t, h.last(alice), h.tr("button_reset")))
		h.say(alice, "cancel")
		if got := h.last(alice).Text; got != h.tr("cannot_cancel") {
			t.Errorf("cancel while resetting said %q", got)
		}
		h.finishReset(alice, "was reset successfully")
	})
	t.Run("nothing to cancel", func(t *testing.T) {
		h := newHarness(t)
		h.say(alice, "cancel")
		if got := h.last(alice).Text; got != h.tr("nothing_to_cancel") {
			t.Errorf("said %q", got)
		}
	})
	t.Run("cancel button ends and the link dies", func(t *testing.T) {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		h.click(alice, button(t, link, h.tr("button_cancel")))
		if res := h.signIn(alice, token(t, link)); res.Status != resetflow.SignInUnknown {
			t.Errorf("link works after cancel: %v", res.Status)
		}
	})
}

func TestOneActiveResetPerUser(t *testing.T) {
	h := newHarness(t)
	h.say(alice, "reset")
	h.say(alice, "reset")
	if got := h.last(alice).Text; got != h.tr("already_active") {
		t.Errorf("second reset said %q", got)
	}
	// The same person from another chat account.
	h.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "other", UserID: "U1"}, Email: alice, Text: "reset"})
	all := h.chat.All()
	if got := all[len(all)-1]; got.To.Platform != "other" || got.M.Text != h.tr("already_active") {
		t.Errorf("same user on another platform got %+v", got)
	}
}

func TestDailyLimit(t *testing.T) {
	h := newHarness(t)
	for i := range 3 {
		h.signIn(alice, token(t, h.pickDevice(alice, "Alice's iPhone")))
		h.click(alice, button(t, h.last(alice), h.tr("button_reset")))
		h.finishReset(alice, "was reset successfully")
		_ = i
	}
	h.say(alice, "reset")
	if got := h.last(alice).Text; !strings.Contains(got, "limit of 3") {
		t.Fatalf("4th reset said %q", got)
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertLimitReached) {
		t.Errorf("no limit alert: %v", h.alerts.Kinds())
	}
	h.clk.Advance(24 * time.Hour)
	h.say(alice, "reset")
	if len(h.last(alice).Choices) == 0 {
		t.Errorf("limit not lifted after 24 h: %q", h.last(alice).Text)
	}
}

func TestNoDevicesAndUnknownUser(t *testing.T) {
	h := newHarness(t)
	h.say(carol, "reset")
	if got := h.last(carol).Text; got != h.tr("no_devices") {
		t.Errorf("carol got %q", got)
	}
	h.say("mallory@evil.example", "reset")
	if got := h.last("mallory@evil.example").Text; got != h.tr("unknown_user") {
		t.Errorf("unknown user got %q", got)
	}
	// No email: the account must be linked by a sign-in first.
	h.eng.Handle(context.Background(), resetflow.Input{From: addr("noemail"), Text: "reset"})
	if m := h.last("noemail"); m.Link == nil || !strings.HasPrefix(m.Text, "I don't know your company account yet") {
		t.Errorf("no email got %q", m.Text)
	}
	// Without a link store, such an account is refused.
	h2 := newHarness(t, func(_ *resetflow.Config, d *resetflow.Deps) { d.Links = nil })
	h2.eng.Handle(context.Background(), resetflow.Input{From: addr("noemail"), Text: "reset"})
	if got := h2.last("noemail").Text; got != h2.tr("no_identity") {
		t.Errorf("no email without links got %q", got)
	}
}

func TestResetFailureAlertsHelpdesk(t *testing.T) {
	h := newHarness(t)
	h.signIn(dave, token(t, h.pickDevice(dave, "Dave's iPad")))
	h.click(dave, button(t, h.last(dave), h.tr("button_reset")))
	m := h.finishReset(dave, "failed")
	if m.Text != h.tr("result_failed_passcode_removed", map[string]any{"Device": "Dave's iPad"}) || !strings.Contains(m.Text, "don't try again") {
		t.Errorf("failure said %q", m.Text)
	}
	if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{resetflow.AlertResetFailed}) {
		t.Fatalf("alerts %v", got)
	}
	if d := h.alerts.All()[0].Detail; !strings.Contains(d, "DeviceNotReachable") || !strings.Contains(d, "unlock token") || !strings.Contains(d, "wipe") {
		t.Errorf("alert lacks the error code or the likely cause: %q", d)
	}
}

// TestFailureSaysTheUsualCause: a failed Android reset tells the person the usual
// cause (no passcode policy) and gives the helpdesk the same likely cause.
func TestFailureSaysTheUsualCause(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionFailed, ErrorCode: "E1", Started: t0}}}
	h := scriptedHarness(t, s)
	h.toConfirmScripted(alice)
	m := h.finishReset(alice, "failed")
	if !strings.Contains(m.Text, "no passcode policy assigned") {
		t.Errorf("failure said %q", m.Text)
	}
	if d := h.alerts.All()[0].Detail; !strings.Contains(d, "errorCode=E1") || !strings.Contains(d, "no passcode policy is assigned") {
		t.Errorf("alert detail %q", d)
	}
}

// scripted is a Devices whose results a test scripts.
type scripted struct {
	mu       sync.Mutex
	resets   int
	resetErr error
	results  []resetflow.ActionResult
	errs     []error
	reads    int
}

func (s *scripted) ListDevices(context.Context, resetflow.User) ([]resetflow.Device, error) {
	return []resetflow.Device{{ID: "d1", UserID: "u1", UserUPN: "u1@x", Name: "Phone", Mode: resetflow.ModeAOSP, OS: "Android", OSVersion: "12"}}, nil
}
func (s *scripted) ResetPasscode(context.Context, resetflow.Device) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resets++
	return s.resetErr
}
func (s *scripted) ResetResult(context.Context, resetflow.Device) (resetflow.ActionResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := min(s.reads, len(s.results)-1)
	s.reads++
	var err error
	if i < len(s.errs) {
		err = s.errs[i]
	}
	return s.results[i], err
}

type oneUser struct{}

func (oneUser) LookupUser(_ context.Context, email string) (resetflow.User, error) {
	return resetflow.User{ID: "u1", UPN: email}, nil
}

func scriptedHarness(t *testing.T, s *scripted) *harness {
	return newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		d.Devices, d.Directory = s, oneUser{}
		c.PollTimeout = 2 * time.Minute
	})
}

func (h *harness) toConfirmScripted(user string) {
	h.say(user, "reset")
	h.click(user, h.last(user).Choices[0].Value)
	tok := token(h.t, h.last(user))
	h.eng.CompleteSignIn(context.Background(), tok, resetflow.Identity{Subject: "u1", UPN: user, AuthTime: h.clk.Now()})
	h.click(user, button(h.t, h.last(user), h.tr("button_reset")))
}

func TestResultPolling(t *testing.T) {
	pass := resetflow.NewSecret("", "Zq7xK2pA")
	t.Run("an earlier reset's result is ignored", func(t *testing.T) {
		s := &scripted{results: []resetflow.ActionResult{
			{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "OLDOLD11"), Started: t0.Add(-48 * time.Hour)},
			{State: resetflow.ActionPending, Started: t0},
			{State: resetflow.ActionDone, Passcode: pass, Started: t0},
		}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "was reset successfully")
		msgs := h.chat.All()
		if p := msgs[len(msgs)-2].M.Secret.Reveal(); p != "Zq7xK2pA" {
			t.Fatalf("delivered passcode %q, want the new one", p)
		}
	})
	t.Run("ambiguous reset request is not repeated", func(t *testing.T) {
		s := &scripted{resetErr: &resetflow.Error{Kind: resetflow.KindAmbiguous, Op: "reset"}, results: []resetflow.ActionResult{
			{State: resetflow.ActionPending, Started: t0}, {State: resetflow.ActionDone, Passcode: pass, Started: t0},
		}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "was reset successfully")
		if s.resets != 1 {
			t.Fatalf("%d reset requests, want 1", s.resets)
		}
	})
	t.Run("refused reset request", func(t *testing.T) {
		s := &scripted{resetErr: &resetflow.Error{Kind: resetflow.KindForbidden, Op: "reset", Code: "Forbidden", RequestID: "req-1"}, results: []resetflow.ActionResult{{}}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		m := h.chat.WaitFrom(0, "u1@x", func(m resetflow.Message) bool { return strings.Contains(m.Text, "not allowed") })
		_ = m
		if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{resetflow.AlertBackendError}) || !strings.Contains(h.alerts.All()[0].Detail, "req-1") {
			t.Errorf("alerts %v %+v", got, h.alerts.All())
		}
	})
	t.Run("no final state in time", func(t *testing.T) {
		s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionPending, Started: t0}}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "haven't heard back")
		if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{resetflow.AlertResetTimedOut}) {
			t.Errorf("alerts %v", got)
		}
		// Every 2 s during the first two minutes (the poll timeout here), no more.
		if s.reads > 61 {
			t.Errorf("%d result reads in 2 minutes: the schedule's bound is 60", s.reads)
		}
	})
	t.Run("not supported", func(t *testing.T) {
		s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionNotSupported, Started: t0}}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "doesn't support")
		if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{resetflow.AlertNotSupported}) {
			t.Errorf("alerts %v", got)
		}
	})
	t.Run("done without a passcode", func(t *testing.T) {
		s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Started: t0}}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "no temporary passcode came back")
		if !slices.Contains(h.alerts.Kinds(), resetflow.AlertResetFailed) {
			t.Errorf("alerts %v", h.alerts.Kinds())
		}
		for _, m := range h.chat.All() {
			if strings.Contains(m.M.Text, "was reset successfully") {
				t.Errorf("a reset without a passcode was announced as a success: %q", m.M.Text)
			}
		}
	})
	t.Run("transient read errors are retried", func(t *testing.T) {
		s := &scripted{
			results: []resetflow.ActionResult{{}, {}, {State: resetflow.ActionDone, Passcode: pass, Started: t0}},
			errs:    []error{&resetflow.Error{Kind: resetflow.KindThrottled}, &resetflow.Error{Kind: resetflow.KindUnavailable}},
		}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "was reset successfully")
	})
}

func TestAuditFailureRefusesReset(t *testing.T) {
	h := newHarness(t)
	h.signIn(alice, token(t, h.pickDevice(alice, "Alice's iPhone")))
	h.rec.Fail(errors.New("disk full"))
	h.click(alice, button(t, h.last(alice), h.tr("button_reset")))
	if got := h.last(alice).Text; got != h.tr("audit_unavailable") {
		t.Errorf("said %q", got)
	}
	if h.fleet.Resets() != 0 {
		t.Fatalf("reset without an audit record")
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertAuditDown) {
		t.Errorf("alerts %v", h.alerts.Kinds())
	}
}

func TestResumeAfterRestartNeverResetsAgain(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Ab3dEf7h"), Started: t0}}}
	store := resetflow.NewMemoryStore()
	store.BeginReset(context.Background(), resetflow.InFlight{Flow: "f1", Address: addr("u1@x"), Locale: "en", User: resetflow.User{ID: "u1"},
		Device: resetflow.Device{ID: "d1", Name: "Phone"}, Outcome: resetflow.OutcomeAndroidTemporary, Started: t0}, t0.Add(-24*time.Hour), 3)
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) { d.Devices, d.Directory, d.Store = s, oneUser{}, store })
	if err := h.eng.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.finishReset("u1@x", "was reset successfully")
	if s.resets != 0 {
		t.Fatalf("resume sent %d new reset requests", s.resets)
	}
	if l, _ := store.InFlight(context.Background()); len(l) != 0 {
		t.Errorf("still in flight: %v", l)
	}
}

func TestJapanese(t *testing.T) {
	h := newHarness(t)
	h.say(alice, "パスコードをリセット")
	if got := h.last(alice).Text; got != h.cat.T("ja", "pick_device", map[string]any{"Count": 3}) {
		t.Fatalf("Japanese request answered %q", got)
	}
	// The conversation keeps its language for typed numbers.
	h.say(alice, "1")
	if !strings.Contains(h.last(alice).Text, "本人確認") {
		t.Errorf("number answered %q", h.last(alice).Text)
	}
	// The platform locale wins.
	h.eng.Handle(context.Background(), resetflow.Input{From: addr(bob), Email: bob, Locale: "ja-JP", Text: "reset"})
	if !strings.Contains(h.last(bob).Text, "デバイスを選択") {
		t.Errorf("ja-JP answered %q", h.last(bob).Text)
	}
}

func TestLinkAccount(t *testing.T) {
	discord := func(text, action string) resetflow.Input {
		return resetflow.Input{From: resetflow.Address{Platform: "discord", UserID: "D1"}, Text: text, Action: action}
	}
	h := newHarness(t)
	h.eng.Handle(context.Background(), discord("reset", ""))
	link := h.last("D1")
	if link.Link == nil || !strings.Contains(link.Text, "link this chat account") {
		t.Fatalf("unlinked user got %q", link.Text)
	}
	res := h.signIn(alice, token(t, link))
	if res.Status != resetflow.SignInPairing || res.Code == "" {
		t.Fatalf("link sign-in = %v", res.Status)
	}
	h.eng.Handle(context.Background(), discord(res.Code, ""))
	if u, ok, _ := h.links.LinkedUser(context.Background(), "discord", "D1"); !ok || u.UPN != alice {
		t.Fatalf("not linked: %v %v", u, ok)
	}
	list := h.last("D1")
	if len(list.Choices) != 3 {
		t.Fatalf("no device list after linking: %q", list.Text)
	}
	// Inside the 5 minutes, the link's sign-in is the re-auth: straight to the warning.
	h.clk.Advance(time.Minute)
	h.eng.Handle(context.Background(), discord("", list.Choices[0].Value))
	warn := h.last("D1")
	if !strings.Contains(warn.Text, "physical access") {
		t.Fatalf("after pick got %q, want the warning", warn.Text)
	}
	h.eng.Handle(context.Background(), discord("cancel", ""))

	// Later, a linked user still signs in for each reset.
	h.clk.Advance(10 * time.Minute)
	h.eng.Handle(context.Background(), discord("reset", ""))
	list = h.last("D1")
	h.eng.Handle(context.Background(), discord("", list.Choices[0].Value))
	if h.last("D1").Link == nil {
		t.Fatalf("linked user past the window got %q, want a sign-in link", h.last("D1").Text)
	}
	h.eng.Handle(context.Background(), discord("cancel", ""))

	h.eng.Handle(context.Background(), discord("unlink", ""))
	if got := h.last("D1").Text; got != h.tr("unlinked") {
		t.Errorf("unlink said %q", got)
	}
	if _, ok, _ := h.links.LinkedUser(context.Background(), "discord", "D1"); ok {
		t.Errorf("still linked after unlink")
	}
}

// TestPasscodeOnlyInTheDM scans every alert, audit event and log line of a reset
// for the temporary passcode.
func TestPasscodeOnlyInTheDM(t *testing.T) {
	h := newHarness(t)
	h.signIn(alice, token(t, h.pickDevice(alice, "Alice's Pixel 8")))
	h.click(alice, button(t, h.last(alice), h.tr("button_reset")))
	h.finishReset(alice, "was reset successfully")
	msgs := h.chat.All()
	var pass string
	for _, m := range msgs {
		if m.M.Secret != nil {
			if m.To != addr(alice) {
				t.Errorf("secret sent to %+v", m.To)
			}
			pass = m.M.Secret.Reveal()
		}
		if pass != "" && strings.Contains(m.M.Text+m.M.Notice, pass) {
			t.Errorf("passcode in message text")
		}
	}
	if pass == "" {
		t.Fatal("no passcode delivered")
	}
	h.eng.Handle(context.Background(), resetflow.Input{From: addr(alice), Email: alice, Text: "reset"})
	for _, e := range h.rec.Events() {
		if strings.Contains(e.Detail+e.Outcome, pass) {
			t.Errorf("passcode in audit event %+v", e)
		}
	}
	if strings.Contains(h.logs.String(), pass) {
		t.Errorf("passcode in the log")
	}
	s := resetflow.NewSecret("x", pass)
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
		if out := sprintf(f, s); strings.Contains(out, pass) {
			t.Errorf("fmt %s leaks the secret: %s", f, out)
		}
	}
}

func TestResumedResetWithoutResultAlertsUnknown(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionNone}}}
	store := resetflow.NewMemoryStore()
	store.BeginReset(context.Background(), resetflow.InFlight{Flow: "f1", Address: addr("u1@x"), Locale: "en", User: resetflow.User{ID: "u1"},
		Device: resetflow.Device{ID: "d1", Name: "Phone"}, Outcome: resetflow.OutcomeAndroidTemporary, Started: t0}, t0.Add(-24*time.Hour), 3)
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		d.Devices, d.Directory, d.Store = s, oneUser{}, store
		c.PollTimeout = time.Minute
	})
	h.eng.Resume(context.Background())
	h.finishReset("u1@x", "haven't heard back")
	if got := h.alerts.Kinds(); !slices.Equal(got, []resetflow.AlertKind{resetflow.AlertResetUnknown}) {
		t.Errorf("alerts %v", got)
	}
	if s.resets != 0 {
		t.Errorf("resume sent a reset request")
	}
}
