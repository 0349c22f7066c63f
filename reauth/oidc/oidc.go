// Package oidc signs the device owner in again with the company's OpenID
// Connect provider (Entra ID): authorization code with PKCE, a fresh login
// (prompt=login, max_age), and an ID token whose signature, issuer, audience,
// expiry, nonce and auth_time are checked before the engine hears who signed in.
//
// The engine then decides: window open and unused, auth_time fresh and not
// before the link, tenant, and the signer is the device owner. This package
// never logs or renders a token, code, state, nonce or verifier.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/patrickmn/go-cache"
	"golang.org/x/oauth2"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/resetflow"
)

// CallbackPath is where the provider sends the browser back; the redirect URI
// registered with the provider is the public URL + CallbackPath.
const CallbackPath = "/oidc/callback"

// Environment variables that hold the client credentials.
const (
	EnvClientID     = "PASSCODEBOT_OIDC_CLIENT_ID"
	EnvClientSecret = "PASSCODEBOT_OIDC_CLIENT_SECRET"
)

// retryAfter is how long a failed discovery is remembered before the next
// sign-in tries the provider again.
const retryAfter = 10 * time.Second

// maxPending bounds the sign-ins begun and not finished, to bound memory.
// Each sign-in link holds at most one (pressing Continue again replaces it),
// so only as many people as there are open links can fill it.
const maxPending = 10000

// Cookie names binding a sign-in to the browser that pressed Continue. The
// __Host- prefix (Secure, Path=/, no Domain: no other host can set it) needs
// https; on a plain-http public URL (loopback demos and tests) the cookie goes
// without the prefix and without Secure.
const (
	BrowserCookie         = "__Host-passcodebot-signin"
	BrowserCookieInsecure = "passcodebot-signin"
)

// Options are what the provider needs besides its Config.
type Options struct {
	ClientID     string // from EnvClientID
	ClientSecret string // from EnvClientSecret
	RedirectURL  string // public URL + CallbackPath
	Windows      reauth.Windows
	Pages        *reauth.Pages
	Clock        clock.Clock  // default: the wall clock
	Log          *slog.Logger // default: discard
	// MaxAge is sent as max_age: how long ago the person may have entered
	// their credentials. Default 5 minutes. The engine checks auth_time itself.
	MaxAge time.Duration
	// HTTPClient replaces the client built from Config.HTTPTimeout.
	HTTPClient *http.Client
	// MaxPending bounds the sign-ins begun and not finished (default 10000).
	MaxPending int
}

// Provider is a reauth.Provider for an OpenID Connect identity provider.
type Provider struct {
	cfg    Config
	o      Options
	client *http.Client
	log    *slog.Logger

	mu       sync.Mutex // guards discovery
	disc     *discovered
	lastFail time.Time
	lastErr  error

	pendMu   sync.Mutex // makes take atomic; guards byToken and the warnings
	pending  *cache.Cache
	byToken  map[string]string // window token -> its one pending state
	fullWarn time.Time         // when "too many sign-ins" was last logged
	fullN    int               // refusals since
	secure   bool              // the redirect URL is https: __Host- cookie, Secure
}

var _ reauth.Provider = (*Provider)(nil)

