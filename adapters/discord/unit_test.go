package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestPermissionsAndInvite(t *testing.T) {
	if Permissions != 84992 {
		t.Errorf("Permissions = %d; want 84992 (View Channel 1024 + Send Messages 2048 + Embed Links 16384 + Read Message History 65536)", Permissions)
	}
	u, err := url.Parse(InviteURL("1180000000000000001"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "discord.com" || u.Path != "/oauth2/authorize" || q.Get("client_id") != "1180000000000000001" ||
		q.Get("scope") != "bot applications.commands" || q.Get("permissions") != "84992" {
		t.Errorf("InviteURL = %s", u)
	}
}

func TestRender(t *testing.T) {
	expires := time.Date(2026, 11, 25, 9, 5, 42, 0, time.UTC)
	tests := []struct {
		name    string
		m       resetflow.Message
		content []string // substrings
		not     []string
		check   func(t *testing.T, comps []discordgo.MessageComponent)
	}{
		{
			name:    "link: a link button and the expiry in Discord's time, rounded down",
			m:       resetflow.Message{Text: "Sign in.", Link: &resetflow.Link{URL: "http://bot.example/r/tok", Label: "Sign in to continue", Expires: expires}, Buttons: []resetflow.Button{{Value: "cancel:f1", Label: "Cancel"}}},
			content: []string{"Sign in.", fmt.Sprintf("<t:%d:t>", expires.Truncate(time.Minute).Unix()), fmt.Sprintf("<t:%d:R>", expires.Truncate(time.Minute).Unix())},
			not:     []string{"http://bot.example"}, // no URL in the text, so no preview fetches it
			check: func(t *testing.T, comps []discordgo.MessageComponent) {
				row := comps[0].(discordgo.ActionsRow)
				link := row.Components[0].(discordgo.Button)
				if link.Style != discordgo.LinkButton || link.URL != "http://bot.example/r/tok" || link.CustomID != "" {
					t.Errorf("link button %+v", link)
				}
				if c := row.Components[1].(discordgo.Button); c.CustomID != "pc|cancel:f1" || c.Style != discordgo.SecondaryButton {
					t.Errorf("cancel button %+v", c)
				}
			},
		},
		{
			name: "warning: danger button, the confirm text in the message",
			m: resetflow.Message{Text: "Warning.", Buttons: []resetflow.Button{
				{Value: "confirm:f1", Label: "Reset passcode", Style: resetflow.StyleDanger, Confirm: &resetflow.Confirm{Title: "Reset passcode?", Text: "Anyone holding it can open it."}},
				{Value: "cancel:f1", Label: "Cancel"},
			}},
			content: []string{"Warning.", "**Reset passcode?** Anyone holding it can open it."},
			check: func(t *testing.T, comps []discordgo.MessageComponent) {
				if b := comps[0].(discordgo.ActionsRow).Components[0].(discordgo.Button); b.Style != discordgo.DangerButton {
					t.Errorf("reset button style %v; want danger", b.Style)
				}
			},
		},
		{
			name:    "secret in a code span, notice as small print",
			m:       resetflow.Message{Text: "Here it is.", Secret: resetflow.NewSecret("Temporary passcode", "Ab3`x"), Notice: "Change it now."},
			content: []string{"**Temporary passcode:** `` Ab3`x ``", "\n-# Change it now."},
		},
		{
			name:    "five devices are buttons",
			m:       resetflow.Message{Text: "Pick.", Choices: choices(5), Buttons: []resetflow.Button{{Value: "cancel:f", Label: "Cancel"}}},
			content: []string{"**1.** Phone 1 — Model · OS", "**5.** Phone 5"},
			check: func(t *testing.T, comps []discordgo.MessageComponent) {
				if n := len(comps[0].(discordgo.ActionsRow).Components); n != 5 || len(comps) != 2 {
					t.Errorf("%d rows, %d device buttons; want 2 rows, 5 buttons", len(comps), n)
				}
			},
		},
		{
			name: "six devices are a select menu; more than 25 are cut to 25",
			m:    resetflow.Message{Text: "Pick.", Choices: choices(30), Notice: "Pick a device, or write its number."},
			check: func(t *testing.T, comps []discordgo.MessageComponent) {
				sm := comps[0].(discordgo.ActionsRow).Components[0].(discordgo.SelectMenu)
				if sm.CustomID != selectID || len(sm.Options) != 25 || sm.Options[0].Value != "pick:f:0" || sm.Placeholder != "Pick a device, or write its number." {
					t.Errorf("select %+v", sm)
				}
			},
		},
		{
			name:    "device names are not markdown",
			m:       resetflow.Message{Text: "Pick.", Choices: []resetflow.Choice{{Value: "pick:f:0", Label: "**Bold** _phone_"}}},
			content: []string{`\*\*Bold\*\* \_phone\_`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := render(tc.m)
			for _, s := range tc.content {
				if !strings.Contains(r.content, s) {
					t.Errorf("content %q lacks %q", r.content, s)
				}
			}
			for _, s := range tc.not {
				if strings.Contains(r.content, s) {
					t.Errorf("content %q has %q", r.content, s)
				}
			}
			if tc.check != nil {
				tc.check(t, r.components)
			}
		})
	}
}

func choices(n int) []resetflow.Choice {
	var out []resetflow.Choice
	for i := range n {
		out = append(out, resetflow.Choice{Value: fmt.Sprintf("pick:f:%d", i), Label: fmt.Sprintf("Phone %d", i+1), Detail: "Model · OS"})
	}
	return out
}

func TestRenderFitsDiscordLimits(t *testing.T) {
	long := strings.Repeat("x", 3000)
	r := render(resetflow.Message{Text: long, Secret: resetflow.NewSecret("Temporary passcode", "KEEPME12")})
	if n := len([]rune(r.content)); n > maxContent {
		t.Errorf("content is %d characters; Discord takes %d", n, maxContent)
	}
	if !strings.Contains(r.content, "`KEEPME12`") {
		t.Error("shortening cut the passcode")
	}
}

func TestRedactTokens(t *testing.T) {
	for _, in := range []string{
		`Post "https://discord.com/api/v9/interactions/1175/aW50ZXJhY3Rpb24abc.DEF-123_x/callback": dial tcp: refused`,
		`Rate limit exceeded on https://discord.com/api/v9/webhooks/1180/aW50ZXJhY3Rpb24abc.DEF-123_x/messages/@original, retry after 1s`,
	} {
		got := redact(in)
		if strings.Contains(got, "aW50ZXJhY3Rpb24abc") || !strings.Contains(got, "[token]") {
			t.Errorf("redact(%q) = %q", in, got)
		}
	}
}

// TestRewriteTransport: requests for discord.com/api/v9 go to the configured
// base URL, keeping path, query, method, headers and body; others pass through.
func TestRewriteTransport(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b := make([]byte, 100)
		n, _ := r.Body.Read(b)
		body = string(b[:n])
		w.WriteHeader(204)
	}))
	defer srv.Close()
	rt, err := newRewriteTransport(srv.URL+"/proxy/api/v9", http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", discordgo.EndpointAPI+"channels/1/messages?wait=true", strings.NewReader(`{"a":1}`))
	req.Header.Set("Authorization", "Bot x")
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got.URL.Path != "/proxy/api/v9/channels/1/messages" || got.URL.RawQuery != "wait=true" || got.Method != "POST" || got.Header.Get("Authorization") != "Bot x" || body != `{"a":1}` {
		t.Errorf("proxied request %s %s?%s auth %q body %q", got.Method, got.URL.Path, got.URL.RawQuery, got.Header.Get("Authorization"), body)
	}
	if req.URL.Host != "discord.com" {
		t.Error("the caller's request was modified")
	}
	if _, err := newRewriteTransport("ftp://x", nil); err == nil {
		t.Error("an ftp api_url was accepted")
	}
}

