// Package discord is the Discord chat adapter: employees talk to the bot in
// direct messages (text, or the /reset-passcode command) and click its buttons;
// helpdesk alerts go to a guild channel as embeds with an "I'm on it" button.
//
// It uses github.com/bwmarrin/discordgo for the gateway and the REST API, with
// a watchdog around the gateway session (discordgo v0.29.0 can hang in Open())
// and a rewriting HTTP transport, so the REST base URL is configuration and no
// package variable is changed.
package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/httppool"
	"github.com/passcodebot/passcodebot/internal/keyqueue"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/internal/ttlcache"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Platform is the adapter's name in resetflow.Address.
const Platform = "discord"

// DefaultAPIURL is Discord's REST API.
const DefaultAPIURL = "https://discord.com/api/v9/"

// Permissions are the bot's permissions in the helpdesk channel: View Channel,
// Send Messages, Embed Links, Read Message History. Direct messages need none.
const Permissions = discordgo.PermissionViewChannel | discordgo.PermissionSendMessages |
	discordgo.PermissionEmbedLinks | discordgo.PermissionReadMessageHistory

// Scopes are the OAuth2 scopes of the invite: the bot user and its commands.
const Scopes = "bot applications.commands"

// InviteURL is the link an administrator opens to add the bot to the server
// that holds the helpdesk channel.
func InviteURL(applicationID string) string {
	v := url.Values{}
	v.Set("client_id", applicationID)
	v.Set("scope", Scopes)
	v.Set("permissions", strconv.FormatInt(Permissions, 10))
	v.Set("integration_type", "0")
	return "https://discord.com/oauth2/authorize?" + v.Encode()
}

// Config is what the adapter needs. Zero values take defaults where noted.
type Config struct {
	Token             string // the bot token, without "Bot "; from EnvToken
	APIURL            string // REST base that replaces https://discord.com/api/v9/ (a REST proxy); default Discord
	ApplicationID     string // default: read from Discord at start
	HelpdeskChannelID string // guild channel for helpdesk alerts; empty: no alerts on Discord
	Catalog           *catalog.Catalog
	Locale            string         // the helpdesk's language, and people's when Discord gives none; default the catalog's
	Location          *time.Location // clock times where Discord's own timestamps can't be used; default Local
	SecretTTL         time.Duration  // a temporary passcode is edited out of the DM after this long; default 10 min
	Clock             clock.Clock    // secrets, dedupe windows, interaction age; default the wall clock
	WatchdogClock     clock.Clock    // the gateway watchdog's clock; default Clock
	Watchdog          Watchdog
	Log               *slog.Logger
	// OnAlertTaken is called once when someone presses "I'm on it" on an alert,
	// with the Discord user id of who did; optional.
	OnAlertTaken func(alertID, discordUser string)
	// Ledger, when set, hears of every passcode message posted (with when it
	// must go) and removed, so it can outlive a crash; Restore takes its
	// entries back at the next start.
	Ledger onscreen.Ledger
	// Transport is the HTTP transport under the URL rewriting, for every REST
	// call; default two of httppool's, one for interaction callbacks alone.
	Transport http.RoundTripper
}

