package oidc_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/oidc"
	"github.com/passcodebot/passcodebot/resetflow"
)

var mallory = resetflow.Address{Platform: "discord", UserID: "MALLORY"}

// linkingLink has a Discord account (no company identity) ask for a reset; it
// returns the account-linking link.
func (h *harness) linkingLink(from resetflow.Address, name string) string {
	h.t.Helper()
	h.eng.Handle(context.Background(), resetflow.Input{From: from, Text: "reset", Unverified: true, AccountName: name})
	msgs := h.chat.all()
	if len(msgs) == 0 || msgs[len(msgs)-1].Link == nil {
		h.t.Fatalf("no linking link in the chat: %+v", msgs)
	}
	return msgs[len(msgs)-1].Link.URL
}

func (h *harness) linked(from resetflow.Address) string {
	u, ok, _ := h.links.LinkedUser(context.Background(), from.Platform, from.UserID)
	if !ok {
		return ""
	}
	return u.UPN
}

func (h *harness) kinds() []resetflow.AlertKind { return h.alerts.Kinds() }

// TestCallbackFromAnotherBrowserIsRefused: the state is bound to the browser
// that pressed Continue by a cookie; a callback without it, or with another
// browser's, is refused with a clear page, uses up the link and alerts.
func TestCallbackFromAnotherBrowserIsRefused(t *testing.T) {
	t.Run("no cookie", func(t *testing.T) {
		h := newHarness(t)
		link := h.requestLink("en")
		begin := h.do(http.MethodPost, link)
		ck := ""
		for _, c := range begin.header.Values("Set-Cookie") {
			if strings.HasPrefix(c, oidc.BrowserCookieInsecure+"=") {
				ck = c
			}
		}
		// On plain http the cookie goes without __Host- and Secure; always HttpOnly and Lax.
		if ck == "" || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") || !strings.Contains(ck, "Path=/") || strings.Contains(ck, "Secure") {
			t.Fatalf("Continue set cookie %q; want %s, HttpOnly, SameSite=Lax, Path=/", ck, oidc.BrowserCookieInsecure)
		}
		cb := h.signIn(link, h.alice())
		bare := &http.Client{Timeout: 10 * time.Second, CheckRedirect: h.client.CheckRedirect}
		h.wantPage(h.doAs(bare, http.MethodGet, cb), http.StatusForbidden, "en", "page_other_browser")
		if h.warnings() != 0 {
			t.Fatal("the reset went on after a callback without the cookie")
		}
		if got := h.lastChat(); got != h.cat.T("en", "signin_other_browser") {
			t.Errorf("chat said %q", got)
		}
		if k := h.kinds(); len(k) != 1 || k[0] != resetflow.AlertWrongPerson {
			t.Errorf("alerts %v; want wrong_person", k)
		}
		// The right browser cannot use the spent state now either.
		h.wantPage(h.do(http.MethodGet, cb), http.StatusNotFound, "en", "page_unknown")
		if h.warnings() != 0 {
			t.Fatal("the reset went on")
		}
	})
	t.Run("another browser's cookie", func(t *testing.T) {
		h := newHarness(t)
		link := h.requestLink("en")
		cb := h.signIn(link, h.alice())
		// Another browser that has a cookie of its own, from its own Continue.
		other := newBrowser()
		if p := h.doAs(other, http.MethodPost, h.linkingLink(mallory, "Mallory (@mallory)")); p.status != http.StatusSeeOther {
			t.Fatalf("the other browser's continue: %d", p.status)
		}
		h.wantPage(h.doAs(other, http.MethodGet, cb), http.StatusForbidden, "en", "page_other_browser")
		if h.warnings() != 0 {
			t.Fatal("the reset went on after a callback with another browser's cookie")
		}
	})
}

