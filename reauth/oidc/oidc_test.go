package oidc_test

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/reauth/oidc"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestFreshSignIn(t *testing.T) {
	h := newHarness(t)
	link := h.requestLink("en")
	cb := h.signIn(link, h.alice())

	// What we asked the provider for.
	reqs := h.authRequests()
	if len(reqs) != 1 {
		t.Fatalf("%d authorization requests, want 1", len(reqs))
	}
	q := reqs[0]
	for k, want := range map[string]string{
		"response_type": "code", "client_id": h.idp.ClientID, "redirect_uri": h.srv.URL + "/oidc/callback",
		"scope": "openid profile", "prompt": "login", "max_age": "300", "login_hint": aliceUPN,
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 43 {
			t.Errorf("authorization request %s = %q, want 256 random bits", k, q.Get(k))
		}
	}
	if q.Get("state") == q.Get("nonce") {
		t.Error("state and nonce are the same value")
	}

	p := h.do(http.MethodGet, cb)
	h.wantPage(p, http.StatusOK, "en", "page_success")
	if n := h.warnings(); n != 1 {
		t.Fatalf("chat got %d warnings, want 1; last: %q", n, h.lastChat())
	}
	if !strings.Contains(h.lastChat(), "Alice's iPhone") {
		t.Errorf("warning does not name the device: %q", h.lastChat())
	}
	// PKCE: the code went back with the verifier of the challenge.
	toks := h.tokenRequests()
	if len(toks) != 1 {
		t.Fatalf("%d token requests, want 1", len(toks))
	}
	if v := toks[0].Get("code_verifier"); v == "" || s256(v) != q.Get("code_challenge") {
		t.Errorf("code_verifier %q does not match the S256 challenge %q", v, q.Get("code_challenge"))
	}
	if len(h.alerts.All()) != 0 {
		t.Errorf("alerts: %+v", h.alerts.All())
	}
}

func TestFreshSignInJapanese(t *testing.T) {
	h := newHarness(t)
	link := h.requestLink("ja")
	if p := h.do(http.MethodGet, link); !strings.Contains(p.body, `lang="ja"`) || !strings.Contains(p.body, templateEscape(h.cat.T("ja", "page_continue"))) {
		t.Errorf("landing page is not Japanese:\n%s", p.body)
	}
	cb := h.signIn(link, h.alice())
	h.wantPage(h.do(http.MethodGet, cb), http.StatusOK, "ja", "page_success")
	if h.warnings() != 1 {
		t.Errorf("chat got %d warnings, want 1", h.warnings())
	}
}

func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		user   func(h *harness) *entraUser
		status int
		id     string // catalog id the page says
		reason string // the catalog id of page_error's reason, if any
	}{
		{name: "auth_time missing", status: http.StatusBadGateway, id: "page_error", reason: "page_reason_no_auth_time",
			user: func(h *harness) *entraUser { u := h.alice(); u.authTime = nil; return u }},
		{name: "auth_time 6 minutes old", status: http.StatusUnauthorized, id: "page_stale",
			user: func(h *harness) *entraUser {
				u := h.alice()
				u.authTime = unix(h.clk.Now().Add(-6 * time.Minute))
				return u
			}},
		{name: "auth_time before the link", status: http.StatusUnauthorized, id: "page_stale",
			user: func(h *harness) *entraUser {
				u := h.alice()
				u.authTime = unix(h.clk.Now().Add(-90 * time.Second)) // the link is from now; skew is 30 s
				return u
			}},
		{name: "wrong nonce", status: http.StatusBadGateway, id: "page_error", reason: "page_reason_invalid_token",
			user: func(h *harness) *entraUser { u := h.alice(); n := "not-the-nonce-we-sent"; u.nonce = &n; return u }},
		{name: "no oid", status: http.StatusBadGateway, id: "page_error", reason: "page_reason_no_user",
			user: func(h *harness) *entraUser { u := h.alice(); u.oid = ""; return u }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			link := h.requestLink("en")
			p := h.do(http.MethodGet, h.signIn(link, tc.user(h)))
			var data []map[string]any
			if tc.reason != "" {
				data = append(data, map[string]any{"Reason": h.cat.T("en", tc.reason)})
			}
			h.wantPage(p, tc.status, "en", tc.id, data...)
			if n := h.warnings(); n != 0 {
				t.Errorf("chat got %d warnings, want none", n)
			}
			if a := h.alerts.All(); len(a) != 0 {
				t.Errorf("alerts: %+v", a)
			}
			// The link still works for a real, fresh sign-in.
			h.wantPage(h.do(http.MethodGet, h.signIn(link, h.alice())), http.StatusOK, "en", "page_success")
			if n := h.warnings(); n != 1 {
				t.Errorf("after a good sign-in the chat got %d warnings, want 1", n)
			}
		})
	}
}