type discovered struct {
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

// pending is a sign-in begun with Begin, stored under its state.
type pending struct {
	token    string // the window's token
	verifier string // PKCE code verifier
	nonce    string
	issued   time.Time
	deadline time.Time // the window's
	locale   string
	owner    string // the device owner's UPN, for logs
	browser  string // the value of the browser's cookie when it pressed Continue
}

// New returns a provider. It does not contact the identity provider: discovery
// happens on first use (or Discover), and is retried while it fails, so a
// provider that is down at start does not stop the bot.
func New(cfg Config, o Options) (*Provider, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case o.ClientID == "":
		return nil, fmt.Errorf("%s: not set (the client id of the app registration)", EnvClientID)
	case o.ClientSecret == "":
		return nil, fmt.Errorf("%s: not set (a client secret of the app registration)", EnvClientSecret)
	case o.RedirectURL == "":
		return nil, errors.New("oidc: redirect URL is empty")
	case o.Windows == nil || o.Pages == nil:
		return nil, errors.New("oidc: windows and pages are required")
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 5 * time.Minute
	}
	if o.MaxPending <= 0 {
		o.MaxPending = maxPending
	}
	client := o.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: cfg.HTTPTimeout}
	}
	return &Provider{
		cfg: cfg, o: o, client: client, log: o.Log,
		// Deadlines are checked with the injected clock; the cache's own
		// expiry only frees memory.
		pending: cache.New(10*time.Minute, time.Minute),
		byToken: map[string]string{},
		secure:  strings.HasPrefix(strings.ToLower(o.RedirectURL), "https://"),
	}, nil
}

// FormOrigins is the issuer's origin: the landing page's form is answered
// with a redirect there, which the Content-Security-Policy must allow.
func (p *Provider) FormOrigins() []string { return []string{origin(p.cfg.Issuer)} }

// Register mounts the callback.
func (p *Provider) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+CallbackPath, p.callback)
}

// Discover fetches the provider's discovery document now, if it has not been
// fetched yet. The bot calls it at start to warn early; sign-ins call it too.
func (p *Provider) Discover() error {
	_, err := p.discover()
	return err
}

func (p *Provider) discover() (*discovered, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.disc != nil {
		return p.disc, nil
	}
	now := p.o.Clock.Now()
	if p.lastErr != nil && now.Sub(p.lastFail) < retryAfter && !now.Before(p.lastFail) {
		return nil, p.lastErr
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.Background(), p.client), p.cfg.HTTPTimeout)
	defer cancel()
	prov, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		p.lastFail, p.lastErr = now, fmt.Errorf("discovery of %s: %s", p.cfg.Issuer, short(err.Error(), 300))
		return nil, p.lastErr
	}
	var meta struct {
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		PKCE        []string `json:"code_challenge_methods_supported"`
	}
	_ = prov.Claims(&meta)
	ep := prov.Endpoint()
	if slices.Contains(meta.AuthMethods, "client_secret_post") {
		// Entra ID accepts both; the form avoids the URL-encoding pitfalls
		// of secrets in a Basic header, and a failed first try.
		ep.AuthStyle = oauth2.AuthStyleInParams
	}
	if len(meta.PKCE) > 0 && !slices.Contains(meta.PKCE, "S256") {
		p.log.Warn("oidc: the provider does not list PKCE S256; sign-ins may fail", "issuer", p.cfg.Issuer)
	}
	if o := origin(ep.AuthURL); o != origin(p.cfg.Issuer) {
		p.log.Warn("oidc: the authorization endpoint is on another origin than the issuer; the pages' Content-Security-Policy (form-action) will block the redirect", "issuer", p.cfg.Issuer, "authorization_endpoint", o)
	}
	p.disc = &discovered{
		oauth: oauth2.Config{
			ClientID: p.o.ClientID, ClientSecret: p.o.ClientSecret,
			Endpoint: ep, RedirectURL: p.o.RedirectURL, Scopes: p.cfg.Scopes,
		},
		verifier: prov.Verifier(&oidc.Config{ClientID: p.o.ClientID, Now: p.o.Clock.Now}),
	}
	p.lastErr = nil
	p.log.Info("oidc: provider discovered", "issuer", p.cfg.Issuer)
	return p.disc, nil
}

