package discord_test

import (
	"context"
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
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/local"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
	"github.com/passcodebot/passcodebot/sqlite"
)

var start = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

const secretTTL = 10 * time.Minute

// syncBuffer is a log destination the test reads while the code writes.
type syncBuffer = resetflowtest.Buffer

type alertRec struct {
	mu   sync.Mutex
	list []resetflow.Alert
}

func (r *alertRec) Alert(_ context.Context, a resetflow.Alert) {
	r.mu.Lock()
	r.list = append(r.list, a)
	r.mu.Unlock()
}

// harness is the whole bot around the Discord adapter: the real engine with
// the embedded demo fleet on a fake clock, the sign-in pages with the demo
// sign-in, the account links in a JSON file, and a fake Discord.
type harness struct {
	landing  string // the last landing page signIn opened
	t        *testing.T
	fake     *discordtest.Server
	clk      *clock.Fake
	cat      *catalog.Catalog
	fleet    *fleet.Fleet
	engine   *resetflow.Engine
	links    resetflow.Links // the program's store: SQLite
	adapter  *discord.Adapter
	web      *httptest.Server
	alerts   *alertRec
	logs     *syncBuffer
	helpdesk string
	taken    chan [2]string
	runErr   chan error
	cancel   context.CancelFunc
}

type harnessSetup struct {
	cfg       *discord.Config
	fake      *discordtest.Options
	fleetYAML string
}

type harnessOpt func(*harnessSetup)

func withWatchdogClock(c clock.Clock, w discord.Watchdog) harnessOpt {
	return func(s *harnessSetup) { s.cfg.WatchdogClock, s.cfg.Watchdog = c, w }
}

