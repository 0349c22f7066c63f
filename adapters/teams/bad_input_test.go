package teams_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
)

// TestRefusedActivities: activities without a valid token, or with a token
// that does not fit them, are answered 401 (a body over the limit 413) and
// have no effect: no Connector call, no answer, no reset.
func TestRefusedActivities(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	reset := func() []byte {
		a := h.fake.Activity(alice, "")
		a["text"] = "reset"
		return mustJSON(a)
	}
	for _, tc := range []struct {
		name   string
		body   []byte
		sign   teamstest.Sign
		status int
	}{
		{"no token", reset(), teamstest.Sign{None: true}, http.StatusUnauthorized},
		{"expired token", reset(), teamstest.Sign{Expired: true}, http.StatusUnauthorized},
		{"another audience", reset(), teamstest.Sign{Audience: "11111111-2222-4333-8444-555555555555"}, http.StatusUnauthorized},
		{"another issuer", reset(), teamstest.Sign{Issuer: "https://sts.windows.net/evil/"}, http.StatusUnauthorized},
		{"a key the metadata doesn't list", reset(), teamstest.Sign{OtherKey: true}, http.StatusUnauthorized},
		{"serviceUrl not the token's", reset(), teamstest.Sign{ServiceURL: "https://smba.evil.example/amer/"}, http.StatusUnauthorized},
		{"body over the limit", func() []byte {
			a := h.fake.Activity(alice, "")
			a["text"] = "reset " + strings.Repeat("x", 300<<10)
			return mustJSON(a)
		}(), teamstest.Sign{}, http.StatusRequestEntityTooLarge},
		{"not an activity", []byte(`{"serviceUrl":"` + h.fake.ServiceURL() + `","text":"reset"}`), teamstest.Sign{}, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(h.connectorCalls())
			res, err := h.fake.Post(tc.body, tc.sign)
			if err != nil || res.Status != tc.status {
				t.Fatalf("Post = %+v, %v; want %d", res, err, tc.status)
			}
			// A message that is taken is answered: prove nothing was by a
			// valid message after it, whose answer is the first one.
			h.say(alice, "help")
			h.says(h.fake.PersonalChat(alice), firstLine(h.cat.T("en", "help")))
			calls := h.connectorCalls()[before:]
			for _, c := range calls {
				if strings.Contains(string(c.Body), h.cat.T("en", "pick_device", map[string]any{"Count": 3})) {
					t.Errorf("the refused activity was answered: %s %s", c.Method, c.Path)
				}
			}
			if n := h.count(h.fake.PersonalChat(alice), "Alice's iPhone"); n != 0 {
				t.Errorf("a refused reset listed devices (%d messages)", n)
			}
		})
	}
	if h.fleet.Resets() != 0 {
		t.Error("a refused activity reset a device")
	}
}

// TestOtherTenantAndGuestRefusedPolitely: a person from another tenant and a
// guest of ours each get a polite refusal and nothing else: no roster or
// device lookup, no helpdesk alert (they are not attacks).
func TestOtherTenantAndGuestRefusedPolitely(t *testing.T) {
	h := newHarness(t)
	h.run()
	mallory := h.fake.AddUser(teamstest.User{AADObjectID: "99999999-0000-4000-8000-000000000001", UPN: "mallory@fabrikam.example", TenantID: "99999999-aaaa-4000-8000-00000000beef"})
	// A guest as the roster marks one (userRole), and one known only by the #EXT# in the UPN.
	guest := h.fake.AddUser(teamstest.User{AADObjectID: bobID, UPN: "bob@contoso.example", Guest: true})
	ext := h.fake.AddUser(teamstest.User{AADObjectID: "8f1c2a6e-0004-4c1a-9a11-da7e00000004", UPN: "dave_fabrikam.example#EXT#@contoso.onmicrosoft.com"})

	before := len(h.connectorCalls())
	h.say(mallory, "reset")
	h.says(h.fake.PersonalChat(mallory), h.cat.T("en", "teams_other_tenant"))
	calls := h.connectorCalls()[before:]
	if len(calls) != 1 || calls[0].Method != http.MethodPost {
		t.Errorf("another tenant: calls %+v; want the one refusal", calls)
	}

	h.say(guest, "reset")
	h.says(h.fake.PersonalChat(guest), h.cat.T("en", "teams_guest"))
	h.say(ext, "reset")
	h.says(h.fake.PersonalChat(ext), h.cat.T("en", "teams_guest"))
	if n := h.count(h.fake.PersonalChat(guest), "Galaxy") + h.count(h.fake.PersonalChat(ext), "Surface"); n != 0 {
		t.Error("a guest was shown devices")
	}
	for _, m := range h.fake.Messages(h.helpdesk) {
		t.Errorf("a helpdesk alert for a refused stranger: %q", m.Texts())
	}
	if h.fleet.Resets() != 0 {
		t.Error("a stranger reset a device")
	}
}