// Begin sends the browser to the provider's sign-in, for the device owner.
func (p *Provider) Begin(w http.ResponseWriter, r *http.Request, token string, info resetflow.WindowInfo) {
	d, err := p.discover()
	if err != nil {
		p.log.Warn("oidc: the identity provider can't be reached", "err", err)
		p.o.Pages.Message(w, info.Locale, http.StatusServiceUnavailable, "page_error_title", "page_provider_down")
		return
	}
	now := p.o.Clock.Now()
	// The browser's id: kept if it has one already (several sign-ins in one
	// browser), else new. Another browser cannot set it for our host.
	browser := ""
	if ck, err := r.Cookie(p.cookieName()); err == nil && len(ck.Value) == 43 {
		browser = ck.Value
	} else {
		browser = random()
	}
	pd := &pending{
		token: token, verifier: oauth2.GenerateVerifier(), nonce: random(),
		issued: now, deadline: info.Expires, locale: info.Locale, owner: info.UserUPN, browser: browser,
	}
	state := random()
	first, ok := p.put(state, pd)
	if !ok {
		p.o.Pages.Message(w, info.Locale, http.StatusServiceUnavailable, "page_error_title", "page_provider_down")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: p.cookieName(), Value: browser, Path: "/", MaxAge: int(time.Hour / time.Second),
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode,
	})
	opts := []oauth2.AuthCodeOption{
		oidc.Nonce(pd.nonce),
		oauth2.S256ChallengeOption(pd.verifier),
		oauth2.SetAuthURLParam("prompt", "login"),
		oauth2.SetAuthURLParam("max_age", strconv.Itoa(int(p.o.MaxAge/time.Second))),
	}
	if info.UserUPN != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", info.UserUPN))
	}
	if first {
		// Once per link: pressing Continue again replaces the sign-in quietly.
		p.log.Info("oidc: sign-in begun", "owner", info.UserUPN, "device", info.DeviceName, "linking", info.Linking)
	}
	p.o.Pages.SecurityHeaders(w)
	http.Redirect(w, r, d.oauth.AuthCodeURL(state, opts...), http.StatusSeeOther)
}

func (p *Provider) cookieName() string {
	if p.secure {
		return BrowserCookie
	}
	return BrowserCookieInsecure
}

// put stores a sign-in under its state. A link holds one pending sign-in: a new
// one replaces the link's previous one, so one person pressing Continue over
// and over never fills the table for others. first reports a link's first.
func (p *Provider) put(state string, pd *pending) (first, ok bool) {
	p.pendMu.Lock()
	defer p.pendMu.Unlock()
	old, had := p.byToken[pd.token]
	if had {
		p.pending.Delete(old)
	}
	if p.pending.ItemCount() >= p.o.MaxPending {
		p.pending.DeleteExpired()
		for tok, st := range p.byToken {
			if _, live := p.pending.Get(st); !live {
				delete(p.byToken, tok)
			}
		}
		if p.pending.ItemCount() >= p.o.MaxPending {
			p.fullN++
			if now := p.o.Clock.Now(); p.fullWarn.IsZero() || now.Sub(p.fullWarn) >= time.Minute || now.Before(p.fullWarn) {
				p.log.Warn("oidc: too many sign-ins in progress; refusing new ones", "max", p.o.MaxPending, "refused", p.fullN, "window", "1m")
				p.fullWarn, p.fullN = now, 0
			}
			delete(p.byToken, pd.token)
			return false, false
		}
	}
	ttl := pd.deadline.Sub(pd.issued) + time.Minute
	if ttl < time.Minute || ttl > time.Hour {
		ttl = 10 * time.Minute
	}
	p.pending.Set(state, pd, ttl)
	p.byToken[pd.token] = state
	return !had, true
}

// take returns the sign-in stored under state and forgets it: a state works once.
func (p *Provider) take(state string) *pending {
	if state == "" {
		return nil
	}
	p.pendMu.Lock()
	defer p.pendMu.Unlock()
	v, ok := p.pending.Get(state)
	if !ok {
		return nil
	}
	p.pending.Delete(state)
	pd := v.(*pending)
	if p.byToken[pd.token] == state {
		delete(p.byToken, pd.token)
	}
	return pd
}