// TestForwardedAuthorizeURLCannotLinkAnAccount is attack (A): Mallory presses
// Continue on her own linking link and sends Alice the provider's authorize
// URL. Alice signs in; her browser lacks Mallory's cookie, so the callback is
// refused, nothing is linked, the helpdesk is alerted, and the callback URL
// sent back to Mallory's browser is spent.
func TestForwardedAuthorizeURLCannotLinkAnAccount(t *testing.T) {
	h := newHarness(t)
	link := h.linkingLink(mallory, "Mallory (@mallory)")
	malloryBrowser, aliceBrowser := newBrowser(), newBrowser()
	landing := h.doAs(malloryBrowser, http.MethodGet, link)
	data := map[string]any{"Platform": "Discord", "Account": "Mallory (@mallory)", "Until": h.clk.Now().Add(5*time.Minute).UTC().Truncate(time.Minute).Format("15:04") + " UTC"}
	h.wantPage(landing, http.StatusOK, "en", "page_intro_link_account", data)
	h.wantPage(landing, http.StatusOK, "en", "page_link_warning", data)
	begin := h.doAs(malloryBrowser, http.MethodPost, link)
	if begin.status != http.StatusSeeOther {
		t.Fatalf("continue: %d", begin.status)
	}
	h.idp.QueueUser(h.alice())
	auth := h.doAs(aliceBrowser, http.MethodGet, begin.header.Get("Location"))
	cb := auth.header.Get("Location")
	if !strings.HasPrefix(cb, h.srv.URL+oidc.CallbackPath+"?") {
		t.Fatalf("provider sent Alice to %q", cb)
	}
	res := h.doAs(aliceBrowser, http.MethodGet, cb)
	h.wantPage(res, http.StatusForbidden, "en", "page_other_browser")
	if strings.Contains(res.body, `id="code"`) {
		t.Fatal("Alice's page shows a pairing code")
	}
	if k := h.kinds(); len(k) != 1 || k[0] != resetflow.AlertLinkRefused || h.alerts.All()[0].ChatUser != "MALLORY" || h.alerts.All()[0].ChatName != "Mallory (@mallory)" {
		t.Fatalf("alerts %+v; want link_refused naming Mallory", h.alerts.All())
	}
	// Alice sends the callback URL back ("it showed an error"): spent.
	h.wantPage(h.doAs(malloryBrowser, http.MethodGet, cb), http.StatusNotFound, "en", "page_unknown")
	if got := h.linked(mallory); got != "" {
		t.Fatalf("Mallory is linked to %s", got)
	}
	for _, m := range h.chat.all() {
		if len(m.Choices) > 0 {
			t.Fatalf("a device list was sent: %+v", m)
		}
	}
}

var codeRe = regexp.MustCompile(`<p id="code" class="code">(\d{6})</p>`)

// TestLinkingSignInShowsThePairingCode: the honest path with the real OIDC
// code: the result page names the account and shows the code; typed into the
// same chat account, it links.
func TestLinkingSignInShowsThePairingCode(t *testing.T) {
	h := newHarness(t)
	me := resetflow.Address{Platform: "discord", UserID: "ALICE-D"}
	link := h.linkingLink(me, "Alice (@alice)")
	cb := h.signIn(link, h.alice())
	page := h.do(http.MethodGet, cb)
	data := map[string]any{"UPN": aliceUPN, "Platform": "Discord", "Account": "Alice (@alice)", "Until": h.clk.Now().Add(3*time.Minute).UTC().Truncate(time.Minute).Format("15:04") + " UTC"}
	h.wantPage(page, http.StatusOK, "en", "page_pairing", data)
	h.wantPage(page, http.StatusOK, "en", "page_pairing_warning", data)
	m := codeRe.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("no code on the page:\n%s", page.body)
	}
	if h.linked(me) != "" {
		t.Fatal("linked before the code was typed")
	}
	if strings.Contains(h.logs.String(), m[1]) {
		t.Error("the pairing code is in the log")
	}
	h.eng.Handle(context.Background(), resetflow.Input{From: me, Text: m[1], Unverified: true})
	if got := h.linked(me); got != aliceUPN {
		t.Fatalf("linked to %q after the code", got)
	}
}

// TestFloodedContinueLeavesOthersSignInWorking is finding 3: pressing Continue
// on one's own link thousands of times used to fill the table of pending
// sign-ins, and everyone else's Continue answered 503. Now a link holds one
// pending sign-in (a new one replaces the old), and "sign-in begun" is logged
// once per link.
func TestFloodedContinueLeavesOthersSignInWorking(t *testing.T) {
	h := newHarness(t, func(o *harnessOpts) { o.maxPend = 20 })
	link := h.linkingLink(mallory, "Mallory (@mallory)")
	flooder := newBrowser()
	for i := range 200 {
		if p := h.doAs(flooder, http.MethodPost, link); p.status != http.StatusSeeOther {
			t.Fatalf("flood POST %d: %d", i, p.status)
		}
	}
	cb := h.signIn(h.requestLink("en"), h.alice())
	h.wantPage(h.do(http.MethodGet, cb), http.StatusOK, "en", "page_success")
	if h.warnings() != 1 {
		t.Fatal("Alice's reset did not reach the warning")
	}
	if n := strings.Count(h.logs.String(), "oidc: sign-in begun"); n != 2 {
		t.Errorf("%d \"sign-in begun\" lines for 201 Continues on 2 links; want 2", n)
	}
}

