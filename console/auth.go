package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Cookie names. __Host-: only over HTTPS (Chromium also takes Secure cookies
// from http://localhost and 127.0.0.1, which the tests use), Path=/, no Domain.
const (
	SessionCookie = "__Host-passcodebot-console"
	loginCookie   = "__Host-passcodebot-console-login"
)

// DemoUser is who the demo sign-in lets in: loudly not a real person.
const DemoUser = "DEMO-HELPDESK (not a real account)"

// maxSessionAge bounds a session however active it is.
const maxSessionAge = 8 * time.Hour

// Identity is the signed-in helpdesk member.
type Identity struct {
	Name    string
	UPN     string
	Subject string
	Demo    bool
}

// Who is how the audit trail names the member.
func (i Identity) Who() string {
	if i.UPN != "" {
		return i.UPN
	}
	return i.Name
}

type session struct {
	id      string
	who     Identity
	csrf    string
	locale  string
	created time.Time
	last    time.Time
}

// sessions live in memory: a restart signs everyone out, which a short idle
// timeout makes cheap.
type sessions struct {
	clk  clock.Clock
	idle time.Duration
	mu   sync.Mutex
	m    map[string]*session
}

func newSessions(clk clock.Clock, idle time.Duration) *sessions {
	return &sessions{clk: clk, idle: idle, m: map[string]*session{}}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// key is how a session id is kept: hashed, so a memory dump lists no cookie.
func key(id string) string {
	h := sha256.Sum256([]byte(id))
	return string(h[:])
}

func (s *sessions) create(who Identity, locale string) (string, *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	for k, ss := range s.m {
		if now.Sub(ss.last) > s.idle || now.Sub(ss.created) > maxSessionAge {
			delete(s.m, k)
		}
	}
	id := randomToken()
	ss := &session{id: key(id), who: who, csrf: randomToken(), locale: locale, created: now, last: now}
	s.m[ss.id] = ss
	return id, ss
}

// get returns the live session of the cookie value and marks it used;
// expired reports a session that timed out (and is now gone).
func (s *sessions) get(id string) (ss *session, expired bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss = s.m[key(id)]
	if ss == nil {
		return nil, false
	}
	now := s.clk.Now()
	if now.Sub(ss.last) > s.idle || now.Sub(ss.created) > maxSessionAge {
		delete(s.m, ss.id)
		return nil, true
	}
	ss.last = now
	return ss, false
}

func (s *sessions) end(ss *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, ss.id)
}

func (s *sessions) setLocale(ss *session, l string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss.locale = l
}

func setCookie(w http.ResponseWriter, name, value string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: true, SameSite: sameSite})
}

// member serves h to a signed-in member only; state-changing requests must
// carry the session's CSRF token and come from our own origin.
func (s *Server) member(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var ss *session
		expired := false
		if c, err := r.Cookie(SessionCookie); err == nil {
			ss, expired = s.sessions.get(c.Value)
		}
		if ss == nil {
			if expired {
				setCookie(w, SessionCookie, "", -1, http.SameSiteStrictMode)
			}
			s.signinPage(w, r, expired)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(ss.csrf)) != 1 {
				s.fail(w, r, ss, http.StatusForbidden, "console_csrf")
				return
			}
		}
		h(w, r, ss)
	}
}

// sameOrigin refuses a request a browser says came from another site.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		return err == nil && u.Host == r.Host
	}
	return true
}

type signinData struct {
	Expired bool
	OIDC    bool
	Demo    bool
	Token   string // the demo form's login token
	Error   string
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request, expired bool) {
	d := signinData{Expired: expired, OIDC: s.o.OIDC != nil, Demo: s.o.Demo}
	if s.o.Demo {
		d.Token = randomToken()
		setCookie(w, loginCookie, d.Token, 600, http.SameSiteStrictMode)
	}
	loc := s.locale(r, nil)
	s.render(w, r, nil, view{Lang: loc, Page: "signin", Title: s.o.Catalog.T(loc, "console_signin_title"), Status: http.StatusUnauthorized, Data: d})
}