func TestReplayedState(t *testing.T) {
	h := newHarness(t)
	cb := h.signIn(h.requestLink("en"), h.alice())
	h.wantPage(h.do(http.MethodGet, cb), http.StatusOK, "en", "page_success")
	h.wantPage(h.do(http.MethodGet, cb), http.StatusNotFound, "en", "page_unknown")
	if n := len(h.tokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1 (a replay must not reach the provider)", n)
	}
	if n := h.warnings(); n != 1 {
		t.Errorf("chat got %d warnings, want 1", n)
	}
	if !strings.Contains(h.logs.String(), "unknown or used state") {
		t.Error("the replay is not logged")
	}
}

func TestHeadDoesNotUseState(t *testing.T) {
	h := newHarness(t)
	cb := h.signIn(h.requestLink("en"), h.alice())
	if p := h.do(http.MethodHead, cb); p.status != http.StatusMethodNotAllowed {
		t.Errorf("HEAD callback: %d, want 405", p.status)
	}
	h.wantPage(h.do(http.MethodGet, cb), http.StatusOK, "en", "page_success")
}

func TestStateAfterDeadline(t *testing.T) {
	h := newHarness(t)
	cb := h.signIn(h.requestLink("en"), h.alice())
	h.clk.Advance(5*time.Minute + time.Second)
	h.wantPage(h.do(http.MethodGet, cb), http.StatusGone, "en", "page_expired")
	if n := len(h.tokenRequests()); n != 0 {
		t.Errorf("%d token requests, want 0", n)
	}
	if n := h.warnings(); n != 0 {
		t.Errorf("chat got %d warnings, want 0", n)
	}
}

func TestIDTokenExpiryUsesInjectedClock(t *testing.T) {
	// The provider's tokens live 30 s (on the wall clock); on our clock 2
	// minutes pass, inside the link's 5, so only the token's expiry refuses it.
	h := newHarness(t, func(o *harnessOpts) { o.accessTTL = 30 * time.Second })
	cb := h.signIn(h.requestLink("en"), h.alice())
	h.clk.Advance(2 * time.Minute)
	p := h.do(http.MethodGet, cb)
	h.wantPage(p, http.StatusBadGateway, "en", "page_error", map[string]any{"Reason": h.cat.T("en", "page_reason_invalid_token")})
	if !strings.Contains(h.logs.String(), "expired") {
		t.Errorf("the log does not say the token expired:\n%s", h.logs.String())
	}
	if h.warnings() != 0 {
		t.Error("an expired ID token was accepted")
	}
}

