package console_test

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
)

// client is a browser stand-in over plain HTTP: it keeps the console's cookies
// by hand (Go's cookie jar, rightly, sends no Secure cookie over http).
type client struct {
	t       *testing.T
	h       *harness
	cookies map[string]string
	origin  string // sent as Origin on POSTs; empty: our own
}

func (h *harness) client(t *testing.T) *client {
	return &client{t: t, h: h, cookies: map[string]string{}}
}

func (c *client) do(method, path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.h.url(path), body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		o := c.origin
		if o == "" {
			o = c.h.srv.URL
		}
		req.Header.Set("Origin", o)
	}
	for k, v := range c.cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return resp, string(b)
}

var (
	loginField = regexp.MustCompile(`name="login" value="([^"]+)"`)
	csrfField  = regexp.MustCompile(`name="csrf" value="([^"]+)"`)
)

// demoSignIn signs the client in as the demo helpdesk user and returns the CSRF token.
func (c *client) demoSignIn() string {
	c.t.Helper()
	_, page := c.do("GET", "/console/", nil)
	m := loginField.FindStringSubmatch(page)
	if m == nil {
		c.t.Fatalf("no demo sign-in form:\n%s", page)
	}
	resp, _ := c.do("POST", "/console/demo-signin", url.Values{"login": {m[1]}})
	if resp.StatusCode != 200 || c.cookies[console.SessionCookie] == "" {
		c.t.Fatalf("demo sign-in: %d, cookies %v", resp.StatusCode, c.cookies)
	}
	_, page = c.do("GET", "/console/alerts", nil)
	if m = csrfField.FindStringSubmatch(page); m == nil {
		c.t.Fatalf("no CSRF token on the alerts page")
	}
	return m[1]
}

func demo(o *harnessOpts) { o.demo = true }

// TestDemoSignIn: with reauth: local the console lets the demo helpdesk user
// in, named as such on every page, and records it.
func TestDemoSignIn(t *testing.T) {
	h := newHarness(t, demo)
	c := h.client(t)
	c.demoSignIn()
	_, page := c.do("GET", "/console/", nil)
	if !strings.Contains(page, console.DemoUser) || !strings.Contains(page, `id="demo-banner"`) {
		t.Errorf("the overview does not name the demo user loudly:\n%.500s", page)
	}
	if !h.hasConsoleEvent(console.DemoUser, "signin") {
		t.Errorf("the demo sign-in is not in the audit trail")
	}
	// Without the login token of the page, no session.
	c2 := h.client(t)
	c2.do("GET", "/console/", nil)
	if resp, _ := c2.do("POST", "/console/demo-signin", url.Values{"login": {"guess"}}); resp.StatusCode != http.StatusForbidden || c2.cookies[console.SessionCookie] != "" {
		t.Errorf("a demo sign-in without the page's token: %d", resp.StatusCode)
	}
}

// TestSecurityHeaders: every console page is no-store, with a strict CSP, not framed.
func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t, demo)
	c := h.client(t)
	c.demoSignIn()
	for _, path := range []string{"/console/", "/console/alerts", "/console/trail?person=alice@contoso.example", "/console/trail/export?format=csv&person=x", "/console/nope"} {
		resp, _ := c.do("GET", path, nil)
		if path == "/console/nope" {
			continue // the mux's 404
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", path, got)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "style-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("%s: CSP %q allows scripts or inline code", path, csp)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: framing or referrer allowed", path)
		}
	}
	resp, body := h.client(t).do("GET", "/console/alerts", nil)
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "alerts") && strings.Contains(body, "csrf") {
		t.Errorf("the alerts page without a session: %d", resp.StatusCode)
	}
}