// demoSignin lets the demo helpdesk user in (reauth: local only).
func (s *Server) demoSignin(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(loginCookie)
	if !s.o.Demo || !sameOrigin(r) || err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(r.PostFormValue("login")), []byte(c.Value)) != 1 {
		s.fail(w, r, nil, http.StatusForbidden, "console_csrf")
		return
	}
	s.start(w, r, Identity{Name: DemoUser, Demo: true}, "demo")
}

// start opens a session after a successful sign-in.
func (s *Server) start(w http.ResponseWriter, r *http.Request, who Identity, how string) {
	if s.audit(r.Context(), who.Who(), "signin", "via="+how) != nil {
		s.fail(w, r, nil, http.StatusServiceUnavailable, "console_audit_down")
		return
	}
	id, _ := s.sessions.create(who, s.locale(r, nil))
	setCookie(w, loginCookie, "", -1, http.SameSiteLaxMode)
	setCookie(w, SessionCookie, id, 0, http.SameSiteStrictMode)
	s.o.Log.Info("console: signed in", "who", who.Who(), "via", how)
	// A page that moves on by itself rather than a redirect: after the
	// provider's cross-site redirect a SameSite=Strict cookie is only sent on a
	// navigation our own page starts.
	loc := s.locale(r, nil)
	s.render(w, r, nil, view{Lang: loc, Page: "continue", Title: s.o.Catalog.T(loc, "console_title")})
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, ss *session) {
	s.audit(r.Context(), ss.who.Who(), "signout", "")
	s.sessions.end(ss)
	setCookie(w, SessionCookie, "", -1, http.SameSiteStrictMode)
	s.signinPage(w, r, false)
}

// OIDC signs helpdesk members in with the company's provider, on the
// console's own redirect URI: code flow with PKCE, state, nonce.
type OIDC struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string
	HTTPClient   *http.Client
	Groups       []string // allowed group ids (groups claim)
	Roles        []string // allowed app roles (roles claim)

	mu       sync.Mutex
	oauth    *oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func (o *OIDC) discover(ctx context.Context, now func() time.Time) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.oauth != nil {
		return o.oauth, o.verifier, nil
	}
	if o.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, o.HTTPClient)
	}
	p, err := oidc.NewProvider(ctx, o.Issuer)
	if err != nil {
		return nil, nil, err
	}
	scopes := o.Scopes
	if len(scopes) == 0 {
		scopes = []string{oidc.ScopeOpenID, "profile"}
	}
	o.oauth = &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL, Endpoint: p.Endpoint(), Scopes: scopes}
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.ClientID, Now: now})
	return o.oauth, o.verifier, nil
}

// pendingLogins are sign-ins sent to the provider and not back yet.
type pendingLogins struct {
	clk clock.Clock
	mu  sync.Mutex
	m   map[string]pendingLogin
}

type pendingLogin struct {
	verifier, nonce, browser, locale string
	expires                          time.Time
}

const maxPendingLogins = 10000

func newPendingLogins(clk clock.Clock) *pendingLogins {
	return &pendingLogins{clk: clk, m: map[string]pendingLogin{}}
}

func (p *pendingLogins) put(state string, pl pendingLogin) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clk.Now()
	for k, v := range p.m {
		if now.After(v.expires) {
			delete(p.m, k)
		}
	}
	if len(p.m) >= maxPendingLogins {
		return false
	}
	p.m[state] = pl
	return true
}

func (p *pendingLogins) take(state string) (pendingLogin, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.m[state]
	delete(p.m, state)
	if !ok || p.clk.Now().After(pl.expires) {
		return pendingLogin{}, false
	}
	return pl, true
}

// signin sends the browser to the provider.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	if s.o.OIDC == nil {
		s.signinPage(w, r, false)
		return
	}
	oc, _, err := s.o.OIDC.discover(r.Context(), s.o.Clock.Now)
	if err != nil {
		s.o.Log.Warn("console: the identity provider can't be reached", "err", err)
		s.fail(w, r, nil, http.StatusBadGateway, "console_provider_down")
		return
	}
	state, nonce, verifier, browser := randomToken(), randomToken(), oauth2.GenerateVerifier(), randomToken()
	if !s.pending.put(state, pendingLogin{verifier: verifier, nonce: nonce, browser: browser, locale: s.locale(r, nil), expires: s.o.Clock.Now().Add(10 * time.Minute)}) {
		s.fail(w, r, nil, http.StatusServiceUnavailable, "console_busy")
		return
	}
	// Lax: the provider's redirect back is a cross-site navigation.
	setCookie(w, loginCookie, browser, 600, http.SameSiteLaxMode)
	s.headers(w)
	http.Redirect(w, r, oc.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce)), http.StatusSeeOther)
}

