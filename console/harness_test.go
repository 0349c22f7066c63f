package console_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
	"github.com/passcodebot/passcodebot/sqlite"
)

const (
	helpdeskGroup = "5c0f7e2a-0000-4000-8000-00000000beef"
	helpdeskRole  = "Helpdesk.Console"
)

// member is a mockoidc user with Entra-shaped claims: groups and roles.
type member struct {
	sub, upn, name string
	groups, roles  []string
}

func (u *member) ID() string { return u.sub }
func (u *member) Userinfo([]string) ([]byte, error) {
	return []byte(`{"sub":"` + u.sub + `"}`), nil
}
func (u *member) Claims(_ []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return &struct {
		*mockoidc.IDTokenClaims
		Name   string   `json:"name"`
		UPN    string   `json:"preferred_username"`
		OID    string   `json:"oid"`
		Groups []string `json:"groups,omitempty"`
		Roles  []string `json:"roles,omitempty"`
	}{base, u.name, u.upn, "oid-" + u.sub, u.groups, u.roles}, nil
}

var (
	helen   = &member{sub: "helen", upn: "helen@contoso.example", name: "Helen Helpdesk", groups: []string{"g-all", helpdeskGroup}}
	roland  = &member{sub: "roland", upn: "roland@contoso.example", name: "Roland Role", roles: []string{helpdeskRole}}
	mallory = &member{sub: "mallory", upn: "mallory@contoso.example", name: "Mallory Outsider", groups: []string{"g-all"}, roles: []string{"Reader"}}
)

// harness is the real engine on the demo fleet and a fake clock, its audit
// trail in SQLite on a temp file, the console on httptest (loopback), and
// mockoidc as the identity provider.
type harness struct {
	t      *testing.T
	clk    *clock.Fake
	cat    *catalog.Catalog
	db     *sqlite.DB
	cs     *sqlite.ConsoleStore
	eng    *resetflow.Engine
	fl     *fleet.Fleet
	chat   *resetflowtest.Chat
	alerts *resetflowtest.Alerts
	idp    *mockoidc.MockOIDC
	srv    *httptest.Server
	logs   *resetflowtest.Buffer

	mu      sync.Mutex
	taken   [][2]string // OnTaken calls: alert, who
	secrets []string    // passcodes delivered: must never reach a page or export
}

type harnessOpts struct {
	demo bool
	idle time.Duration
}

func newHarness(t *testing.T, mods ...func(*harnessOpts)) *harness {
	t.Helper()
	o := harnessOpts{idle: 15 * time.Minute}
	for _, m := range mods {
		m(&o)
	}
	ctx := context.Background()
	h := &harness{t: t, clk: clock.NewFake(time.Now().UTC().Truncate(time.Second)), cat: catalog.MustNew("en"),
		chat: resetflowtest.NewChat(), alerts: &resetflowtest.Alerts{}, logs: &resetflowtest.Buffer{}}
	var err error
	if h.db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "audit.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.db.Close() })
	if h.cs, err = h.db.Console(ctx); err != nil {
		t.Fatal(err)
	}
	tap := &console.Tap{Store: h.cs}
	if h.fl, err = fleet.Load(fleet.Demo(), h.clk, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	cfg := resetflow.DefaultConfig()
	cfg.Location = time.UTC
	h.srv = httptest.NewUnstartedServer(nil)
	cfg.PublicURL = "http://" + h.srv.Listener.Addr().String()
	h.eng, err = resetflow.New(cfg, resetflow.Deps{Clock: h.clk, Catalog: h.cat, Devices: tap.Devices(h.fl), Directory: h.fl,
		Messenger: &undeliverable{h: h, to: undeliverableUser}, Alerter: tap.Alerter(h.alerts), Recorder: tap.Recorder(h.db), Store: h.db, Links: h.db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		h.eng.Shutdown(c)
	})

	opts := console.Options{Store: h.cs, Recorder: h.db, Catalog: h.cat, Location: time.UTC, Clock: h.clk,
		Log: newLogger(h.logs), Demo: o.demo,
		OnTaken: func(_ context.Context, id, who string) {
			h.mu.Lock()
			h.taken = append(h.taken, [2]string{id, who})
			h.mu.Unlock()
		}}
	if !o.demo {
		h.idp, err = mockoidc.NewServer(nil)
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if err := h.idp.Start(ln, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.idp.Shutdown() })
		opts.OIDC = &console.OIDC{Issuer: h.idp.Issuer(), ClientID: h.idp.ClientID, ClientSecret: h.idp.ClientSecret,
			RedirectURL: cfg.PublicURL + console.CallbackPath, Groups: []string{helpdeskGroup}, Roles: []string{helpdeskRole}}
		h.secrets = append(h.secrets, h.idp.ClientSecret)
	}
	srv, err := console.New(console.Config{Enabled: true, Listener: "public", IdleTimeout: o.idle}, opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	srv.Register(mux)
	h.srv.Config.Handler = mux
	h.srv.Start()
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() {
		if m := h.cat.Missed(); len(m) > 0 {
			t.Errorf("catalog ids missing: %v", m)
		}
		if t.Failed() {
			t.Logf("log:\n%s", h.logs.String())
		}
	})
	return h
}