func TestWrongPerson(t *testing.T) {
	for _, tc := range []struct {
		name string
		user func(h *harness) *entraUser
	}{
		{"different user", func(h *harness) *entraUser {
			return &entraUser{sub: "pairwise-bob", oid: bobID, tid: ourTID, upn: bobUPN, authTime: unix(h.clk.Now())}
		}},
		{"wrong tenant", func(h *harness) *entraUser {
			u := h.alice()
			u.tid = "99999999-9999-9999-9999-999999999999"
			return u
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			u := tc.user(h)
			h.wantPage(h.do(http.MethodGet, h.signIn(h.requestLink("en"), u)), http.StatusForbidden, "en", "page_wrong_person")
			if n := h.warnings(); n != 0 {
				t.Errorf("chat got %d warnings, want 0", n)
			}
			if got, want := h.lastChat(), h.cat.T("en", "signin_wrong_person"); got != want {
				t.Errorf("chat says %q, want %q", got, want)
			}
			a := h.alerts.All()
			if len(a) != 1 || a[0].Kind != resetflow.AlertWrongPerson {
				t.Fatalf("alerts %+v, want one %s", a, resetflow.AlertWrongPerson)
			}
			if !strings.Contains(a[0].Detail, u.upn) || a[0].User.UPN != aliceUPN {
				t.Errorf("alert %+v does not say who signed in for whom", a[0])
			}
		})
	}
}

func TestTamperedCode(t *testing.T) {
	h := newHarness(t)
	cb := h.signIn(h.requestLink("en"), h.alice())
	u, _ := url.Parse(cb)
	q := u.Query()
	q.Set("code", q.Get("code")+"x")
	u.RawQuery = q.Encode()
	h.wantPage(h.do(http.MethodGet, u.String()), http.StatusBadGateway, "en", "page_error",
		map[string]any{"Reason": h.cat.T("en", "page_reason_not_confirmed")})
	// The state was used up by the tampered try.
	h.wantPage(h.do(http.MethodGet, cb), http.StatusNotFound, "en", "page_unknown")
	if n := h.warnings(); n != 0 {
		t.Errorf("chat got %d warnings, want 0", n)
	}
	if !strings.Contains(h.logs.String(), "invalid_grant") {
		t.Errorf("the log does not give the provider's error code:\n%s", h.logs.String())
	}
}

func TestProviderError(t *testing.T) {
	for _, tc := range []struct{ errCode, reason string }{
		{"access_denied", "page_reason_cancelled"},
		{"server_error", "page_reason_provider_error"},
	} {
		t.Run(tc.errCode, func(t *testing.T) {
			h := newHarness(t)
			link := h.requestLink("en")
			cb, _ := url.Parse(h.signIn(link, h.alice()))
			state := cb.Query().Get("state")
			p := h.do(http.MethodGet, h.srv.URL+oidc.CallbackPath+"?"+url.Values{
				"state": {state}, "error": {tc.errCode}, "error_description": {"AADSTS50126: <b>nope</b>"},
			}.Encode())
			h.wantPage(p, http.StatusBadRequest, "en", "page_error", map[string]any{"Reason": h.cat.T("en", tc.reason)})
			if strings.Contains(p.body, "AADSTS") || strings.Contains(p.body, "<b>") {
				t.Errorf("the provider's description reached the page:\n%s", p.body)
			}
			if !strings.Contains(h.logs.String(), "AADSTS50126") {
				t.Error("the provider's description is not logged")
			}
			if n := len(h.tokenRequests()); n != 0 {
				t.Errorf("%d token requests, want 0", n)
			}
			// Used once: the real code with the same state is refused now.
			h.wantPage(h.do(http.MethodGet, cb.String()), http.StatusNotFound, "en", "page_unknown")
			if _, st := h.eng.Window(strings.TrimPrefix(link, h.srv.URL+"/r/")); st != resetflow.WindowOpen {
				t.Errorf("the window is %v after a provider error, want still open", st)
			}
		})
	}
}

func TestUnknownState(t *testing.T) {
	h := newHarness(t)
	p := h.do(http.MethodGet, h.srv.URL+oidc.CallbackPath+"?state=made-up&code=abc")
	h.wantPage(p, http.StatusNotFound, "en", "page_unknown")
	p = h.do(http.MethodGet, h.srv.URL+oidc.CallbackPath)
	h.wantPage(p, http.StatusNotFound, "en", "page_unknown")
	if n := len(h.tokenRequests()); n != 0 {
		t.Errorf("%d token requests, want 0", n)
	}
}

