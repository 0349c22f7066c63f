package app

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/catalog"
)

// linkProgram is the whole program with chat: discord, reauth: oidc and the
// audit database on SQLite, against a fake Discord and a local OIDC provider.
type linkProgram struct {
	t        *testing.T
	f        *discordtest.Server
	idp      *mockoidc.MockOIDC
	helpdesk string
	cat      *catalog.Catalog
	stderr   *syncBuffer
}

func startLinkProgram(t *testing.T) *linkProgram {
	t.Helper()
	idp, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = idp.Shutdown() })
	f := discordtest.New(t, discordtest.Options{})
	p := &linkProgram{t: t, f: f, idp: idp, helpdesk: f.AddGuildChannel("1190000000000000001"), cat: catalog.MustNew("en"), stderr: &syncBuffer{}}
	cfg := writeConfig(t, fmt.Sprintf(`chat: [discord]
reauth: oidc
log: {level: debug}
fleet: {delay: 1ms}
reset: {tenant_id: tenant-1, poll_first: 10ms}
oidc: {issuer: "%s"}
discord:
  api_url: %s
  application_id: "%s"
  helpdesk_channel_id: "%s"
`, idp.Issuer(), f.APIURL(), f.AppID(), p.helpdesk))
	env := map[string]string{"PASSCODEBOT_OIDC_CLIENT_ID": idp.ClientID, "PASSCODEBOT_OIDC_CLIENT_SECRET": idp.ClientSecret, discord.EnvToken: f.Token()}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stdout syncBuffer
	go func() {
		done <- Main(ctx, []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, p.stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != ExitOK {
				t.Errorf("exit %d", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("the program did not stop")
		}
		if t.Failed() {
			t.Logf("program log:\n%s", p.stderr.String())
		}
	})
	f.WaitReady(t)
	return p
}