// advance moves the bot's clock and the provider's together.
func (h *harness) advance(d time.Duration) {
	h.clk.Advance(d)
	if h.idp != nil {
		h.idp.FastForward(d)
	}
}

// reset runs one conversation through the engine as the chat adapters do:
// "reset", the device's number, the sign-in by signer, "Reset passcode", then
// the clock moves until the result is told.
func (h *harness) reset(platform, chatUser, email string, device int, signer string) {
	h.t.Helper()
	ctx := context.Background()
	from := resetflow.Address{Platform: platform, UserID: chatUser}
	in := func(text, action string) {
		h.eng.Handle(ctx, resetflow.Input{From: from, Email: email, Locale: "en", Text: text, Action: action})
	}
	anyMsg := func(resetflow.Message) bool { return true }
	n := len(h.chat.All())
	in("reset", "")
	if list := h.chat.WaitFrom(n, chatUser, anyMsg); len(list.Choices) == 0 {
		return // no devices
	}
	n = len(h.chat.All())
	in(fmt.Sprint(device), "")
	m := h.chat.WaitFrom(n, chatUser, anyMsg)
	if m.Link == nil {
		return // not eligible
	}
	who, err := h.fl.LookupUser(ctx, signer)
	if err != nil {
		h.t.Fatal(err)
	}
	token := m.Link.URL[strings.LastIndex(m.Link.URL, "/")+1:]
	h.advance(20 * time.Second) // the person opens the link and signs in
	n = len(h.chat.All())
	if r := h.eng.CompleteSignIn(ctx, token, resetflow.Identity{Subject: who.ID, UPN: who.UPN, AuthTime: h.clk.Now()}); r.Status != resetflow.SignInOK {
		return // someone else signed in
	}
	warn := h.chat.WaitFrom(n, chatUser, anyMsg)
	h.advance(7 * time.Second) // reads the warning
	n = len(h.chat.All())
	in("", warn.Buttons[0].Value)
	// The reset has ended when its flow has a terminal audit event: a result
	// other than done, or the delivery of a done one.
	flow := ""
	if evs, _ := h.db.Events(ctx, sqlite.Filter{User: email, Step: "confirm"}); len(evs) > 0 {
		flow = evs[len(evs)-1].Flow
	}
	ended := func() bool {
		evs, _ := h.db.Events(ctx, sqlite.Filter{Flow: flow})
		for _, e := range evs {
			if e.Step == "delivery" || e.Step == "result" && e.Outcome != "done" {
				return true
			}
		}
		return false
	}
	for !ended() {
		timers := make(chan struct{})
		go func() { h.clk.WaitForTimers(1); close(timers) }()
		select {
		case <-timers:
			h.advance(time.Second)
		case <-time.After(20 * time.Millisecond): // the engine is working, or done without a timer: look again
		}
	}
	// The passcode message goes out before the delivery is recorded.
	h.mu.Lock()
	for _, m := range h.chat.All() {
		if m.M.Secret != nil {
			h.secrets = append(h.secrets, m.M.Secret.Reveal())
		}
	}
	h.mu.Unlock()
}