// TestRegisterCommandIsIdempotent: registering writes the command only when
// it is missing or different, and leaves other commands alone.
func TestRegisterCommandIsIdempotent(t *testing.T) {
	f := discordtest.New(t, discordtest.Options{})
	cat := catalog.MustNew("en")
	a, err := New(Config{Token: f.Token(), APIURL: f.APIURL(), Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	writes := func() int {
		return len(f.CallsTo("POST", "/commands")) + len(f.CallsTo("PUT", "/commands")) + len(f.CallsTo("PATCH", "/commands"))
	}
	other := &discordgo.ApplicationCommand{Name: "other", Description: "someone else's"}
	old := Command(cat)
	old.Description = "an older description"
	f.SetCommands([]*discordgo.ApplicationCommand{other, old})

	if err := a.registerCommand(ctx, f.AppID()); err != nil {
		t.Fatal(err)
	}
	if writes() != 1 {
		t.Fatalf("%d writes for a changed command; want 1", writes())
	}
	cmds := f.Commands()
	if len(cmds) != 2 {
		t.Fatalf("%d commands; the other command must stay", len(cmds))
	}
	for _, c := range cmds {
		if c.Name == CommandName && !sameCommand(c, Command(cat)) {
			t.Errorf("stored command differs: %+v", c)
		}
	}
	for range 2 {
		if err := a.registerCommand(ctx, f.AppID()); err != nil {
			t.Fatal(err)
		}
	}
	if writes() != 1 {
		t.Errorf("%d writes after registering an unchanged command twice more; want still 1", writes())
	}
	c := Command(cat)
	if (*c.Contexts)[0] != discordgo.InteractionContextBotDM || len(*c.Contexts) != 1 || (*c.IntegrationTypes)[0] != discordgo.ApplicationIntegrationGuildInstall {
		t.Errorf("command contexts %v, integration types %v; want bot DM only, guild install", *c.Contexts, *c.IntegrationTypes)
	}
	if (*c.DescriptionLocalizations)[discordgo.Japanese] == "" || (*c.NameLocalizations)[discordgo.Japanese] == "" {
		t.Error("no Japanese name or description")
	}
}

func TestNewNeedsAToken(t *testing.T) {
	_, err := New(Config{Catalog: catalog.MustNew("en")})
	if err == nil || !strings.Contains(err.Error(), EnvToken) {
		t.Errorf("New without a token = %v; want an error naming %s", err, EnvToken)
	}
	_, err = New(Config{Token: "x", APIURL: "not a url", Catalog: catalog.MustNew("en")})
	if err == nil {
		t.Error("New accepted a bad api_url")
	}
}

func TestRateLimitedError(t *testing.T) {
	err := safe("x", &discordgo.RateLimitError{RateLimit: &discordgo.RateLimit{TooManyRequests: &discordgo.TooManyRequests{RetryAfter: 2 * time.Second}, URL: "https://discord.com/api/v9/webhooks/1/secret-token/messages/@original"}})
	rl := asRateLimited(err)
	if rl == nil || rl.RetryAfter() != 2*time.Second {
		t.Fatalf("asRateLimited = %v", rl)
	}
	if strings.Contains(rl.Error(), "secret-token") {
		t.Errorf("RateLimitedError text %q holds the token", rl.Error())
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(error(rl), &ra) {
		t.Error("RateLimitedError has no RetryAfter for the runtime")
	}
}

// TestGatewayURLFromGatewayBot: Open()'s GET /gateway is asked as GET /gateway/bot.
func TestGatewayURLFromGatewayBot(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.Path)
		w.Write([]byte(`{"url":"wss://gw.example"}`))
	}))
	defer srv.Close()
	rt, _ := newRewriteTransport(srv.URL+"/api/v9/", http.DefaultTransport)
	s, _ := discordgo.New("Bot x")
	s.Client = &http.Client{Transport: rt}
	if u, err := s.Gateway(); err != nil || !strings.HasPrefix(u, "wss://gw.example") {
		t.Fatalf("Gateway() = %q, %v", u, err)
	}
	if len(paths) != 1 || paths[0] != "GET /api/v9/gateway/bot" {
		t.Errorf("requests %v; want GET /api/v9/gateway/bot", paths)
	}
}