// dm waits for a message in u's DM that satisfies ok.
func (p *linkProgram) dm(u discordtest.User, what string, ok func(discordtest.Message) bool) discordtest.Message {
	p.t.Helper()
	var got discordtest.Message
	p.f.WaitFor(p.t, what, func() bool {
		for _, m := range p.f.Messages(p.f.DMChannel(u.ID)) {
			if ok(m) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

func (p *linkProgram) dmSays(u discordtest.User, id string, data ...map[string]any) discordtest.Message {
	p.t.Helper()
	want := p.cat.T("en", id, data...)
	return p.dm(u, id, func(m discordtest.Message) bool { return strings.Contains(m.Content, firstSentence(want)) })
}

func firstSentence(s string) string {
	if i := strings.IndexAny(s, ".\n"); i > 0 {
		return s[:i]
	}
	return s
}

// askToLink has u write "reset" and returns the account-linking link.
func (p *linkProgram) askToLink(u discordtest.User) string {
	p.t.Helper()
	p.f.UserSays(u, "reset")
	m := p.dmSays(u, "link_needed", map[string]any{"Until": "", "Minutes": 5})
	for _, b := range m.Buttons() {
		if b.Style == discordgo.LinkButton {
			return b.URL
		}
	}
	p.t.Fatalf("no link button in %q", m.Content)
	return ""
}

// everything is all a person was shown in their DM: texts, embeds, buttons.
func (p *linkProgram) everything(u discordtest.User) string {
	var b strings.Builder
	for _, m := range p.f.Messages(p.f.DMChannel(u.ID)) {
		fmt.Fprintln(&b, strings.Join(m.Versions, "\n"))
		for _, e := range m.Embeds {
			fmt.Fprintln(&b, e.Title, e.Description)
			for _, f := range e.Fields {
				fmt.Fprintln(&b, f.Name, f.Value)
			}
		}
		for _, bt := range m.Buttons() {
			fmt.Fprintln(&b, bt.Label)
		}
		for _, s := range m.Selects() {
			for _, o := range s.Options {
				fmt.Fprintln(&b, o.Label, o.Description)
			}
		}
	}
	return b.String()
}

// neverSawAlice: Mallory was shown none of Alice's devices, no warning, no passcode.
func (p *linkProgram) neverSawAlice(mallory discordtest.User) {
	p.t.Helper()
	seen := p.everything(mallory)
	for _, s := range []string{"Alice's", p.cat.T("en", "passcode_label"), "physical access", "alice@contoso.example"} {
		if strings.Contains(seen, s) {
			p.t.Errorf("Mallory's DM shows %q:\n%s", s, seen)
		}
	}
}

// helpdeskAlert waits for a helpdesk embed of the alert kind whose chat field names who.
func (p *linkProgram) helpdeskAlert(kind, who string) *discordgo.MessageEmbed {
	p.t.Helper()
	title := p.cat.T("en", "alert_title_"+kind)
	var got *discordgo.MessageEmbed
	p.f.WaitFor(p.t, "a helpdesk alert "+kind, func() bool {
		for _, m := range p.f.Messages(p.helpdesk) {
			for _, e := range m.Embeds {
				if strings.HasSuffix(e.Title, title) {
					for _, f := range e.Fields {
						if f.Name == p.cat.T("en", "alert_chat") && strings.Contains(f.Value, who) {
							got = e
							return true
						}
					}
				}
			}
		}
		return false
	})
	return got
}

func embedField(e *discordgo.MessageEmbed, name string) string {
	for _, f := range e.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// browser is a person's web browser: it keeps cookies; the test follows redirects.
type browser struct {
	t *testing.T
	c *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, c: &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, u string) (int, http.Header, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

// open is the landing page; continueTo presses its button and returns the
// provider's authorize URL.
func (b *browser) open(link string) string {
	b.t.Helper()
	code, _, body := b.do(http.MethodGet, link)
	if code != http.StatusOK {
		b.t.Fatalf("landing %d:\n%s", code, body)
	}
	return body
}

func (b *browser) continueTo(link string) string {
	b.t.Helper()
	code, h, body := b.do(http.MethodPost, link)
	if code != http.StatusSeeOther {
		b.t.Fatalf("continue %d:\n%s", code, body)
	}
	return h.Get("Location")
}

// signInAt has the provider sign Alice in at the authorize URL; it returns the
// page the callback shows.
func (b *browser) signInAt(p *linkProgram, authorize string) (int, string, string) {
	b.t.Helper()
	p.idp.QueueUser(&oidcUser{authTime: time.Now().Unix()})
	code, h, body := b.do(http.MethodGet, authorize)
	if code != http.StatusFound {
		b.t.Fatalf("authorize %d: %s", code, body)
	}
	cb := h.Get("Location")
	if !strings.Contains(cb, "/oidc/callback?") {
		b.t.Fatalf("provider sent the browser to %q", cb)
	}
	status, _, page := b.do(http.MethodGet, cb)
	return status, page, cb
}

var pageCode = regexp.MustCompile(`<p id="code" class="code">(\d{6})</p>`)

func (p *linkProgram) wantOnPage(page, id string, data map[string]any) {
	p.t.Helper()
	if want := html.EscapeString(p.cat.T("en", id, data)); !strings.Contains(page, want) {
		p.t.Errorf("page does not say %s (%q):\n%s", id, want, page)
	}
}

// TestDiscordLinkCannotBeCompletedBySomeoneElse is the account-linking
// takeover, tried on the whole program. Mallory, an unlinked Discord user, tries to get her
// account linked to Alice (and so Alice's devices and passcode) in the two
// ways the review found; neither works, and the helpdesk is alerted.
func TestDiscordLinkCannotBeCompletedBySomeoneElse(t *testing.T) {
	t.Run("B: she sends Alice the /r link", func(t *testing.T) {
		p := startLinkProgram(t)
		mallory, aliceD := p.f.NewUser("mallory"), p.f.NewUser("alice")
		link := p.askToLink(mallory)
		alice := newBrowser(t)
		landing := alice.open(link)
		// The landing page names the account being linked, with the warning.
		if !strings.Contains(landing, "@mallory") || !strings.Contains(landing, `id="warning"`) {
			t.Fatalf("the landing page does not name @mallory with a warning:\n%s", landing)
		}
		status, page, _ := alice.signInAt(p, alice.continueTo(link))
		m := pageCode.FindStringSubmatch(page)
		if status != http.StatusOK || m == nil || !strings.Contains(page, "@mallory") {
			t.Fatalf("Alice's result page (%d) shows no code naming @mallory:\n%s", status, page)
		}
		// Mallory's DM asks for the code, and names nobody.
		p.dmSays(mallory, "pair_prompt", map[string]any{"Until": "", "Digits": 6})
		// Alice, following the page, types the code in her own DM: it is not
		// her account's, so it links nothing.
		p.f.UserSays(aliceD, m[1])
		p.dmSays(aliceD, "pair_not_yours")
		p.dmSays(mallory, "pair_refused")
		e := p.helpdeskAlert("link_refused", mallory.ID)
		if who := embedField(e, p.cat.T("en", "alert_who")); !strings.Contains(who, "alice@contoso.example") {
			t.Errorf("the alert does not name the directory user: %q", who)
		}
		// Mallory has the code now (say Alice told her): spent.
		p.f.UserSays(mallory, m[1])
		p.f.UserSays(mallory, "reset")
		p.dm(mallory, "a fresh linking link", func(m discordtest.Message) bool {
			return strings.Count(p.everything(mallory), firstSentence(p.cat.T("en", "link_needed", map[string]any{"Until": "", "Minutes": 5}))) >= 2
		})
		p.neverSawAlice(mallory)
		p.neverSawAlice(aliceD)
	})
	t.Run("B: Alice signs in, Mallory guesses the code", func(t *testing.T) {
		p := startLinkProgram(t)
		mallory := p.f.NewUser("mallory")
		link := p.askToLink(mallory)
		alice := newBrowser(t)
		_, page, _ := alice.signInAt(p, alice.continueTo(link))
		m := pageCode.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no code:\n%s", page)
		}
		wrong := fmt.Sprintf("%06d", (atoi(m[1])+1)%1000000)
		for range 3 {
			p.f.UserSays(mallory, wrong)
		}
		p.dmSays(mallory, "pair_refused")
		p.helpdeskAlert("link_refused", mallory.ID)
		p.f.UserSays(mallory, m[1])
		p.f.UserSays(mallory, "help")
		p.dmSays(mallory, "help", map[string]any{"Max": 3, "Minutes": 5})
		p.neverSawAlice(mallory)
	})
	t.Run("A: she forwards the provider's authorize URL", func(t *testing.T) {
		p := startLinkProgram(t)
		mallory := p.f.NewUser("mallory")
		link := p.askToLink(mallory)
		malloryBrowser, alice := newBrowser(t), newBrowser(t)
		authorize := malloryBrowser.continueTo(link)
		status, page, cb := alice.signInAt(p, authorize)
		if status != http.StatusForbidden || pageCode.MatchString(page) {
			t.Fatalf("Alice's callback: %d; want 403 without a code:\n%s", status, page)
		}
		p.wantOnPage(page, "page_other_browser_title", nil)
		p.dmSays(mallory, "signin_other_browser")
		p.helpdeskAlert("link_refused", mallory.ID)
		// The callback URL sent back to Mallory's browser is spent.
		if status, _, body := malloryBrowser.do(http.MethodGet, cb); status != http.StatusNotFound || pageCode.MatchString(body) {
			t.Fatalf("Mallory's browser on the callback: %d\n%s", status, body)
		}
		p.neverSawAlice(mallory)
	})
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestDiscordFirstTimeUserLinksAndResets: the honest path end to end. A
// first-time Discord user signs in, types the code the page shows into her DM,
// and resets her Pixel's passcode without a second sign-in; the helpdesk sees
// the new link.
func TestDiscordFirstTimeUserLinksAndResets(t *testing.T) {
	p := startLinkProgram(t)
	alice := p.f.NewUser("alice")
	link := p.askToLink(alice)
	b := newBrowser(t)
	if landing := b.open(link); !strings.Contains(landing, "@alice") {
		t.Errorf("the landing page does not name @alice:\n%s", landing)
	}
	_, page, _ := b.signInAt(p, b.continueTo(link))
	m := pageCode.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no code:\n%s", page)
	}
	p.f.UserSays(alice, m[1])
	p.dmSays(alice, "linked", map[string]any{"UPN": "alice@contoso.example"})
	p.helpdeskAlert("account_linked", alice.ID)
	list := p.dm(alice, "the device list", func(m discordtest.Message) bool { return m.Button("2. Alice's Pixel 8") != nil })
	if _, err := p.f.Click(alice, list.ID, list.Button("2. Alice's Pixel 8").CustomID); err != nil {
		t.Fatal(err)
	}
	warn := p.dm(alice, "the warning", func(m discordtest.Message) bool { return m.Button(p.cat.T("en", "button_reset")) != nil })
	if _, err := p.f.Click(alice, warn.ID, warn.Button(p.cat.T("en", "button_reset")).CustomID); err != nil {
		t.Fatal(err)
	}
	p.dmSays(alice, "success", map[string]any{"Device": "Alice's Pixel 8"})
	if !strings.Contains(p.everything(alice), p.cat.T("en", "passcode_label")) {
		t.Error("no passcode in Alice's DM")
	}
}