// Reasons shown on the error page, as catalog ids.
const (
	reasonCancelled     = "page_reason_cancelled"
	reasonProviderError = "page_reason_provider_error"
	reasonIncomplete    = "page_reason_incomplete"
	reasonNotConfirmed  = "page_reason_not_confirmed"
	reasonInvalidToken  = "page_reason_invalid_token"
	reasonNoAuthTime    = "page_reason_no_auth_time"
	reasonNoUser        = "page_reason_no_user"
)

// idClaims are the claims read beyond go-oidc's standard ones.
type idClaims struct {
	OID               string `json:"oid"`
	TID               string `json:"tid"`
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
	AuthTime          any    `json:"auth_time"`
}

func (p *Provider) callback(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// A HEAD (a prefetch, a checker) must not use up the state.
		p.o.Pages.SecurityHeaders(w)
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	pd := p.take(q.Get("state"))
	if pd == nil {
		p.log.Info("oidc: callback refused: unknown or used state")
		p.o.Pages.Status(w, p.requestLocale(r), resetflow.SignInUnknown)
		return
	}
	loc := pd.locale
	log := p.log.With("owner", pd.owner)
	// The callback must come from the browser that pressed Continue: an
	// authorize URL forwarded to someone else comes back without its cookie.
	// The state is used up, and so is the link, so a callback URL sent back to
	// the first browser cannot finish it either.
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
	if ck, err := r.Cookie(p.cookieName()); err != nil || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(pd.browser)) != 1 {
		log.Warn("oidc: callback refused: it came from another browser than the one that began the sign-in", "had_cookie", err == nil)
		res := resetflow.SignInResult{Status: resetflow.SignInOtherBrowser, Locale: loc}
		if rf, ok := p.o.Windows.(reauth.Refuser); ok {
			res = rf.RefuseSignIn(context.WithoutCancel(r.Context()), pd.token, "callback_from_another_browser")
		}
		p.o.Pages.Status(w, loc, res.Status)
		return
	}
	fail := func(code int, reason, why string, args ...any) {
		log.Warn("oidc: sign-in refused: "+why, args...)
		p.o.Pages.Error(w, loc, code, p.o.Pages.Catalog.T(loc, reason))
	}
	if p.o.Clock.Now().After(pd.deadline) {
		log.Info("oidc: callback after the link's deadline")
		p.o.Pages.Status(w, loc, resetflow.SignInExpired)
		return
	}
	if e := q.Get("error"); e != "" {
		reason := reasonProviderError
		if e == "access_denied" {
			reason = reasonCancelled
		}
		fail(http.StatusBadRequest, reason, "the provider answered with an error",
			"error", safeCode(e), "error_description", short(q.Get("error_description"), 300))
		return
	}
	code := q.Get("code")
	if code == "" {
		fail(http.StatusBadRequest, reasonIncomplete, "no code in the callback")
		return
	}
	d, err := p.discover()
	if err != nil {
		log.Warn("oidc: the identity provider can't be reached", "err", err)
		p.o.Pages.Message(w, loc, http.StatusServiceUnavailable, "page_error_title", "page_provider_down")
		return
	}
	ctx := oidc.ClientContext(r.Context(), p.client)
	tok, err := d.oauth.Exchange(ctx, code, oauth2.VerifierOption(pd.verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		var ne net.Error
		var ue *url.Error
		switch {
		case errors.As(err, &re):
			// Not re.Error(): the body may echo the code.
			status := 0
			if re.Response != nil {
				status = re.Response.StatusCode
			}
			fail(http.StatusBadGateway, reasonNotConfirmed, "the code exchange was refused", "status", status, "error", safeCode(re.ErrorCode))
		case errors.As(err, &ne), errors.As(err, &ue):
			log.Warn("oidc: the token endpoint can't be reached", "err", short(err.Error(), 300))
			p.o.Pages.Message(w, loc, http.StatusServiceUnavailable, "page_error_title", "page_provider_down")
		default:
			fail(http.StatusBadGateway, reasonNotConfirmed, "the code exchange failed", "err", short(err.Error(), 200))
		}
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		fail(http.StatusBadGateway, reasonInvalidToken, "the token response has no id_token")
		return
	}
	idt, err := d.verifier.Verify(ctx, raw)
	if err != nil {
		fail(http.StatusBadGateway, reasonInvalidToken, "the ID token did not verify", "err", short(err.Error(), 300))
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(pd.nonce)) != 1 {
		fail(http.StatusBadGateway, reasonInvalidToken, "the ID token's nonce is not ours")
		return
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		fail(http.StatusBadGateway, reasonInvalidToken, "the ID token's claims are unreadable", "err", short(err.Error(), 200))
		return
	}
	authTime, ok := parseAuthTime(c.AuthTime)
	if !ok {
		fail(http.StatusBadGateway, reasonNoAuthTime, "the ID token has no auth_time (add the optional claim auth_time to the app registration's ID token)")
		return
	}
	who := resetflow.Identity{Subject: c.OID, UPN: c.UPN, TenantID: c.TID, AuthTime: authTime}
	if p.cfg.UserClaim == "sub" {
		who.Subject = idt.Subject
	}
	if who.UPN == "" {
		who.UPN = c.PreferredUsername
	}
	if who.Subject == "" {
		fail(http.StatusBadGateway, reasonNoUser, "the ID token has no "+p.cfg.UserClaim+" claim")
		return
	}
	// The browser may leave; the chat must still hear the outcome.
	res := p.o.Windows.CompleteSignIn(context.WithoutCancel(r.Context()), pd.token, who)
	log.Info("oidc: sign-in checked by the engine", "result", statusName(res.Status), "signed_in_as", who.UPN, "tid", who.TenantID,
		"auth_time", authTime.UTC().Format(time.RFC3339))
	p.o.Pages.Result(w, res)
}