// TestRetriedActivityAnsweredOnce: the Bot Framework delivers an activity
// again when our answer was late; the second delivery is acknowledged and
// does nothing.
func TestRetriedActivityAnsweredOnce(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	h.say(alice, "reset")
	h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 3}))
	res, err := h.fake.Post(h.fake.Last(), teamstest.Sign{})
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("redelivery = %+v, %v; want 200", res, err)
	}
	h.say(alice, "help") // answered after the redelivery would have been
	h.says(conv, firstLine(h.cat.T("en", "help")))
	if n := h.count(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 3})); n != 1 {
		t.Errorf("%d device lists; want 1", n)
	}
	if n := h.count(conv, h.cat.T("en", "already_active")); n != 0 {
		t.Errorf("the redelivery reached the engine (%d 'already active')", n)
	}
}

// TestOutsidePersonalChat: a reset asked for in a channel is refused there
// with the reason; nothing else happens.
func TestOutsidePersonalChat(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	team := h.fake.AddChannel("general")
	if res, err := h.fake.SayIn(alice, team, "reset"); err != nil || res.Status != http.StatusOK {
		t.Fatalf("SayIn = %+v, %v", res, err)
	}
	h.says(team, h.cat.T("en", "refused_not_dm"))
	if n := h.count(team, "Alice's iPhone") + h.count(h.fake.PersonalChat(alice), "Alice's iPhone"); n != 0 {
		t.Error("devices listed for a request from a channel")
	}
}

// TestOldCardClick: a click on a card from an earlier conversation (replaced
// by a newer one, or from a request that was cancelled) says why and does
// nothing; its device links (Action.OpenUrl, which Teams does not tell the
// bot about) open a page that says the link is no longer valid, and do
// nothing either.
func TestOldCardClick(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	conv := h.fake.PersonalChat(alice)
	pick := h.cat.T("en", "pick_device", map[string]any{"Count": 3})
	// dead checks that the browser's requests of a device link (the page, the
	// form it submits) are answered with the page saying the link is not valid.
	dead := func(link string, methods ...string) {
		t.Helper()
		if link == "" {
			t.Fatal("no device link")
		}
		for _, method := range methods {
			req := func() (*http.Response, error) { return http.PostForm(link, url.Values{}) }
			if method == http.MethodGet {
				req = func() (*http.Response, error) { return http.Get(link) }
			}
			resp, err := req()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), html.EscapeString(h.cat.T("en", "page_unknown_title"))) {
				t.Errorf("%s %s = %d; want the page saying the link is not valid:\n%s", resp.Request.Method, link, resp.StatusCode, b)
			}
		}
	}

	h.say(alice, "reset")
	first := h.says(conv, pick)
	h.say(alice, "cancel")
	h.says(conv, h.cat.T("en", "cancelled"))
	// The cancelled request's device link, in the browser: not valid, nothing happens.
	dead(first.OpenURL("1. Alice's iPhone"), http.MethodGet, http.MethodPost)
	// The cancelled request's list, clicked: the engine says it belongs to an earlier request.
	h.click(alice, first, h.cat.T("en", "button_cancel"))
	h.says(conv, h.cat.T("en", "stale_action"))
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 0 {
		t.Errorf("the cancelled request's link started a sign-in (%d sign-in links)", n)
	}

	// A list superseded while its request goes on: she types the number instead of
	// clicking, the sign-in card replaces the list, then the list is clicked from
	// a screen that hasn't caught up.
	h.say(alice, "reset")
	second := h.card(conv, "the second list", func(m teamstest.Message) bool { return m.ID != first.ID && strings.Contains(m.Texts(), pick) })
	h.say(alice, "2")
	h.card(conv, "the sign-in link", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "signin_button")) != nil })
	h.fake.WaitFor(t, "the second list superseded", func() bool {
		for _, m := range h.fake.Messages(conv) {
			if m.ID == second.ID {
				return len(m.Actions()) == 0
			}
		}
		return false
	})
	// Its link for another device, in the browser: the page's form is refused
	// (the request has its device), nothing happens.
	dead(second.OpenURL("3. Alice's Lumia 950"), http.MethodPost)
	h.click(alice, second, h.cat.T("en", "button_cancel"))
	h.fake.WaitFor(t, "a second stale notice", func() bool { return h.count(conv, h.cat.T("en", "stale_action")) == 2 })
	if n := h.count(conv, h.cat.T("en", "already_picked")); n != 0 {
		t.Error("the superseded card's click or link reached the engine")
	}
	if n := h.count(conv, h.cat.T("en", "cancelled")); n != 1 {
		t.Errorf("%d cancellations; want the first request's only", n)
	}
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 1 {
		t.Errorf("%d sign-in links; want 1", n)
	}
}