func withFleetYAML(raw string) harnessOpt {
	return func(s *harnessSetup) { s.fleetYAML = raw }
}

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(start), cat: catalog.MustNew("en"), alerts: &alertRec{}, logs: &syncBuffer{}, taken: make(chan [2]string, 10)}
	fo := discordtest.Options{Now: h.clk.Now}
	cfg := discord.Config{
		Catalog: h.cat, Locale: "en", Location: time.UTC, SecretTTL: secretTTL, Clock: h.clk,
		WatchdogClock: clock.Real{},
		Log:           slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnAlertTaken:  func(id, by string) { h.taken <- [2]string{id, by} },
	}
	setup := harnessSetup{cfg: &cfg, fake: &fo}
	for _, o := range opts {
		o(&setup)
	}
	h.fake = discordtest.New(t, fo)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bot log:\n%s", h.logs.String())
		}
	})
	h.helpdesk = h.fake.AddGuildChannel("1190000000000000001")
	cfg.Token, cfg.APIURL, cfg.HelpdeskChannelID = h.fake.Token(), h.fake.APIURL(), h.helpdesk

	var err error
	if setup.fleetYAML != "" {
		h.fleet, err = fleet.Load([]byte(setup.fleetYAML), h.clk, time.Second)
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
	h.links = db
	h.adapter, err = discord.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	h.web = httptest.NewServer(mux)
	t.Cleanup(h.web.Close)
	h.engine, err = resetflow.New(resetflow.Config{PublicURL: h.web.URL, Location: time.UTC}, resetflow.Deps{
		Clock: h.clk, Catalog: h.cat, Devices: h.fleet, Directory: h.fleet, Messenger: bot.NewRouter(h.adapter),
		Alerter: h.alerts, Recorder: db, Store: db, Links: db, Log: slog.New(slog.NewTextHandler(h.logs, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	pages := &reauth.Pages{Catalog: h.cat, Location: time.UTC}
	(&reauth.Server{Windows: h.engine, Provider: &local.Provider{Windows: h.engine, Pages: pages, Clock: h.clk, Users: h.fleet.Users()}, Pages: pages}).Register(mux)
	return h
}

// run starts the adapter and waits for its gateway session.
func (h *harness) run() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.runErr = make(chan error, 1)
	go func() { h.runErr <- h.adapter.Run(ctx, h.engine) }()
	h.t.Cleanup(h.stop)
	h.fake.WaitReady(h.t)
	// The fake has sent READY; wait until the bot has read it too.
	deadline := time.After(15 * time.Second)
	for {
		ch := h.adapter.WatchdogChanged()
		if h.adapter.Healthy() == nil {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			h.t.Fatalf("the adapter never became healthy: %v", h.adapter.Healthy())
		}
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
}

// dm waits for a bot message in the user's DM that satisfies match, and returns it.
func (h *harness) dm(u discordtest.User, what string, match func(m discordtest.Message) bool) discordtest.Message {
	h.t.Helper()
	ch := h.fake.DMChannel(u.ID)
	var found discordtest.Message
	defer func() {
		if h.t.Failed() && found.ID == "" {
			for _, m := range h.fake.Messages(ch) {
				h.t.Logf("DM %s by %s: %q", m.ID, m.AuthorID, m.Content)
			}
		}
	}()
	h.fake.WaitFor(h.t, what, func() bool {
		for _, m := range slices.Backward(h.fake.Messages(ch)) {
			if m.AuthorID == h.fake.BotID() && !m.Deleted && match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found
}

// dmSays waits for a bot message in the user's DM containing text.
func (h *harness) dmSays(u discordtest.User, text string) discordtest.Message {
	h.t.Helper()
	return h.dm(u, "a DM saying "+strings.TrimSpace(firstLine(text)), func(m discordtest.Message) bool { return strings.Contains(m.Content, text) })
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// countDM counts bot messages in the user's DM containing text.
func (h *harness) countDM(u discordtest.User, text string) int {
	n := 0
	for _, m := range h.fake.Messages(h.fake.DMChannel(u.ID)) {
		if m.AuthorID == h.fake.BotID() && strings.Contains(m.Content, text) {
			n++
		}
	}
	return n
}

// click presses a button by label on a message and returns the interaction id.
func (h *harness) click(u discordtest.User, m discordtest.Message, label string, opts ...discordtest.InteractionOption) string {
	h.t.Helper()
	b := m.Button(label)
	if b == nil {
		var labels []string
		for _, b := range m.Buttons() {
			labels = append(labels, b.Label)
		}
		h.t.Fatalf("message %q has no button %q; it has %q", firstLine(m.Content), label, labels)
	}
	if b.Style == discordgo.LinkButton {
		h.browse(b.URL) // a link button opens the browser; Discord sends no interaction
		return ""
	}
	id, err := h.fake.Click(u, m.ID, b.CustomID, opts...)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

// browse opens a device-list link as a browser does: the page (a link preview
// may fetch it without effect), then the form the page submits by itself. It
// returns the page the form led to (the demo sign-in form).
func (h *harness) browse(link string) string {
	h.t.Helper()
	for range 2 {
		resp, err := http.Get(link)
		if err != nil {
			h.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "document.forms[0].submit()") {
			h.t.Fatalf("GET %s = %d: %s", link, resp.StatusCode, b)
		}
	}
	resp, err := http.PostForm(link, url.Values{})
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("POST %s = %d: %s", link, resp.StatusCode, b)
	}
	return string(b)
}

func linkURL(t *testing.T, m discordtest.Message) string {
	t.Helper()
	for _, b := range m.Buttons() {
		if b.Style == discordgo.LinkButton {
			return b.URL
		}
	}
	t.Fatalf("message %q has no link button", firstLine(m.Content))
	return ""
}

// signIn follows a sign-in link as a person does in a browser: the landing
// page (which a link preview may fetch without effect), the continue button,
// then the demo sign-in as upn.
func (h *harness) signIn(link, upn string) string {
	h.t.Helper()
	get := func(u string) string {
		resp, err := http.Get(u)
		if err != nil {
			h.t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			h.t.Fatalf("GET %s = %d", u, resp.StatusCode)
		}
		return string(b)
	}
	post := func(u string, v url.Values) string {
		resp, err := http.PostForm(u, v)
		if err != nil {
			h.t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			h.t.Fatalf("POST %s = %d: %s", u, resp.StatusCode, b)
		}
		return string(b)
	}
	get(link)             // a link preview
	h.landing = get(link) // the person
	post(link, url.Values{})
	token := path.Base(link)
	page := post(h.web.URL+"/local/signin", url.Values{"token": {token}, "choice": {upn}})
	for _, id := range []string{"page_success_title", "page_pairing_title"} {
		for _, loc := range []string{"en", "ja"} {
			if strings.Contains(page, html.EscapeString(h.cat.T(loc, id))) {
				return page
			}
		}
	}
	h.t.Fatalf("sign-in as %s did not succeed: %s", upn, page)
	return ""
}

var pairCode = regexp.MustCompile(`<p id="code" class="code">(\d{6})</p>`)

// linkSignIn signs in with an account-linking link and returns the pairing
// code the result page shows.
func (h *harness) linkSignIn(link, upn string) string {
	h.t.Helper()
	page := h.signIn(link, upn)
	m := pairCode.FindStringSubmatch(page)
	if m == nil {
		h.t.Fatalf("no pairing code on the page: %s", page)
	}
	return m[1]
}

var codeSpan = regexp.MustCompile("`([^`]+)`")

// passcodeIn returns the passcode shown in a message's code span.
func passcodeIn(t *testing.T, m discordtest.Message) string {
	t.Helper()
	sm := codeSpan.FindStringSubmatch(m.Content)
	if sm == nil {
		t.Fatalf("no passcode in %q", m.Content)
	}
	return sm[1]
}

// waitTimers waits until n timers are pending on the fake clock.
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

// noLeaks checks that a secret appears nowhere but where it may: the
// requester's DM (the bot's post, and Discord's echo on the gateway).
func (h *harness) noLeaks(secret string, dmChannel string) {
	h.t.Helper()
	if strings.Contains(h.logs.String(), secret) {
		h.t.Errorf("the passcode %q is in the log", secret)
	}
	for _, m := range h.fake.AllMessages() {
		for _, v := range append([]string{m.Content}, m.Versions...) {
			if strings.Contains(v, secret) && m.ChannelID != dmChannel {
				h.t.Errorf("the passcode is in channel %s (message %s)", m.ChannelID, m.ID)
			}
		}
		for _, e := range m.Embeds {
			if strings.Contains(e.Description+e.Title, secret) {
				h.t.Errorf("the passcode is in an embed")
			}
		}
	}
	for _, c := range h.fake.Calls() {
		if strings.Contains(string(c.Body), secret) && !(c.Method == "POST" && c.Path == "/channels/"+dmChannel+"/messages") {
			h.t.Errorf("the passcode went out in %s %s", c.Method, c.Path)
		}
	}
	for _, a := range h.alerts.list {
		if strings.Contains(a.Detail, secret) {
			h.t.Errorf("the passcode is in a helpdesk alert")
		}
	}
}

// noTokens checks that neither the bot token nor any interaction token was logged.
func (h *harness) noTokens(interactionIDs ...string) {
	h.t.Helper()
	logs := h.logs.String()
	if strings.Contains(logs, h.fake.Token()) {
		h.t.Error("the bot token is in the log")
	}
	for _, id := range interactionIDs {
		if tok := h.fake.Interaction(id).Token; tok != "" && strings.Contains(logs, tok) {
			h.t.Errorf("the token of interaction %s is in the log", id)
		}
	}
}

func catalogEN() *catalog.Catalog { return catalog.MustNew("en") }
