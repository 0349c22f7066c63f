package resetflow_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

func listToken(t *testing.T, u string) (string, int) {
	t.Helper()
	i := strings.LastIndex(u, "/r/")
	tok, q, ok := strings.Cut(u[i+3:], "?d=")
	n, err := strconv.Atoi(q)
	if !ok || err != nil {
		t.Fatalf("not a device-list link: %q", u)
	}
	return tok, n
}

// TestDeviceListLinks: every device the rules allow gets a link that picks it
// and opens the sign-in; looking at it changes nothing; it is never a sign-in
// window itself; picking twice opens one sign-in.
func TestDeviceListLinks(t *testing.T) {
	h := newHarness(t)
	h.say(dave, "reset")
	list := h.last(dave)
	var quest string
	for _, c := range list.Choices {
		allowed := c.Label == "Dave's Quest 3" || c.Label == "Dave's iPad"
		if (c.URL != "") != allowed {
			t.Errorf("%s: link %q; want one only for devices the rules allow", c.Label, c.URL)
		}
		if c.Label == "Dave's Quest 3" {
			quest = c.URL
		}
	}
	tok, n := listToken(t, quest)
	before := len(h.chat.All())

	// A link preview (any number of GETs) changes nothing and uses nothing up.
	for range 3 {
		info, st := h.eng.PickWindow(tok, n)
		if st != resetflow.WindowOpen || info.Device != "Dave's Quest 3" {
			t.Fatalf("PickWindow = %+v %v", info, st)
		}
	}
	if _, st := h.eng.PickWindow(tok, 1); st != resetflow.WindowUnknown {
		t.Errorf("an ineligible device (Surface) is offered through the link: %v", st)
	}
	if len(h.chat.All()) != before || len(h.alerts.All()) != 0 || len(h.rec.Steps()) != 2 {
		t.Fatalf("looking at the link did something: %v %v %v", h.chat.All()[before:], h.alerts.All(), h.rec.Steps())
	}
	// The link is never a sign-in window.
	if _, st := h.eng.Window(tok); st != resetflow.WindowUnknown {
		t.Errorf("Window(list link) = %v", st)
	}
	u, _ := h.fleet.LookupUser(context.Background(), dave)
	if res := h.eng.CompleteSignIn(context.Background(), tok, resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: h.clk.Now()}); res.Status != resetflow.SignInUnknown {
		t.Fatalf("a device-list link completed a sign-in: %v", res.Status)
	}

	// The browser's POST picks the device and opens its sign-in window.
	res := h.eng.PickFromLink(context.Background(), tok, n)
	if res.Status != resetflow.WindowOpen || res.SignIn == "" {
		t.Fatalf("PickFromLink = %+v", res)
	}
	if info, st := h.eng.Window(res.SignIn); st != resetflow.WindowOpen || info.DeviceName != "Dave's Quest 3" {
		t.Fatalf("the sign-in window = %+v %v", info, st)
	}
	// The chat says the browser is on its way (not "open this link"), and
	// keeps the same sign-in at hand in case the browser was closed.
	if m := h.last(dave); m.Text != h.cat.T("en", "signin_in_browser", map[string]any{"Device": "Dave's Quest 3", "Until": "09:05 UTC", "Minutes": 5}) ||
		m.Link == nil || !strings.HasSuffix(m.Link.URL, "/r/"+res.SignIn) {
		t.Errorf("the chat after a link pick: %q %+v", m.Text, m.Link)
	}
	if again := h.eng.PickFromLink(context.Background(), tok, n); again.SignIn != res.SignIn {
		t.Errorf("a second POST opened another sign-in: %q vs %q", again.SignIn, res.SignIn)
	}
	if other := h.eng.PickFromLink(context.Background(), tok, 4); other.SignIn != "" {
		t.Errorf("another device's link after the pick opened a sign-in: %+v", other)
	}
	// The sign-in goes on as after a typed pick.
	if r := h.eng.CompleteSignIn(context.Background(), res.SignIn, resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: h.clk.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in: %v", r.Status)
	}
	if m := h.last(dave); !strings.Contains(m.Text, "Warning") {
		t.Fatalf("after the sign-in: %q", m.Text)
	}
	if done := h.eng.PickFromLink(context.Background(), tok, n); !done.Done {
		t.Errorf("the link after the sign-in: %+v; want done (back to the chat)", done)
	}

	t.Run("expires with the sign-in window", func(t *testing.T) {
		h := newHarness(t)
		h.say(dave, "reset")
		for _, c := range h.last(dave).Choices {
			if c.URL != "" {
				tok, n := listToken(t, c.URL)
				h.clk.Advance(5*time.Minute + time.Second)
				if _, st := h.eng.PickWindow(tok, n); st != resetflow.WindowExpired {
					t.Errorf("after 5 minutes: %v", st)
				}
				if r := h.eng.PickFromLink(context.Background(), tok, n); r.Status != resetflow.WindowExpired || r.SignIn != "" {
					t.Errorf("PickFromLink after 5 minutes = %+v", r)
				}
				return
			}
		}
	})
}

// TestDeviceButtonClickAfterItsLinkPicked: a device button both opens its link
// (whose page picks the device) and sends the click. When the page came first,
// the click of the same device says nothing; another device's click still
// hears that a device is already picked.
func TestDeviceButtonClickAfterItsLinkPicked(t *testing.T) {
	h := newHarness(t)
	h.say(dave, "reset")
	var quest resetflow.Choice
	for _, c := range h.last(dave).Choices {
		if c.Label == "Dave's Quest 3" {
			quest = c
		}
	}
	tok, n := listToken(t, quest.URL)
	if res := h.eng.PickFromLink(context.Background(), tok, n); res.SignIn == "" {
		t.Fatalf("PickFromLink = %+v", res)
	}
	before := h.count(dave)
	h.click(dave, quest.Value)
	if got := h.count(dave); got != before {
		t.Fatalf("the click of the device the link picked answered: %q", h.last(dave).Text)
	}
	other := strings.TrimSuffix(quest.Value, strconv.Itoa(n)) + strconv.Itoa(n%4+1)
	h.click(dave, other)
	if got := h.count(dave); got != before+1 || !strings.Contains(h.last(dave).Text, h.tr("already_picked")) {
		t.Fatalf("another device's click after the pick: %d messages, last %q", got-before, h.last(dave).Text)
	}
}