// Adapter is the Discord chat. Make it with New.
type Adapter struct {
	cfg    Config
	token  string
	cat    *catalog.Catalog
	log    *slog.Logger
	clk    clock.Clock
	client *http.Client
	rest   *discordgo.Session // REST only; never opened
	// answers is REST for interaction callbacks only, on connections of its
	// own: an answer due within 3 s never waits for a connection behind the
	// messages being posted (issue 17: at 1,000 people at once the answers
	// queued behind them for the transport's PerHost connections).
	answers *discordgo.Session
	gw      *gateway

	mu       sync.Mutex
	h        resetflow.Handler
	runCtx   context.Context
	botID    string
	appID    string
	dms      map[string]string // user id -> verified DM channel id
	dmOwners map[string]string // DM channel id (verified or heard) -> its person's user id
	// heard holds the DM channel a person wrote to the bot from (a MESSAGE_CREATE
	// outside any server: only they and the bot are in it), until dms has one.
	// Replies without a passcode go there without asking Discord to open the DM
	// (discordgo sends those requests one at a time: at 1,000 new people at once
	// they were most of the wait, issue 17); a passcode still waits for dms.
	heard      map[string]string
	locales    map[string]string // user id -> the locale of their latest interaction
	live       map[string]liveMessage
	originals  map[string]*pendingOriginal // user id -> a deferred /reset-passcode answer
	updated    map[string][2]string        // user id + Message.Replace -> channel id, message id it updates
	registered bool

	seen   *ttlcache.Cache[struct{}] // interaction ids
	used   *ttlcache.Cache[struct{}] // message id + custom id of components that were acted on
	posted *ttlcache.Cache[struct{}] // helpdesk alert ids already posted

	takeMu sync.Mutex
	taken  map[string]map[string]taker // helpdesk message id -> alert id -> who took it

	alertPosts alertPosts // where alerts were posted, for takes in the console

	queues *keyqueue.Queue // each person's events in order, people in parallel
	// settles greys out the buttons of messages a newer one replaced, each
	// person's in order, a few at a time: nobody waits for these edits, so
	// they neither hold up the message that replaced them nor fill the REST
	// connections the replies need (issue 17: at 1,000 people at once,
	// about 500 requests waited for one of the 64 connections).
	settles *keyqueue.Queue
	screen  *onscreen.Screen // the temporary passcodes on screen
}

