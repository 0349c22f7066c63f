package teams_test

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/local"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
	"github.com/passcodebot/passcodebot/sqlite"
)

var start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const secretTTL = 10 * time.Minute

// The demo fleet's people; their Entra object ids are the fleet's user ids.
const (
	aliceID = "8f1c2a6e-0001-4c1a-9a11-a11ce0000001"
	bobID   = "8f1c2a6e-0002-4c1a-9a11-b0b000000002"
)

// harness is the whole bot around the Teams adapter: the real engine with the
// demo fleet on a fake clock, the sign-in pages with the demo sign-in, the
// messaging endpoint on the same web server, helpdesk alerts through
// bot.Alerts, SQLite for the audit trail, and a fake Bot Framework.
type harness struct {
	t        testing.TB
	fake     *teamstest.Server
	clk      *clock.Fake
	cat      *catalog.Catalog
	fleet    *fleet.Fleet
	engine   *resetflow.Engine
	adapter  *teams.Adapter
	alerts   *bot.Alerts
	web      *httptest.Server
	logs     *resetflowtest.Buffer
	helpdesk string
	taken    chan [2]string
	shown    chan string
	removed  chan string
	runErr   chan error
	cancel   context.CancelFunc
	// acts counts what the person did: say, click, open, and signing in on the form.
	acts int
}

func newHarness(t testing.TB, tweak ...func(*teams.Config)) *harness {
	t.Helper()
	return newHarnessFleet(t, "", tweak...)
}

// newHarnessFleet is newHarness with a fleet of its own (YAML; empty: the demo's).
func newHarnessFleet(t testing.TB, fleetYAML string, tweak ...func(*teams.Config)) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(start), cat: catalog.MustNew("en"), logs: &resetflowtest.Buffer{},
		taken: make(chan [2]string, 10), shown: make(chan string, 10), removed: make(chan string, 10)}
	h.fake = teamstest.New(t, teamstest.Options{Now: h.clk.Now})
	h.helpdesk = h.fake.AddChannel("helpdesk")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot log:\n%s", h.logs.String())
		}
	})
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := teams.Config{
		AppID: h.fake.AppID(), AppPassword: h.fake.AppPassword(), TenantID: h.fake.TenantID(),
		HelpdeskConversationID: h.helpdesk, ServiceURL: h.fake.ServiceURL(),
		MetadataURL: h.fake.MetadataURL(), TokenURL: h.fake.TokenURL(),
		Catalog: h.cat, Locale: "en", Location: time.UTC, SecretTTL: secretTTL, Clock: h.clk, Log: log,
		OnAlertTaken: func(id, by string) { h.taken <- [2]string{id, by} },
		Ledger: onscreen.LedgerFuncs{
			OnShown:   func(it onscreen.Item) error { h.shown <- it.MessageID; return nil },
			OnRemoved: func(ch, id string) error { h.removed <- id; return nil },
		},
	}
	for _, f := range tweak {
		f(&cfg)
	}
	var err error
	if h.adapter, err = teams.New(cfg); err != nil {
		t.Fatal(err)
	}
	if fleetYAML != "" {
		h.fleet, err = fleet.Load([]byte(fleetYAML), h.clk, time.Second)
	} else {
		h.fleet, err = fleet.LoadFile("", h.clk, time.Second)
	}
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mux := http.NewServeMux()
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)
	h.alerts = bot.NewAlerts(h.clk, log, h.adapter)
	h.engine, err = resetflow.New(resetflow.Config{PublicURL: h.web.URL, Location: time.UTC}, resetflow.Deps{
		Clock: h.clk, Catalog: h.cat, Devices: h.fleet, Directory: h.fleet, Messenger: bot.NewRouter(h.adapter),
		Alerter: h.alerts, Recorder: db, Store: db, Links: db, Log: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	pages := &reauth.Pages{Catalog: h.cat, Location: time.UTC}
	(&reauth.Server{Windows: h.engine, Provider: &local.Provider{Windows: h.engine, Pages: pages, Clock: h.clk, Users: h.fleet.Users()}, Pages: pages}).Register(mux)
	h.adapter.Register(mux)
	h.fake.SetEndpoint(h.web.URL + teams.DefaultPath)
	return h
}

// run starts the adapter and the helpdesk queue.
func (h *harness) run() {
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runErr = make(chan error, 1)
	h.alerts.Start()
	go func() { h.runErr <- h.adapter.Run(ctx, h.engine) }()
	h.t.Cleanup(h.stop)
	select {
	case <-h.adapter.Ready():
	case <-time.After(10 * time.Second):
		h.t.Fatal("the adapter never started")
	}
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.runErr:
		if err != nil {
			h.t.Errorf("Run = %v", err)
		}
	case <-time.After(20 * time.Second):
		h.t.Error("Run did not return after cancel")
	}
	// The alert queue is left waiting on the fake clock; it holds nothing.
}

