package main

// The floor on Discord and Teams (FLOOR_PLATFORM=discord or teams): the same
// minimum I/O per action as on Slack, through each platform's own protocol.
//
// Discord (discordgo, gateway + REST): DM "reset" -> one Graph device list
// (the person's UPN from the links file, as the bot's account links give it,
// read once at start), one message with the device's link button; the device
// link (GET, POST of the pick page -> the sign-in form) -> nothing in the
// chat; sign-in -> one message (the warning, a button); "Reset passcode" (an
// interaction) -> the interaction callback first (type 6, deferred update),
// then the shared reset: one durable record, one resetPasscode, one message,
// result reads, the passcode and the success notice.
//
// Teams (net/http, Bot Framework): every activity's token checked against
// the Bot Framework keys (read once at start) before anything else, then the
// HTTP 200 at once and the work on a goroutine. "reset" -> one Graph device
// list (by the activity's Entra object id), one Connector post (a card with
// the device's Action.OpenUrl link); sign-in -> one post (a card with the
// Action.Submit button); "Reset passcode" -> the shared reset, posts through
// the Connector with an app token (client credentials, cached).
//
// Configuration (besides the shared FLOOR_* of main.go): FLOOR_PLATFORM;
// Discord: FLOOR_DISCORD_API_URL, FLOOR_DISCORD_TOKEN, FLOOR_DISCORD_LINKS (a
// CSV of discord_user_id,upn,...); Teams: FLOOR_TEAMS_APP_ID,
// FLOOR_TEAMS_APP_PASSWORD, FLOOR_TEAMS_METADATA_URL, FLOOR_TEAMS_TOKEN_URL;
// FLOOR_TEXT_PASSCODE_LABEL, the passcode message's label.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/passcodebot/passcodebot/internal/httppool"
)

// firstDevice is the person's first device: one Graph list.
func (f *floor) firstDevice(ctx context.Context, user string) (id, name string, err error) {
	var page struct {
		Value []struct {
			ID   string `json:"id"`
			Name string `json:"deviceName"`
		} `json:"value"`
	}
	if err := f.graphDo(ctx, http.MethodGet, "/beta/users/"+url.PathEscape(user)+
		"/managedDevices?$select=id,deviceName,operatingSystem,deviceEnrollmentType", &page); err != nil {
		return "", "", err
	}
	if len(page.Value) == 0 {
		return "", "", errors.New("no device")
	}
	return page.Value[0].ID, page.Value[0].Name, nil
}

// remember keeps a person and makes their sign-in link's token.
func (f *floor) remember(user string, p *person) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := hex.EncodeToString(b)
	f.mu.Lock()
	f.people[user] = p
	f.links[token] = user
	f.mu.Unlock()
	return token
}

func (f *floor) ready() {
	if p := os.Getenv("FLOOR_READY_FILE"); p != "" {
		_ = os.WriteFile(p, []byte(f.base), 0o600)
	}
}

// --- Discord ---

type discordOutput struct {
	s     *discordgo.Session
	label string
}

func (o discordOutput) warning(ctx context.Context, p *person) error {
	_, err := o.s.ChannelMessageSendComplex(p.channel, &discordgo.MessageSend{Content: "Warning", Components: []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "Reset passcode", Style: discordgo.DangerButton, CustomID: "floor_reset"}}},
	}}, discordgo.WithContext(ctx))
	return err
}

func (o discordOutput) text(ctx context.Context, p *person, s string) error {
	_, err := o.s.ChannelMessageSend(p.channel, s, discordgo.WithContext(ctx))
	return err
}

func (o discordOutput) secret(ctx context.Context, p *person, passcode string) error {
	return o.text(ctx, p, "**"+o.label+":** `"+passcode+"`")
}

// rewrite sends discordgo's requests for https://discord.com/api/v9/ to the fake.
type rewrite struct {
	to   string
	base http.RoundTripper
}