// TestActionExecuteInvoke: an Action.Execute arrives as an adaptiveCard/action
// invoke; it is answered in the HTTP response with the card without buttons,
// and the pick goes on. (The data is the choice set's: devices the rules allow
// on a short list are links, which Teams does not send to the bot.)
func TestActionExecuteInvoke(t *testing.T) {
	h := newHarnessFleet(t, erinsFleet(7))
	h.run()
	erin := h.user(erinID, "erin@contoso.example", "en-US")
	conv := h.fake.PersonalChat(erin)
	h.say(erin, "reset")
	list := h.says(conv, h.cat.T("en", "pick_device", map[string]any{"Count": 7}))
	data := list.Action(h.cat.T("en", "teams_choose"))["data"].(map[string]any)
	cid, titles, values := list.ChoiceSet()
	if len(titles) != 7 || titles[2] != "3. Erin's phone 3" {
		t.Fatalf("choice set %q", titles)
	}
	data[cid] = values[2]
	a := h.fake.Activity(erin, "")
	a["type"], a["name"], a["replyToId"] = "invoke", "adaptiveCard/action", list.ID
	a["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": "pick", "data": data}, "trigger": "manual"}
	res, err := h.fake.Deliver(a)
	if err != nil || res.Status != http.StatusOK {
		t.Fatalf("invoke = %+v, %v", res, err)
	}
	var ir struct {
		StatusCode int            `json:"statusCode"`
		Type       string         `json:"type"`
		Value      map[string]any `json:"value"`
	}
	if err := json.Unmarshal(res.Body, &ir); err != nil || ir.StatusCode != 200 || ir.Type != "application/vnd.microsoft.card.adaptive" {
		t.Fatalf("invoke response %s (%v); want a 200 card", res.Body, err)
	}
	if _, has := ir.Value["actions"]; has || !strings.Contains(string(mustJSON(ir.Value)), "You chose: Erin's phone 3") {
		t.Errorf("the invoke's card = %s; want no actions and the choice", mustJSON(ir.Value))
	}
	link := h.card(conv, "the sign-in link", func(m teamstest.Message) bool { return m.Action(h.cat.T("en", "signin_button")) != nil })
	if !strings.Contains(link.Texts(), "Erin's phone 3") {
		t.Errorf("the sign-in link is not for phone 3: %q", link.Texts())
	}
	// The same card invoked again (a double click): nothing more.
	a2 := h.fake.Activity(erin, "")
	a2["type"], a2["name"], a2["replyToId"], a2["value"] = "invoke", "adaptiveCard/action", list.ID, a["value"]
	if res, err := h.fake.Deliver(a2); err != nil || res.Status != http.StatusOK {
		t.Fatalf("second invoke = %+v, %v", res, err)
	}
	h.say(erin, "help")
	h.says(conv, firstLine(h.cat.T("en", "help")))
	if n := h.countAction(conv, h.cat.T("en", "signin_button")); n != 1 {
		t.Errorf("%d sign-in links; want 1", n)
	}
}

// TestRosterMustMatchTheSender: the person is who the conversation's roster
// says: an activity whose aadObjectId is not the roster's for its sender is
// refused, and nobody's devices are listed.
func TestRosterMustMatchTheSender(t *testing.T) {
	h := newHarness(t)
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	h.user(bobID, "bob@contoso.example", "en-US")
	a := h.fake.Activity(alice, "")
	a["from"].(map[string]any)["aadObjectId"] = bobID
	a["text"] = "reset"
	if res, err := h.fake.Deliver(a); err != nil || res.Status != http.StatusOK {
		t.Fatalf("Deliver = %+v, %v", res, err)
	}
	conv := h.fake.PersonalChat(alice)
	h.says(conv, h.cat.T("en", "teams_no_identity"))
	if n := h.count(conv, "Galaxy") + h.count(conv, "iPhone"); n != 0 {
		t.Error("devices listed for a sender the roster does not confirm")
	}
}

// TestKeysUnavailable: when the Bot Framework metadata cannot be read, a
// token cannot be checked: the activity is answered 503 (the channel tries
// again) and does nothing.
func TestKeysUnavailable(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	h := newHarness(t, func(c *teams.Config) { c.MetadataURL = dead.URL + "/v1/.well-known/openidconfiguration" })
	h.run()
	alice := h.user(aliceID, "alice@contoso.example", "en-US")
	res, err := h.fake.Say(alice, "reset")
	if err != nil || res.Status != http.StatusServiceUnavailable {
		t.Fatalf("Say = %+v, %v; want 503", res, err)
	}
	if n := len(h.connectorCalls()); n != 0 {
		t.Errorf("%d Connector calls without checked keys", n)
	}
}