func (h *harness) user(oid, upn, locale string) teamstest.User {
	return h.fake.AddUser(teamstest.User{AADObjectID: oid, UPN: upn, Locale: locale})
}

// say delivers a message and checks that the bot took it at once (200).
func (h *harness) say(u teamstest.User, text string) teamstest.Response {
	h.t.Helper()
	h.acts++
	res, err := h.fake.Say(u, text)
	if err != nil || res.Status != http.StatusOK {
		h.t.Fatalf("Say(%q) = %+v, %v; want 200", text, res, err)
	}
	return res
}

func (h *harness) click(u teamstest.User, m teamstest.Message, title string) teamstest.Response {
	h.t.Helper()
	h.acts++
	res, err := h.fake.Click(u, m, title, nil)
	if err != nil || res.Status != http.StatusOK {
		h.t.Fatalf("Click(%q) = %+v, %v; want 200", title, res, err)
	}
	return res
}

// card waits for a bot message in the conversation that satisfies match.
func (h *harness) card(conv, what string, match func(m teamstest.Message) bool) teamstest.Message {
	h.t.Helper()
	var found teamstest.Message
	defer func() {
		if h.t.Failed() && found.ID == "" {
			for _, m := range h.fake.Messages(conv) {
				h.t.Logf("message %s: %q actions %q", m.ID, m.Texts(), m.Actions())
			}
		}
	}()
	h.fake.WaitFor(h.t, what, func() bool {
		for _, m := range slices.Backward(h.fake.Messages(conv)) {
			if !m.Deleted && match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

func (h *harness) says(conv, text string) teamstest.Message {
	h.t.Helper()
	return h.card(conv, "a message saying "+firstLine(text), func(m teamstest.Message) bool { return strings.Contains(m.Texts(), text) })
}

func (h *harness) count(conv, text string) int {
	n := 0
	for _, m := range h.fake.Messages(conv) {
		if strings.Contains(m.Texts(), text) {
			n++
		}
	}
	return n
}

// countAction counts the bot's cards in the conversation with an action of this title.
func (h *harness) countAction(conv, title string) int {
	n := 0
	for _, m := range h.fake.Messages(conv) {
		if m.Action(title) != nil {
			n++
		}
	}
	return n
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func linkURL(t testing.TB, m teamstest.Message) string {
	t.Helper()
	acts, _ := m.Card["actions"].([]any)
	for _, a := range acts {
		if am, ok := a.(map[string]any); ok && am["type"] == "Action.OpenUrl" {
			return am["url"].(string)
		}
	}
	t.Fatalf("card %q has no link", firstLine(m.Texts()))
	return ""
}

// open presses a card's Action.OpenUrl (a device of the list) as a person
// does: Teams tells the bot nothing and the browser follows the device-list
// link. It returns the page the link led to (the demo sign-in form).
func (h *harness) open(m teamstest.Message, title string) string {
	h.t.Helper()
	link := m.OpenURL(title)
	if link == "" {
		h.t.Fatalf("card %q has no link %q; its actions: %s", firstLine(m.Texts()), title, mustJSON(m.Card["actions"]))
	}
	h.acts++
	return h.browse(link)
}

// browse opens a device-list link as a browser does: the page twice (the
// first as a link preview would: it changes nothing), then the form the page
// submits by itself. It returns the page the form led to.
func (h *harness) browse(link string) string {
	h.t.Helper()
	for range 2 {
		page := h.do(func() (*http.Response, error) { return http.Get(link) })
		if !strings.Contains(page, "document.forms[0].submit()") {
			h.t.Fatalf("GET %s is not the page that submits itself: %s", link, page)
		}
	}
	return h.do(func() (*http.Response, error) { return http.PostForm(link, url.Values{}) })
}

var hiddenToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// formToken is the sign-in window of the demo sign-in form a device link led to.
func formToken(t testing.TB, form string) string {
	t.Helper()
	m := hiddenToken.FindStringSubmatch(form)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", form)
	}
	return m[1]
}

func (h *harness) do(req func() (*http.Response, error)) string {
	h.t.Helper()
	resp, err := req()
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("%s %s = %d: %s", resp.Request.Method, resp.Request.URL, resp.StatusCode, b)
	}
	return string(b)
}

// signIn follows a sign-in link as a person does in a browser.
func (h *harness) signIn(link, upn string) {
	h.t.Helper()
	// Two of the person's actions: open the link (a link preview fetches it
	// too), press Continue.
	h.acts += 2
	h.do(func() (*http.Response, error) { return http.Get(link) })
	h.do(func() (*http.Response, error) { return http.PostForm(link, url.Values{}) })
	h.localSignIn(path.Base(link), upn)
}

// localSignIn signs in as upn on the demo sign-in form of window token.
func (h *harness) localSignIn(token, upn string) {
	h.t.Helper()
	h.acts++
	page := h.do(func() (*http.Response, error) {
		return http.PostForm(h.web.URL+"/local/signin", url.Values{"token": {token}, "choice": {upn}})
	})
	if !strings.Contains(page, html.EscapeString(h.cat.T("en", "page_success_title"))) && !strings.Contains(page, html.EscapeString(h.cat.T("ja", "page_success_title"))) {
		h.t.Fatalf("sign-in as %s did not succeed: %s", upn, page)
	}
}

func (h *harness) waitTimers(n int) {
	h.t.Helper()
	done := make(chan struct{})
	go func() { h.clk.WaitForTimers(n); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		h.t.Fatalf("timed out waiting for %d timers on the fake clock (pending %d)", n, h.clk.Pending())
	}
}

// connectorCalls are the Connector calls (not token requests) after the first skip.
func (h *harness) connectorCalls() []teamstest.Call {
	var out []teamstest.Call
	for _, c := range h.fake.Calls() {
		if strings.HasPrefix(c.Path, "/amer/") {
			out = append(out, c)
		}
	}
	return out
}

// noLeaks checks that the passcode appears nowhere but in the requester's
// personal chat: not in the log, not in another conversation, not in a call
// to anywhere else, not in a helpdesk alert.
func (h *harness) noLeaks(secret, conv string) {
	h.t.Helper()
	if strings.Contains(h.logs.String(), secret) {
		h.t.Errorf("the passcode %q is in the log", secret)
	}
	for _, m := range h.fake.AllMessages() {
		for _, v := range m.Versions {
			if strings.Contains(v, secret) && m.ConversationID != conv {
				h.t.Errorf("the passcode is in conversation %s (message %s)", m.ConversationID, m.ID)
			}
		}
	}
	for _, c := range h.fake.Calls() {
		if strings.Contains(string(c.Body), secret) && !(c.Method == "POST" && c.Path == "/amer/v3/conversations/"+conv+"/activities") {
			h.t.Errorf("the passcode went out in %s %s", c.Method, c.Path)
		}
		if strings.Contains(c.Path, secret) {
			h.t.Errorf("the passcode is in a URL: %s", c.Path)
		}
	}
}

// passcodeIn is the monospace text block of a passcode card.
func passcodeIn(t testing.TB, m teamstest.Message) string {
	t.Helper()
	body, _ := m.Card["body"].([]any)
	for _, b := range body {
		if bm, ok := b.(map[string]any); ok && bm["fontType"] == "Monospace" {
			return bm["text"].(string)
		}
	}
	t.Fatalf("no passcode in %q", m.Texts())
	return ""
}

func styleOf(m teamstest.Message, title string) string {
	a := m.Action(title)
	if a == nil {
		return "<none>"
	}
	s, _ := a["style"].(string)
	return s
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