// TestCSRF: a state-changing form without the session's token, or from another
// origin, is refused and changes nothing.
func TestCSRF(t *testing.T) {
	h := newHarness(t, demo)
	h.reset("slack", "U-bob", "bob@contoso.example", 2, "bob@contoso.example")
	al := h.alerts.All()[0]
	c := h.client(t)
	token := c.demoSignIn()
	for name, tc := range map[string]struct {
		form   url.Values
		origin string
	}{
		"no token":      {url.Values{}, ""},
		"wrong token":   {url.Values{"csrf": {token + "x"}}, ""},
		"other origin":  {url.Values{"csrf": {token}}, "https://evil.example"},
		"resolve no tk": {url.Values{"note": {"x"}}, ""},
	} {
		c.origin = tc.origin
		path := "/console/alerts/" + al.ID + "/take"
		if strings.HasPrefix(name, "resolve") {
			path = "/console/alerts/" + al.ID + "/resolve"
		}
		resp, body := c.do("POST", path, tc.form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, h.cat.T("en", "console_csrf")) {
			t.Errorf("%s: %d", name, resp.StatusCode)
		}
	}
	rows, _ := h.cs.Alerts(context.Background(), console.AlertFilter{ID: al.ID})
	if rows[0].TakenBy != "" || !rows[0].Open() {
		t.Fatalf("a refused form changed the alert: %+v", rows[0])
	}
	c.origin = ""
	if resp, _ := c.do("POST", "/console/alerts/"+al.ID+"/take", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("take with the token: %d", resp.StatusCode)
	}
	rows, _ = h.cs.Alerts(context.Background(), console.AlertFilter{ID: al.ID})
	if rows[0].TakenBy != console.DemoUser {
		t.Errorf("take with the token did not take: %+v", rows[0])
	}
	// Bad input: an unknown alert, a note too long; nothing changes.
	if resp, _ := c.do("POST", "/console/alerts/nope/take", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("take of an unknown alert: %d", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/console/alerts/"+al.ID+"/resolve", url.Values{"csrf": {token}, "note": {strings.Repeat("x", 1001)}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a note too long: %d", resp.StatusCode)
	}
	if rows, _ = h.cs.Alerts(context.Background(), console.AlertFilter{ID: al.ID}); !rows[0].Open() {
		t.Errorf("a refused resolve closed the alert")
	}
	if resp, _ := c.do("GET", "/console/?period=custom&from=2026-01-01&to=2025-01-01", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a backwards period: %d", resp.StatusCode)
	}
}

// TestIdleTimeout: a session unused for longer than the idle timeout is gone,
// on the injected clock; one in use stays.
func TestIdleTimeout(t *testing.T) {
	h := newHarness(t, demo, func(o *harnessOpts) { o.idle = 10 * time.Minute })
	c := h.client(t)
	c.demoSignIn()
	h.advance(9 * time.Minute)
	if resp, _ := c.do("GET", "/console/alerts", nil); resp.StatusCode != 200 {
		t.Fatalf("after 9 minutes: %d", resp.StatusCode)
	}
	h.advance(9 * time.Minute) // 18 minutes after sign-in, 9 after the last use
	if resp, _ := c.do("GET", "/console/alerts", nil); resp.StatusCode != 200 {
		t.Fatalf("9 minutes after the last use: %d", resp.StatusCode)
	}
	h.advance(10*time.Minute + time.Second)
	resp, body := c.do("GET", "/console/alerts", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, h.cat.T("en", "console_session_expired")) {
		t.Errorf("after the idle timeout: %d", resp.StatusCode)
	}
	if c.cookies[console.SessionCookie] != "" {
		t.Errorf("the expired session's cookie was not cleared")
	}
}

// TestConfigValidate names the key that is wrong.
func TestConfigValidate(t *testing.T) {
	ok := console.Config{Enabled: true, Listener: "public", IdleTimeout: 15 * time.Minute, AllowedGroups: []string{"g"}}
	if err := ok.Validate(true); err != nil {
		t.Fatal(err)
	}
	for want, c := range map[string]console.Config{
		"console.listener:":      {Enabled: true, Listener: "both", IdleTimeout: time.Hour, AllowedGroups: []string{"g"}},
		"console.idle_timeout:":  {Enabled: true, Listener: "admin", IdleTimeout: 10 * time.Second, AllowedGroups: []string{"g"}},
		"console.allowed_groups": {Enabled: true, Listener: "admin", IdleTimeout: time.Hour},
		"console.redirect_uri:":  {Enabled: true, Listener: "admin", IdleTimeout: time.Hour, AllowedRoles: []string{"r"}, RedirectURI: "https://bot.example.com/oidc/callback"},
	} {
		if err := c.Validate(true); err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%+v: %v; want an error naming %s", c, err, want)
		}
	}
	if err := (console.Config{Enabled: true, Listener: "public", IdleTimeout: time.Hour}).Validate(false); err != nil {
		t.Errorf("the demo needs no group: %v", err)
	}
}

// TestFailedSignIn: a provider callback that is not ours (unknown state) or an
// error from the provider opens no session and is in the audit trail.
func TestFailedSignIn(t *testing.T) {
	h := newHarness(t)
	c := h.client(t)
	for _, q := range []string{"?state=forged&code=x", "?error=access_denied&state=forged"} {
		resp, body := c.do("GET", console.CallbackPath+q, nil)
		if resp.StatusCode < 400 || resp.StatusCode > 401 || !strings.Contains(body, template.HTMLEscapeString(h.cat.T("en", "console_signin_failed"))) || c.cookies[console.SessionCookie] != "" {
			t.Errorf("%s: %d, cookies %v", q, resp.StatusCode, c.cookies)
		}
	}
	n := 0
	for _, e := range h.consoleEvents() {
		if e.Outcome == "failed_signin" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d failed sign-ins audited, want 2", n)
	}
}