func TestProviderDown(t *testing.T) {
	h := newHarness(t, func(o *harnessOpts) { o.idpDown = true })
	if err := h.prov.Discover(); err == nil {
		t.Fatal("Discover succeeded with the provider down")
	}
	link := h.requestLink("en")
	h.wantPage(h.do(http.MethodGet, link), http.StatusOK, "en", "page_continue")
	h.wantPage(h.do(http.MethodPost, link), http.StatusServiceUnavailable, "en", "page_provider_down")

	// The provider comes up; the next press (after the retry pause) works.
	ln, err := net.Listen("tcp", h.idpLn.Addr().String())
	if err != nil {
		t.Skipf("cannot listen on the provider's port again: %v", err)
	}
	h.startIDP(ln)
	h.wantPage(h.do(http.MethodPost, link), http.StatusServiceUnavailable, "en", "page_provider_down") // remembered failure
	h.clk.Advance(11 * time.Second)
	cb := h.signIn(link, h.alice())
	h.wantPage(h.do(http.MethodGet, cb), http.StatusOK, "en", "page_success")
	if h.warnings() != 1 {
		t.Errorf("chat got %d warnings, want 1", h.warnings())
	}
}

func TestTokenEndpointDown(t *testing.T) {
	h := newHarness(t)
	cb := h.signIn(h.requestLink("en"), h.alice())
	if err := h.idp.Shutdown(); err != nil {
		t.Fatal(err)
	}
	h.wantPage(h.do(http.MethodGet, cb), http.StatusServiceUnavailable, "en", "page_provider_down")
	if h.warnings() != 0 {
		t.Error("chat got a warning")
	}
}

func TestUserClaimSubWithMatchByUPN(t *testing.T) {
	h := newHarness(t, func(o *harnessOpts) {
		o.matchBy = resetflow.MatchByUPN
		o.oidc.UserClaim = "sub"
	})
	u := h.alice()
	u.oid = "" // a provider without oid
	h.wantPage(h.do(http.MethodGet, h.signIn(h.requestLink("en"), u)), http.StatusOK, "en", "page_success")
	if h.warnings() != 1 {
		t.Errorf("chat got %d warnings, want 1", h.warnings())
	}
}

// TestSecurityHeaders checks the headers of every kind of page the sign-in serves.
func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	issuerOrigin := "http://" + h.idpLn.Addr().String()
	check := func(name string, p page, wantStatus int) {
		t.Helper()
		if p.status != wantStatus {
			t.Errorf("%s: status %d, want %d", name, p.status, wantStatus)
		}
		hd := p.header
		if got := hd.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q, want no-store", name, got)
		}
		if got := hd.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q, want no-referrer", name, got)
		}
		if got := hd.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", name, got)
		}
		csp := map[string]string{}
		for _, d := range strings.Split(hd.Get("Content-Security-Policy"), ";") {
			d = strings.TrimSpace(d)
			k, v, _ := strings.Cut(d, " ")
			csp[k] = v
		}
		for k, want := range map[string]string{
			"default-src": "'none'", "frame-ancestors": "'none'", "base-uri": "'none'",
			"form-action": "'self' " + issuerOrigin,
		} {
			if csp[k] != want {
				t.Errorf("%s: CSP %s %q, want %q (CSP %q)", name, k, csp[k], want, hd.Get("Content-Security-Policy"))
			}
		}
	}
	link := h.requestLink("en")
	check("landing", h.do(http.MethodGet, link), http.StatusOK)
	redirect := h.do(http.MethodPost, link)
	check("redirect to the provider", redirect, http.StatusSeeOther)
	first, err := url.Parse(redirect.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	// (A new Continue replaces a link's pending sign-in, so the error callback
	// comes before the next one.)
	check("error", h.do(http.MethodGet, h.srv.URL+oidc.CallbackPath+"?error=access_denied&state="+url.QueryEscape(first.Query().Get("state"))), http.StatusBadRequest)
	cb := h.signIn(link, h.alice())
	check("success", h.do(http.MethodGet, cb), http.StatusOK)
	check("used state", h.do(http.MethodGet, cb), http.StatusNotFound)
	check("unknown link", h.do(http.MethodGet, h.srv.URL+"/r/nope"), http.StatusNotFound)

	down := newHarness(t, func(o *harnessOpts) { o.idpDown = true })
	issuerOrigin = "http://" + down.idpLn.Addr().String()
	check("provider down", down.do(http.MethodPost, down.requestLink("en")), http.StatusServiceUnavailable)
}