type consoleClaims struct {
	Nonce             string   `json:"nonce"`
	Name              string   `json:"name"`
	PreferredUsername string   `json:"preferred_username"`
	Email             string   `json:"email"`
	OID               string   `json:"oid"`
	Groups            []string `json:"groups"`
	Roles             []string `json:"roles"`
}

// callback takes the provider's answer, checks the ID token and the member's
// groups and roles, and opens a session.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pl, ok := s.pending.take(q.Get("state"))
	c, cerr := r.Cookie(loginCookie)
	if !ok || cerr != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(pl.browser)) != 1 {
		s.failedSignin(w, r, http.StatusBadRequest, "unknown or used state, or another browser")
		return
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		s.failedSignin(w, r, http.StatusUnauthorized, "provider error "+clipASCII(q.Get("error"), 64))
		return
	}
	ctx := r.Context()
	if s.o.OIDC.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, s.o.OIDC.HTTPClient)
	}
	oc, verifier, err := s.o.OIDC.discover(ctx, s.o.Clock.Now)
	if err != nil {
		s.fail(w, r, nil, http.StatusBadGateway, "console_provider_down")
		return
	}
	tok, err := oc.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pl.verifier))
	if err != nil {
		s.o.Log.Warn("console: code exchange failed", "err", err)
		s.failedSignin(w, r, http.StatusUnauthorized, "code exchange failed")
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, raw)
	if err != nil {
		s.o.Log.Warn("console: ID token refused", "err", err)
		s.failedSignin(w, r, http.StatusUnauthorized, "ID token refused")
		return
	}
	var cl consoleClaims
	if err := idt.Claims(&cl); err != nil || subtle.ConstantTimeCompare([]byte(cl.Nonce), []byte(pl.nonce)) != 1 {
		s.failedSignin(w, r, http.StatusUnauthorized, "nonce mismatch")
		return
	}
	who := Identity{Name: cl.Name, UPN: cl.PreferredUsername, Subject: cl.OID}
	if who.UPN == "" {
		who.UPN = cl.Email
	}
	if who.Subject == "" {
		who.Subject = idt.Subject
	}
	if who.UPN == "" {
		who.UPN = who.Subject
	}
	if !allowed(cl.Groups, s.o.OIDC.Groups) && !allowed(cl.Roles, s.o.OIDC.Roles) {
		s.audit(r.Context(), who.Who(), "not_member", fmt.Sprintf("groups=%d roles=%s", len(cl.Groups), strings.Join(cl.Roles, ",")))
		s.o.Log.Warn("console: sign-in refused: not in an allowed group or role", "who", who.Who())
		setCookie(w, loginCookie, "", -1, http.SameSiteLaxMode)
		loc := pl.locale
		s.render(w, r, nil, view{Lang: loc, Page: "message", Title: s.o.Catalog.T(loc, "console_title"), Status: http.StatusForbidden,
			Message: s.o.Catalog.T(loc, "console_not_member", map[string]any{"User": who.Who()})})
		return
	}
	s.start(w, r, who, "oidc")
}

// failedSignin records a sign-in that did not complete and says so.
func (s *Server) failedSignin(w http.ResponseWriter, r *http.Request, code int, reason string) {
	s.audit(r.Context(), "", "failed_signin", reason)
	s.fail(w, r, nil, code, "console_signin_failed")
}

// clipASCII keeps a provider's error code printable and short.
func clipASCII(v string, n int) string {
	out := make([]byte, 0, n)
	for i := 0; i < len(v) && len(out) < n; i++ {
		if c := v[i]; c > ' ' && c < 0x7f {
			out = append(out, c)
		}
	}
	return string(out)
}

func allowed(have, want []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}