// New checks the configuration and returns an adapter. It does no I/O.
func New(cfg Config) (*Adapter, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("discord: no bot token (set %s)", EnvToken)
	}
	if cfg.Catalog == nil {
		return nil, errors.New("discord: a catalog is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	if cfg.Locale == "" {
		cfg.Locale = cfg.Catalog.Default()
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.SecretTTL <= 0 {
		cfg.SecretTTL = 10 * time.Minute
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.WatchdogClock == nil {
		cfg.WatchdogClock = cfg.Clock
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base, answersBase := cfg.Transport, cfg.Transport
	if base == nil {
		base = httppool.Transport() // many people's requests to one host at once
		answersBase = httppool.Transport()
	}
	rt, err := newRewriteTransport(cfg.APIURL, base)
	if err != nil {
		return nil, err
	}
	answersRT, err := newRewriteTransport(cfg.APIURL, answersBase)
	if err != nil {
		return nil, err
	}
	a := &Adapter{
		cfg: cfg, token: cfg.Token, cat: cfg.Catalog, log: cfg.Log.With("platform", Platform), clk: cfg.Clock,
		client: &http.Client{Transport: rt, Timeout: 20 * time.Second},
		appID:  cfg.ApplicationID,
		dms:    map[string]string{}, dmOwners: map[string]string{}, heard: map[string]string{}, locales: map[string]string{}, live: map[string]liveMessage{},
		originals: map[string]*pendingOriginal{}, updated: map[string][2]string{},
		seen:    ttlcache.New[struct{}](cfg.Clock, time.Hour, 0),
		used:    ttlcache.New[struct{}](cfg.Clock, 24*time.Hour, 0),
		posted:  ttlcache.New[struct{}](cfg.Clock, 24*time.Hour, 0),
		taken:   map[string]map[string]taker{},
		queues:  &keyqueue.Queue{},
		settles: &keyqueue.Queue{Limit: settleWorkers},
		runCtx:  context.Background(),
	}
	a.screen = onscreen.New(onscreen.Config{Clock: cfg.Clock, Log: a.log, TTL: cfg.SecretTTL, Ledger: cfg.Ledger,
		Remove: a.redact, Retry: redactRetry, Timeout: 15 * time.Second})
	a.rest, _ = discordgo.New("Bot " + cfg.Token)
	a.rest.Client = a.client
	a.rest.ShouldRetryOnRateLimit = false
	a.rest.StateEnabled = false
	a.rest.LogLevel = discordgo.LogError
	a.answers, _ = discordgo.New("Bot " + cfg.Token)
	a.answers.Client = &http.Client{Transport: answersRT, Timeout: 20 * time.Second}
	a.answers.ShouldRetryOnRateLimit = false
	a.answers.StateEnabled = false
	a.answers.LogLevel = discordgo.LogError
	a.gw = newGateway(a, cfg.WatchdogClock, cfg.Watchdog, a.log)
	return a, nil
}

// Platform is "discord".
func (a *Adapter) Platform() string { return Platform }

// HelpdeskConfigured reports whether alerts are posted on Discord.
func (a *Adapter) HelpdeskConfigured() bool { return a.cfg.HelpdeskChannelID != "" }

// Healthy is nil while the gateway session is READY and answers heartbeats.
func (a *Adapter) Healthy() error {
	if err := a.gw.healthy(); err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	return nil
}

// ApplicationID is the application's id, once known.
func (a *Adapter) ApplicationID() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.appID
}

func (a *Adapter) setBotUser(id string) {
	a.mu.Lock()
	a.botID = id
	a.mu.Unlock()
}

func (a *Adapter) setAppID(id string) {
	a.mu.Lock()
	if a.appID == "" {
		a.appID = id
	}
	a.mu.Unlock()
}

// settleWorkers is how many edits of replaced messages run at once.
const settleWorkers = 8

// ErrUnauthorized is returned by Run when Discord refuses the bot token.
var ErrUnauthorized = errors.New("discord: the bot token was refused (check " + EnvToken + ")")

// Run connects to Discord and hands people's messages and clicks to h until
// ctx ends. It fails at once when the token is refused; network trouble is
// retried by the gateway watchdog and shows in Healthy.
func (a *Adapter) Run(ctx context.Context, h resetflow.Handler) error {
	a.mu.Lock()
	a.h, a.runCtx = h, ctx
	a.mu.Unlock()

	if err := a.checkToken(ctx); err != nil {
		return err
	}
	a.gw.run(ctx)

	// Shutting down: finish the work people started, then take every passcode
	// still on screen out of the chat, so none is left behind by a restart.
	a.queues.Wait(5 * time.Second)
	a.settles.Wait(5 * time.Second)
	a.screen.RemoveAll()
	return nil
}

// checkToken reads the bot user, the application and the gateway's session
// limits through the REST API (and so through the configured URL).
func (a *Adapter) checkToken(ctx context.Context) error {
	opt := discordgo.WithContext(ctx)
	me, err := a.rest.User("@me", opt)
	if httpStatus(err) == http.StatusUnauthorized || errors.Is(err, discordgo.ErrUnauthorized) {
		return ErrUnauthorized
	}
	if err != nil {
		a.log.Warn("discord REST API not reachable at start; the gateway watchdog keeps trying", "err", safe("", err))
		return nil
	}
	a.setBotUser(me.ID)
	if a.ApplicationID() == "" {
		if app, err := a.rest.Application("@me"); err == nil {
			a.setAppID(app.ID)
		} else {
			a.log.Warn("reading the application id failed; it is taken from READY", "err", safe("", err))
		}
	}
	if gb, err := a.rest.GatewayBot(opt); err == nil && gb.SessionStartLimit.Total > 0 {
		a.log.Info("discord gateway", "shards", gb.Shards, "session_starts_remaining", gb.SessionStartLimit.Remaining)
	}
	if id := a.ApplicationID(); id != "" {
		a.log.Info("discord bot ready to be invited (scopes bot, applications.commands; View Channel, Send Messages, Embed Links, Read Message History)", "bot_user", me.Username, "invite_url", InviteURL(id))
	}
	return nil
}

// afterReady registers the slash command once per process. It runs on the
// gateway reader, so the work goes to a goroutine.
func (a *Adapter) afterReady() {
	a.mu.Lock()
	if a.registered {
		a.mu.Unlock()
		return
	}
	a.registered = true
	appID, ctx := a.appID, a.runCtx
	a.mu.Unlock()
	go func() {
		if err := a.registerCommand(ctx, appID); err != nil {
			a.log.Error("registering the /"+CommandName+" command failed; it is tried again at the next READY", "err", safe("", err))
			a.mu.Lock()
			a.registered = false
			a.mu.Unlock()
		}
	}()
}

func (a *Adapter) handler() (resetflow.Handler, context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.h, a.runCtx
}
