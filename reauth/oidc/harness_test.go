package oidc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/oidc"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// The demo fleet's people.
const (
	aliceID  = "8f1c2a6e-0001-4c1a-9a11-a11ce0000001"
	aliceUPN = "alice@contoso.example"
	bobID    = "8f1c2a6e-0002-4c1a-9a11-b0b000000002"
	bobUPN   = "bob@contoso.example"
	ourTID   = "11111111-2222-3333-4444-555555555555"
)

// entraUser is a mockoidc user whose ID token looks like Entra ID's: oid, tid,
// preferred_username and, when set, auth_time (an optional claim there).
type entraUser struct {
	sub, oid, tid, upn string
	authTime           *int64  // seconds since the epoch; nil: no claim
	nonce              *string // replaces the nonce the client sent
}

func (u *entraUser) ID() string { return u.sub }

func (u *entraUser) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]string{"sub": u.sub, "preferred_username": u.upn})
}

type entraClaims struct {
	*mockoidc.IDTokenClaims
	OID               string `json:"oid,omitempty"`
	TID               string `json:"tid,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	AuthTime          *int64 `json:"auth_time,omitempty"`
}

func (u *entraUser) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if u.nonce != nil {
		base.Nonce = *u.nonce
	}
	return &entraClaims{IDTokenClaims: base, OID: u.oid, TID: u.tid, PreferredUsername: u.upn, AuthTime: u.authTime}, nil
}

func unix(t time.Time) *int64 { s := t.Unix(); return &s }

// alice signs in now (on the harness clock).
func (h *harness) alice() *entraUser {
	return &entraUser{sub: "pairwise-alice", oid: aliceID, tid: ourTID, upn: aliceUPN, authTime: unix(h.clk.Now())}
}

type messenger struct {
	mu   sync.Mutex
	msgs []resetflow.Message
}

func (m *messenger) Send(_ context.Context, _ resetflow.Address, msg resetflow.Message) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.msgs = append(m.msgs, msg)
	return nil
}

func (m *messenger) all() []resetflow.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]resetflow.Message(nil), m.msgs...)
}

// lockedBuffer is a log destination the test reads while the code writes.
type lockedBuffer = resetflowtest.Buffer

// harness is the real engine (demo fleet, fake clock), the real sign-in server
// on httptest with the OIDC provider, and mockoidc on loopback.
type harness struct {
	t      *testing.T
	clk    *clock.Fake
	cat    *catalog.Catalog
	eng    *resetflow.Engine
	chat   *messenger
	alerts *resetflowtest.Alerts
	logs   *lockedBuffer
	idp    *mockoidc.MockOIDC
	idpLn  net.Listener
	srv    *httptest.Server
	prov   *oidc.Provider
	client *http.Client // follows no redirects; a browser with its own cookie jar
	addr   resetflow.Address
	links  *resetflow.MemoryLinks

	// Hooks into the provider's endpoints (set before the request).
	onAuthorize func()

	mu        sync.Mutex
	authReqs  []url.Values // authorization requests seen by the provider
	tokenReqs []url.Values // token requests seen by the provider
	secrets   []string     // every state, code, nonce, verifier and token seen
	pages     []string     // every page body our server sent
}

type harnessOpts struct {
	tenant    string
	matchBy   resetflow.MatchBy
	oidc      oidc.Config
	locale    string
	idpDown   bool // start with the provider not listening
	accessTTL time.Duration
	limit     *reauth.Limiter // the sign-in pages' rate limit, if any
	maxPend   int
}

func newHarness(t *testing.T, mod ...func(*harnessOpts)) *harness {
	t.Helper()
	o := harnessOpts{tenant: ourTID, matchBy: resetflow.MatchByObjectID, locale: "en"}
	for _, m := range mod {
		m(&o)
	}
	h := &harness{
		t:      t,
		clk:    clock.NewFake(time.Now().Truncate(time.Second)),
		cat:    catalog.MustNew("en"),
		chat:   &messenger{},
		alerts: &resetflowtest.Alerts{},
		logs:   &lockedBuffer{},
		addr:   resetflow.Address{Platform: "test", UserID: "U-alice"},
		client: newBrowser(),
		links:  resetflow.NewMemoryLinks(),
	}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// The identity provider, on loopback.
	idp, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.accessTTL > 0 {
		idp.AccessTTL = o.accessTTL
	}
	if err := idp.AddMiddleware(h.record); err != nil {
		t.Fatal(err)
	}
	h.idp = idp
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String() + mockoidc.IssuerBase
	if o.idpDown {
		ln.Close() // the port stays reserved in practice; startIDP listens on it again
	} else {
		h.startIDP(ln)
	}
	h.idpLn = ln

	// Our server: the handler is set once everything is wired.
	mux := http.NewServeMux()
	h.srv = httptest.NewServer(h.recordPages(mux))
	t.Cleanup(h.srv.Close)

	fl, err := fleet.Load(fleet.Demo(), h.clk, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg := resetflow.DefaultConfig()
	cfg.PublicURL = h.srv.URL
	cfg.TenantID = o.tenant
	cfg.MatchBy = o.matchBy
	cfg.Location = time.UTC
	h.eng, err = resetflow.New(cfg, resetflow.Deps{
		Clock: h.clk, Catalog: h.cat, Devices: fl, Directory: fl,
		Messenger: h.chat, Alerter: h.alerts, Log: log, Links: h.links,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.eng.Shutdown(ctx)
	})

	pages := &reauth.Pages{Catalog: h.cat, Location: time.UTC}
	oc := o.oidc
	oc.Issuer = issuer
	h.prov, err = oidc.New(oc, oidc.Options{
		ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
		RedirectURL: h.srv.URL + oidc.CallbackPath,
		Windows:     h.eng, Pages: pages, Clock: h.clk, Log: log, MaxPending: o.maxPend,
	})
	if err != nil {
		t.Fatal(err)
	}
	pages.FormOrigins = h.prov.FormOrigins()
	if o.limit != nil {
		o.limit.Clock, o.limit.Log = h.clk, log
	}
	(&reauth.Server{Windows: h.eng, Provider: h.prov, Pages: pages, Limit: o.limit}).Register(mux)
	h.secret(idp.ClientSecret)

	// Nothing secret may reach a page or the log.
	t.Cleanup(func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		logs := h.logs.String()
		for _, s := range h.secrets {
			if len(s) < 8 {
				continue
			}
			if strings.Contains(logs, s) {
				t.Errorf("the log holds a secret (%.6s…):\n%s", s, logs)
			}
			for _, p := range h.pages {
				if strings.Contains(p, s) {
					t.Errorf("a page holds a secret (%.6s…):\n%s", s, p)
				}
			}
		}
		if missed := h.cat.Missed(); len(missed) > 0 {
			t.Errorf("catalog ids missing: %v", missed)
		}
		if t.Failed() {
			t.Logf("log:\n%s", logs)
		}
	})
	return h
}

func (h *harness) startIDP(ln net.Listener) {
	h.t.Helper()
	if err := h.idp.Start(ln, nil); err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { _ = h.idp.Shutdown() })
}

func (h *harness) secret(s ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.secrets = append(h.secrets, s...)
}

// record is mockoidc middleware: it keeps the requests and every secret in them.
func (h *harness) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case mockoidc.AuthorizationEndpoint:
			q := r.URL.Query()
			h.mu.Lock()
			h.authReqs = append(h.authReqs, q)
			h.secrets = append(h.secrets, q.Get("state"), q.Get("nonce"))
			hook := h.onAuthorize
			h.mu.Unlock()
			if hook != nil {
				hook()
			}
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			if u, err := url.Parse(rec.Header().Get("Location")); err == nil {
				h.secret(u.Query().Get("code"))
			}
			copyResponse(w, rec)
			return
		case mockoidc.TokenEndpoint:
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			h.mu.Lock()
			h.tokenReqs = append(h.tokenReqs, form)
			h.secrets = append(h.secrets, form.Get("code"), form.Get("code_verifier"))
			h.mu.Unlock()
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			var tr map[string]any
			if json.Unmarshal(rec.Body.Bytes(), &tr) == nil {
				for _, k := range []string{"id_token", "access_token", "refresh_token"} {
					if s, ok := tr[k].(string); ok {
						h.secret(s)
					}
				}
			}
			copyResponse(w, rec)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// recordPages keeps every page our server sends, to look for secrets.
func (h *harness) recordPages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		h.mu.Lock()
		h.pages = append(h.pages, rec.Body.String()) // a redirect's Location carries state and nonce by design
		h.mu.Unlock()
		copyResponse(w, rec)
	})
}

func (h *harness) authRequests() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]url.Values(nil), h.authReqs...)
}

func (h *harness) tokenRequests() []url.Values {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]url.Values(nil), h.tokenReqs...)
}

// requestLink has Alice ask for a reset of her iPhone; it returns the sign-in link.
func (h *harness) requestLink(locale string) string {
	h.t.Helper()
	ctx := context.Background()
	h.eng.Handle(ctx, resetflow.Input{From: h.addr, Email: aliceUPN, Locale: locale, Text: "reset"})
	msgs := h.chat.all()
	if len(msgs) == 0 || len(msgs[len(msgs)-1].Choices) == 0 {
		h.t.Fatalf("no device list in the chat: %+v", msgs)
	}
	var pick string
	for _, c := range msgs[len(msgs)-1].Choices {
		if c.Label == "Alice's iPhone" {
			pick = c.Value
		}
	}
	h.eng.Handle(ctx, resetflow.Input{From: h.addr, Email: aliceUPN, Locale: locale, Action: pick})
	msgs = h.chat.all()
	last := msgs[len(msgs)-1]
	if last.Link == nil {
		h.t.Fatalf("no sign-in link in the chat: %+v", last)
	}
	return last.Link.URL
}

// newBrowser is an HTTP client that keeps cookies, as a browser does, and
// follows no redirects (the test follows them, to see each step).
func newBrowser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (h *harness) do(method, u string) page {
	h.t.Helper()
	return h.doAs(h.client, method, u)
}

// doAs makes the request from browser b.
func (h *harness) doAs(browser *http.Client, method, u string) page {
	h.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := browser.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// signIn opens the link, presses continue, and lets the provider sign user in.
// It returns the callback URL the provider sent the browser to, not yet opened.
func (h *harness) signIn(link string, user *entraUser) string {
	h.t.Helper()
	if p := h.do(http.MethodGet, link); p.status != http.StatusOK || !strings.Contains(p.body, `id="continue"`) {
		h.t.Fatalf("landing page: %d\n%s", p.status, p.body)
	}
	begin := h.do(http.MethodPost, link)
	if begin.status != http.StatusSeeOther {
		h.t.Fatalf("continue: status %d, want 303\n%s", begin.status, begin.body)
	}
	if user != nil {
		h.idp.QueueUser(user)
	}
	auth := h.do(http.MethodGet, begin.header.Get("Location"))
	if auth.status != http.StatusFound {
		h.t.Fatalf("provider's authorize: %d %s", auth.status, auth.body)
	}
	cb := auth.header.Get("Location")
	if !strings.HasPrefix(cb, h.srv.URL+oidc.CallbackPath+"?") {
		h.t.Fatalf("provider redirected to %q, want our callback", cb)
	}
	return cb
}

// warnings counts the chat messages that offer the reset: the engine's warning after a good sign-in.
func (h *harness) warnings() int {
	n := 0
	for _, m := range h.chat.all() {
		for _, b := range m.Buttons {
			if strings.HasPrefix(b.Value, "confirm:") {
				n++
			}
		}
	}
	return n
}

func (h *harness) lastChat() string {
	msgs := h.chat.all()
	if len(msgs) == 0 {
		return ""
	}
	return msgs[len(msgs)-1].Text
}

func s256(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// wantPage checks a page's status and that it says the catalog sentence id.
func (h *harness) wantPage(p page, status int, locale, id string, data ...map[string]any) {
	h.t.Helper()
	if p.status != status {
		h.t.Errorf("status %d, want %d\n%s", p.status, status, p.body)
	}
	want := templateEscape(h.cat.T(locale, id, data...))
	if !strings.Contains(p.body, want) {
		h.t.Errorf("page does not say %s (%q):\n%s", id, want, p.body)
	}
}

// templateEscape is how html/template writes text.
func templateEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
	return r.Replace(s)
}