// TestRateLimitIsPerClientAndLink: the sign-in pages are rate-limited per
// client and link: the flooder gets 429 (logged once per minute), while
// another person from the same address (loopback, a NAT) signs in.
func TestRateLimitIsPerClientAndLink(t *testing.T) {
	h := newHarness(t, func(o *harnessOpts) { o.limit = &reauth.Limiter{Burst: 5, Every: time.Minute} })
	link := h.linkingLink(mallory, "Mallory (@mallory)")
	flooder := newBrowser()
	ok, limited := 0, 0
	for range 100 {
		switch p := h.doAs(flooder, http.MethodPost, link); p.status {
		case http.StatusSeeOther:
			ok++
		case http.StatusTooManyRequests:
			limited++
			if limited == 1 {
				h.wantPage(p, http.StatusTooManyRequests, "en", "page_busy")
			}
		default:
			t.Fatalf("flood: %d", p.status)
		}
	}
	if ok != 5 || limited != 95 {
		t.Errorf("flood: %d allowed, %d limited; want 5 and 95", ok, limited)
	}
	if n := strings.Count(h.logs.String(), "requests refused by the rate limit"); n != 1 {
		t.Errorf("%d rate-limit log lines for 95 refusals in a minute; want 1", n)
	}
	cb := h.signIn(h.requestLink("en"), h.alice())
	h.wantPage(h.do(http.MethodGet, cb), http.StatusOK, "en", "page_success")
	if h.warnings() != 1 {
		t.Fatal("Alice's reset did not reach the warning")
	}
	h.clk.Advance(time.Minute)
	if p := h.doAs(flooder, http.MethodPost, link); p.status != http.StatusSeeOther {
		t.Errorf("a minute later: %d; want one more Continue allowed", p.status)
	}
}

// TestFullPendingTableLogsOncePerMinute: when as many people as the table
// holds are mid-sign-in, a further Continue answers 503, and the refusals are
// logged once a minute, not once per request.
func TestFullPendingTableLogsOncePerMinute(t *testing.T) {
	h := newHarness(t, func(o *harnessOpts) { o.maxPend = 2 })
	var links []string
	for i := range 3 {
		links = append(links, h.linkingLink(resetflow.Address{Platform: "discord", UserID: fmt.Sprint("D", i)}, fmt.Sprint("@d", i)))
	}
	for i, link := range links[:2] {
		if p := h.do(http.MethodPost, link); p.status != http.StatusSeeOther {
			t.Fatalf("continue %d: %d", i, p.status)
		}
	}
	for range 20 {
		if p := h.do(http.MethodPost, links[2]); p.status != http.StatusServiceUnavailable {
			t.Fatalf("continue on a full table: %d", p.status)
		}
	}
	if n := strings.Count(h.logs.String(), "too many sign-ins in progress"); n != 1 {
		t.Errorf("%d log lines for 20 refusals; want 1", n)
	}
	// The first two can still press Continue again (their own entry is replaced).
	if p := h.do(http.MethodPost, links[0]); p.status != http.StatusSeeOther {
		t.Errorf("continue again on a held link: %d", p.status)
	}
}

// TestBrowserLinking: in real Chromium, the linking page names the account
// with its warning, the browser cookie survives the trip through the
// provider, and the result page shows the code that links the account.
func TestBrowserLinking(t *testing.T) {
	ctx := browser(t)
	h := newHarness(t)
	me := resetflow.Address{Platform: "discord", UserID: "ALICE-D"}
	link := h.linkingLink(me, "Alice (@alice)")
	h.idp.QueueUser(h.alice())
	var code string
	within(t, ctx, 30*time.Second, func(ctx context.Context) error {
		if err := chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#continue"))); err != nil {
			return err
		}
		screenshot(t, ctx, "linking-landing")
		if got, err := text(ctx, "#warning"); err != nil || !strings.Contains(got, "Alice (@alice)") {
			return fmt.Errorf("landing warning %q (%v)", got, err)
		}
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#continue"))); err != nil {
			return err
		}
		if _, err := waitPath(ctx, "/oidc/callback"); err != nil {
			return err
		}
		screenshot(t, ctx, "linking-code")
		var err error
		if code, err = text(ctx, "#code"); err != nil {
			return err
		}
		return nil
	})
	if !regexp.MustCompile(`^\d{6}$`).MatchString(code) {
		t.Fatalf("code on the page: %q", code)
	}
	h.eng.Handle(context.Background(), resetflow.Input{From: me, Text: code, Unverified: true})
	if got := h.linked(me); got != aliceUPN {
		t.Fatalf("linked to %q", got)
	}
}