// script is a morning at the helpdesk: two completed resets (iOS, Android
// work profile), one done whose passcode could not be shown in chat (Galaxy S5:
// that chat refuses the message), one failed (iPad), refusals (dedicated
// scanner, Windows), someone else signing in, and a person without devices.
func (h *harness) script() {
	h.reset("slack", "U-alice", "alice@contoso.example", 1, "alice@contoso.example")   // iPhone: passcode removed
	h.reset("discord", "D-alice", "alice@contoso.example", 2, "alice@contoso.example") // Pixel: work-profile passcode
	h.reset("slack", "U-bob", "bob@contoso.example", 2, "bob@contoso.example")         // scanner: contact support
	h.reset("discord", "D-bob", "bob@contoso.example", 4, "bob@contoso.example")       // Galaxy S5: done, not shown (undeliverableUser)
	h.reset("slack", "U-dave", "dave@contoso.example", 1, "dave@contoso.example")      // Surface: not supported
	h.reset("slack", "U-dave", "dave@contoso.example", 4, "dave@contoso.example")      // iPad: fails
	h.reset("shell", "bob", "bob@contoso.example", 3, "alice@contoso.example")         // Lumia 635, alice signs in: wrong person
	h.reset("slack", "U-carol", "carol@contoso.example", 1, "carol@contoso.example")   // no devices
}

func (h *harness) url(path string) string { return h.srv.URL + path }

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium with lang as the browser's language, or
// skips the test when it is not installed (unless PASSCODEBOT_REQUIRE_CHROMIUM=1, as in CI).
func browser(t *testing.T, lang string) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("PASSCODEBOT_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("PASSCODEBOT_REQUIRE_CHROMIUM=1 and %s is missing: %v", chromiumPath, err)
		}
		t.Skipf("%s is missing (apt-get install -y chromium)", chromiumPath)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true), chromedp.Flag("lang", lang), chromedp.Flag("accept-lang", lang),
		chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return ctx
}

// within runs f on the browser with a deadline.
func within(t *testing.T, ctx context.Context, d time.Duration, f func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if err := f(ctx); err != nil {
		t.Fatal(err)
	}
}

func text(ctx context.Context, css string) (string, error) {
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	return strings.TrimSpace(s), err
}

// load navigates and waits for the page to be complete.
func load(ctx context.Context, u string) error {
	if err := chromedp.Do(ctx, chromedp.Navigate(u)); err != nil {
		return err
	}
	return complete(ctx)
}

func complete(ctx context.Context) error {
	return waitFor(ctx, func() bool {
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		return err == nil && st == "complete"
	})
}

func location(ctx context.Context) string {
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// click clicks and waits for the page the click leads to.
func click(ctx context.Context, css string) error {
	before, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(css))); err != nil {
		return err
	}
	return waitFor(ctx, func() bool {
		now, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.timeOrigin`))
		if err != nil || now == before {
			return false
		}
		st, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.readyState`))
		return err == nil && st == "complete"
	})
}

// signIn signs the browser in through mockoidc as u and waits for the page
// it ends on (the overview, or the refusal).
func (h *harness) signIn(ctx context.Context, u *member) error {
	h.idp.QueueUser(u)
	if err := load(ctx, h.url("/console/")); err != nil {
		return err
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#signin"))); err != nil {
		return err
	}
	return waitFor(ctx, func() bool {
		return strings.HasSuffix(location(ctx), "/console/") && exists(ctx, "#kpi-requests") || exists(ctx, "#message")
	})
}

func exists(ctx context.Context, sel string) bool {
	ok, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector(`+jsString(sel)+`) !== null`))
	return ok
}

func jsString(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// waitFor polls the browser (not the clock) until cond holds.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// sessionCookie is the console's cookie as the browser keeps it.
func (h *harness) sessionCookie(ctx context.Context) (*network.Cookie, error) {
	res, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{h.url("/console/")}})
	})
	if err != nil {
		return nil, err
	}
	for _, c := range res.Cookies {
		if c.Name == console.SessionCookie {
			return c, nil
		}
	}
	return nil, nil
}

// get fetches a console URL with the browser's session cookie, outside the browser.
func (h *harness) get(ctx context.Context, path string) (*http.Response, string, error) {
	c, err := h.sessionCookie(ctx)
	if err != nil || c == nil {
		return nil, "", fmt.Errorf("no session cookie (%v)", err)
	}
	req, _ := http.NewRequest("GET", h.url(path), nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, string(b), err
}

// screenshot writes a picture of the page into PASSCODEBOT_SCREENSHOTS, when set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("PASSCODEBOT_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

func query(v url.Values) string { return v.Encode() }

func newLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