// FuzzRender: any engine message renders within Discord's limits, with the
// passcode whole and components Discord accepts.
func FuzzRender(f *testing.F) {
	f.Add("Pick.", "Phone **1**", "Model · OS", 3, "Cancel", "Pick a device.", "", "")
	f.Add(strings.Repeat("長い本文。", 500), strings.Repeat("x", 200), strings.Repeat("d", 300), 30, strings.Repeat("b", 120), strings.Repeat("n\n", 1500), "Temporary passcode", "Ab3`x9")
	f.Fuzz(func(t *testing.T, text, label, detail string, n int, button, notice, secretLabel, secret string) {
		if !utf8.ValidString(text + label + detail + button + notice + secretLabel + secret) {
			return
		}
		m := resetflow.Message{Text: text, Notice: notice, Buttons: []resetflow.Button{{Value: "cancel:f", Label: button}}}
		for i := range min(max(n, 0), 40) {
			m.Choices = append(m.Choices, resetflow.Choice{Value: fmt.Sprintf("pick:f:%d", i), Label: label, Detail: detail})
		}
		if secret != "" && len(secret) < 64 {
			m.Secret = resetflow.NewSecret(secretLabel, secret)
		}
		r := render(m)
		if n := utf8.RuneCountInString(r.content); n > maxContent {
			t.Fatalf("content %d characters", n)
		}
		if m.Secret != nil && !strings.Contains(r.content, codeSpan(secret)) {
			t.Fatalf("passcode cut: %q", r.content)
		}
		raw, err := json.Marshal(r.components)
		if err != nil {
			t.Fatal(err)
		}
		var rows []json.RawMessage
		json.Unmarshal(raw, &rows)
		if len(rows) > 5 {
			t.Fatalf("%d rows", len(rows))
		}
		for _, row := range rows {
			c, err := discordgo.MessageComponentFromJSON(row)
			if err != nil {
				t.Fatal(err)
			}
			for _, rc := range c.(*discordgo.ActionsRow).Components {
				switch v := rc.(type) {
				case *discordgo.Button:
					if utf8.RuneCountInString(v.Label) > maxButtonLabel || len(v.CustomID) > 100 {
						t.Fatalf("button %+v", v)
					}
				case *discordgo.SelectMenu:
					if len(v.Options) > maxOptions || utf8.RuneCountInString(v.Placeholder) > 150 {
						t.Fatalf("select with %d options", len(v.Options))
					}
					for _, o := range v.Options {
						if utf8.RuneCountInString(o.Label) > maxOption || utf8.RuneCountInString(o.Description) > maxOption {
							t.Fatalf("option %+v", o)
						}
					}
				}
			}
		}
	})
}

// TestRedactRetry: a passcode edit that fails is tried again 30s, 60s, 90s and
// 120s later; the fifth failure is the last edit (the message is then deleted).
func TestRedactRetry(t *testing.T) {
	for try, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 90 * time.Second, 4: 2 * time.Minute} {
		if got, again := redactRetry(try); !again || got != want {
			t.Errorf("after try %d: %v, %v; want %v, true", try, got, again, want)
		}
	}
	if _, again := redactRetry(5); again {
		t.Error("a sixth edit after five failures")
	}
}