func (t rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	rest, ok := strings.CutPrefix(req.URL.String(), discordgo.EndpointAPI)
	if !ok {
		return t.base.RoundTrip(req)
	}
	if rest == "gateway" {
		rest = "gateway/bot"
	}
	u, err := url.Parse(strings.TrimRight(t.to, "/") + "/" + rest)
	if err != nil {
		return nil, err
	}
	r := req.Clone(req.Context())
	r.URL, r.Host = u, u.Host
	return t.base.RoundTrip(r)
}

func readLinks(path string) (map[string]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for i, r := range rows {
		if i > 0 && len(r) >= 2 {
			out[r[0]] = r[1]
		}
	}
	return out, nil
}

func (f *floor) runDiscord(ctx context.Context, ln net.Listener, mux *http.ServeMux) error {
	links, err := readLinks(os.Getenv("FLOOR_DISCORD_LINKS"))
	if err != nil {
		return err
	}
	s, err := discordgo.New("Bot " + os.Getenv("FLOOR_DISCORD_TOKEN"))
	if err != nil {
		return err
	}
	// The same HTTP client as passcodebot's Discord adapter: a clone of Go's
	// default transport (no cap on connections), 20 s timeout.
	s.Client = &http.Client{Transport: rewrite{to: os.Getenv("FLOOR_DISCORD_API_URL"), base: httppool.Transport()}, Timeout: 20 * time.Second}
	s.StateEnabled = false
	s.SyncEvents = true
	s.ShouldReconnectOnError = false
	s.Identify.Intents = discordgo.IntentsDirectMessages
	f.out = discordOutput{s: s, label: os.Getenv("FLOOR_TEXT_PASSCODE_LABEL")}
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) {
		if m.Author == nil || m.Author.Bot || m.GuildID != "" {
			return
		}
		user, channel, upn := m.Author.ID, m.ChannelID, links[m.Author.ID]
		go func() { f.failed(user, f.discordDevices(ctx, s, user, channel, upn)) }()
	})
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) {
		if i.Type != discordgo.InteractionMessageComponent || i.MessageComponentData().CustomID != "floor_reset" {
			return
		}
		u := i.User
		if u == nil && i.Member != nil {
			u = i.Member.User
		}
		if u == nil {
			return
		}
		in, user := i.Interaction, u.ID
		go func() {
			if err := s.InteractionRespond(in, &discordgo.InteractionResponse{Type: discordgo.InteractionResponseDeferredMessageUpdate}, discordgo.WithContext(ctx)); err != nil {
				f.failed(user, err)
				return
			}
			f.failed(user, f.reset(ctx, user))
		}()
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	if err := s.Open(); err != nil {
		return err
	}
	defer s.Close()
	f.ready()
	<-ctx.Done()
	return nil
}

func (f *floor) discordDevices(ctx context.Context, s *discordgo.Session, user, channel, upn string) error {
	if upn == "" {
		return errors.New("not linked")
	}
	id, name, err := f.firstDevice(ctx, upn)
	if err != nil {
		return err
	}
	token := f.remember(user, &person{email: upn, channel: channel, device: id, name: name})
	if err := f.journal.add(ctx, "devices listed"); err != nil {
		return err
	}
	_, err = s.ChannelMessageSendComplex(channel, &discordgo.MessageSend{Content: "Which device?", Components: []discordgo.MessageComponent{
		discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.Button{Label: "1. " + name, Style: discordgo.LinkButton, URL: f.base + "/r/" + token}}},
	}}, discordgo.WithContext(ctx))
	return err
}

// --- Teams ---

type teamsOutput struct {
	connector *http.Client // with the app token
}

type teamsActivity struct {
	Type       string         `json:"type"`
	Text       string         `json:"text"`
	ServiceURL string         `json:"serviceUrl"`
	Value      map[string]any `json:"value"`
	From       struct {
		ID          string `json:"id"`
		AADObjectID string `json:"aadObjectId"`
	} `json:"from"`
	Conversation struct {
		ID string `json:"id"`
	} `json:"conversation"`
}

func (o teamsOutput) send(ctx context.Context, p *person, act map[string]any) error {
	raw, err := json.Marshal(act)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(p.service, "/")+"/v3/conversations/"+url.PathEscape(p.channel)+"/activities", strings.NewReader(string(raw)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := o.connector.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("connector: %s", resp.Status)
	}
	return nil
}