func TestConfigValidate(t *testing.T) {
	ok := oidc.Config{Issuer: "https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v", ok, err)
	}
	d := ok.WithDefaults()
	if d.UserClaim != "oid" || !slices.Equal(d.Scopes, []string{"openid", "profile"}) || d.HTTPTimeout != 10*time.Second {
		t.Errorf("defaults: %+v", d)
	}
	for _, tc := range []struct {
		name string
		mod  func(*oidc.Config)
		key  string
	}{
		{"no issuer", func(c *oidc.Config) { c.Issuer = "" }, "oidc.issuer:"},
		{"http issuer", func(c *oidc.Config) { c.Issuer = "http://login.example.com/x" }, "oidc.issuer:"},
		{"not a URL", func(c *oidc.Config) { c.Issuer = "login.microsoftonline.com" }, "oidc.issuer:"},
		{"discovery URL", func(c *oidc.Config) { c.Issuer += "/.well-known/openid-configuration" }, "oidc.issuer:"},
		{"query", func(c *oidc.Config) { c.Issuer += "?x=1" }, "oidc.issuer:"},
		{"claim", func(c *oidc.Config) { c.UserClaim = "email" }, "oidc.user_claim:"},
		{"no openid", func(c *oidc.Config) { c.Scopes = []string{"profile"} }, "oidc.scopes:"},
		{"bad scope", func(c *oidc.Config) { c.Scopes = []string{"openid", "a b"} }, "oidc.scopes[1]:"},
		{"timeout", func(c *oidc.Config) { c.HTTPTimeout = time.Millisecond }, "oidc.http_timeout:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.key) {
				t.Errorf("Validate(%+v) = %v, want an error starting %q", c, err, tc.key)
			}
		})
	}
	loop := oidc.Config{Issuer: "http://127.0.0.1:5556/dex"}
	if err := loop.Validate(); err != nil {
		t.Errorf("a loopback http issuer (tests) is refused: %v", err)
	}
}

func TestNewNeedsCredentials(t *testing.T) {
	h := newHarness(t)
	cfg := oidc.Config{Issuer: "https://login.example.com/t/v2.0"}
	for _, tc := range []struct {
		id, secret, want string
	}{
		{"", "s", oidc.EnvClientID},
		{"c", "", oidc.EnvClientSecret},
	} {
		_, err := oidc.New(cfg, oidc.Options{ClientID: tc.id, ClientSecret: tc.secret, RedirectURL: "https://bot.example.com/oidc/callback", Windows: h.eng, Pages: nil})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New without %s = %v, want an error naming it", tc.want, err)
		}
	}
}

func TestCatalogsHaveReasons(t *testing.T) {
	for _, loc := range catalog.Locales {
		ids, err := catalog.IDs(loc)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{
			"page_reason_cancelled", "page_reason_provider_error", "page_reason_incomplete", "page_reason_not_confirmed",
			"page_reason_invalid_token", "page_reason_no_auth_time", "page_reason_no_user", "page_provider_down", "page_error_title",
		} {
			if !slices.Contains(ids, id) {
				t.Errorf("catalog %s lacks %s", loc, id)
			}
		}
	}
}