// parseAuthTime reads auth_time: seconds since the epoch, as a JSON number (or,
// leniently, a string of digits). Missing, zero or absurd values are not ok.
func parseAuthTime(v any) (time.Time, bool) {
	var secs float64
	switch t := v.(type) {
	case float64:
		secs = t
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return time.Time{}, false
		}
		secs = f
	case string:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return time.Time{}, false
		}
		secs = f
	default:
		return time.Time{}, false
	}
	if math.IsNaN(secs) || secs <= 0 || secs > 1e11 {
		return time.Time{}, false
	}
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(frac*1e9)), true
}

func (p *Provider) requestLocale(r *http.Request) string {
	al := r.Header.Get("Accept-Language")
	if i := strings.IndexAny(al, ",;"); i >= 0 {
		al = al[:i]
	}
	return p.o.Pages.Catalog.Normalize(al)
}

func statusName(s resetflow.SignInStatus) string {
	switch s {
	case resetflow.SignInUnset:
		return "unset"
	case resetflow.SignInOK:
		return "ok"
	case resetflow.SignInUnknown:
		return "unknown_window"
	case resetflow.SignInExpired:
		return "expired"
	case resetflow.SignInStale:
		return "stale"
	case resetflow.SignInWrongPerson:
		return "wrong_person"
	case resetflow.SignInPairing:
		return "pairing"
	case resetflow.SignInNotFound:
		return "not_found"
	case resetflow.SignInOtherBrowser:
		return "other_browser"
	}
	return strconv.Itoa(int(s))
}

// random is 256 bits from crypto/rand, base64url.
func random() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand panics instead)
	return base64.RawURLEncoding.EncodeToString(b)
}

// safeCode keeps an OAuth error code loggable: letters, digits and _.- only.
func safeCode(s string) string {
	s = short(s, 64)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '-':
			return r
		}
		return '?'
	}, s)
}

func short(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