func card(text string, actions ...map[string]any) map[string]any {
	return map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive",
		"content": map[string]any{"type": "AdaptiveCard", "version": "1.4",
			"body": []any{map[string]any{"type": "TextBlock", "text": text, "wrap": true}}, "actions": actions},
	}}}
}

func (o teamsOutput) warning(ctx context.Context, p *person) error {
	return o.send(ctx, p, card("Warning", map[string]any{"type": "Action.Submit", "title": "Reset passcode", "data": map[string]any{"floor": "reset"}}))
}

func (o teamsOutput) text(ctx context.Context, p *person, s string) error {
	return o.send(ctx, p, map[string]any{"type": "message", "text": s})
}

func (o teamsOutput) secret(ctx context.Context, p *person, passcode string) error {
	return o.text(ctx, p, os.Getenv("FLOOR_TEXT_PASSCODE_LABEL")+": `"+passcode+"`")
}

// botFrameworkKeys reads the signing keys once: the OpenID metadata, then its JWKS.
func botFrameworkKeys(ctx context.Context, c *http.Client, metadata string) (map[string]*rsa.PublicKey, error) {
	get := func(u string, into any) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		return json.NewDecoder(resp.Body).Decode(into)
	}
	var md struct {
		JWKS string `json:"jwks_uri"`
	}
	if err := get(metadata, &md); err != nil {
		return nil, err
	}
	var set struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := get(md.JWKS, &set); err != nil {
		return nil, err
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}
	return keys, nil
}

func (f *floor) runTeams(ctx context.Context, ln net.Listener, mux *http.ServeMux, pool *http.Client) error {
	env := os.Getenv
	appID := env("FLOOR_TEAMS_APP_ID")
	keys, err := botFrameworkKeys(ctx, pool, env("FLOOR_TEAMS_METADATA_URL"))
	if err != nil {
		return err
	}
	cc := &clientcredentials.Config{ClientID: appID, ClientSecret: env("FLOOR_TEAMS_APP_PASSWORD"), TokenURL: env("FLOOR_TEAMS_TOKEN_URL"),
		Scopes: []string{"https://api.botframework.com/.default"}, AuthStyle: oauth2.AuthStyleInParams}
	// The same HTTP client under the app token as passcodebot's Teams adapter
	// (internal/httppool's transport, 20 s timeout).
	out := teamsOutput{connector: cc.Client(context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: httppool.Transport(), Timeout: 20 * time.Second}))}
	f.out = out
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuer("https://api.botframework.com"), jwt.WithAudience(appID), jwt.WithExpirationRequired())
	keyFor := func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		if k := keys[kid]; k != nil {
			return k, nil
		}
		return nil, errors.New("unknown key")
	}
	mux.HandleFunc("POST /api/messages", func(w http.ResponseWriter, r *http.Request) {
		raw, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		claims := jwt.MapClaims{}
		if _, err := parser.ParseWithClaims(raw, claims, keyFor); err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var a teamsActivity
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&a); err != nil || claims["serviceurl"] != a.ServiceURL {
			http.Error(w, "bad activity", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		if a.Type != "message" {
			return
		}
		user := a.From.ID
		if a.Value["floor"] == "reset" {
			go func() { f.failed(user, f.reset(ctx, user)) }()
			return
		}
		p := &person{channel: a.Conversation.ID, service: a.ServiceURL, email: a.From.AADObjectID}
		go func() { f.failed(user, f.teamsDevices(ctx, out, user, p)) }()
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	f.ready()
	<-ctx.Done()
	return nil
}

func (f *floor) teamsDevices(ctx context.Context, out teamsOutput, user string, p *person) error {
	id, name, err := f.firstDevice(ctx, p.email)
	if err != nil {
		return err
	}
	p.device, p.name = id, name
	token := f.remember(user, p)
	if err := f.journal.add(ctx, "devices listed"); err != nil {
		return err
	}
	return out.send(ctx, p, card("Which device?", map[string]any{"type": "Action.OpenUrl", "title": "1. " + name, "url": f.base + "/r/" + token}))
}
