// Package teams is the Microsoft Teams chat adapter: employees talk to the bot
// in its personal chat and click its Adaptive Cards; helpdesk alerts go to a
// Teams channel as proactive messages with an "I'm on it" button.
//
// Teams reaches the bot through the Bot Framework: activities arrive as HTTP
// POSTs on the bot's web server, each with a JWT that is checked against the
// Bot Framework's OpenID metadata (go-oidc); the bot answers through the Bot
// Connector REST API with an app token from Entra ID (client credentials).
// There is no Microsoft SDK for Go: this is a thin client over net/http.
package teams

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/httppool"
	"github.com/passcodebot/passcodebot/internal/keyqueue"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/internal/ttlcache"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Platform is the adapter's name in resetflow.Address.
const Platform = "teams"

// PasswordEnv is the environment variable that holds the app's client secret.
const PasswordEnv = "PASSCODEBOT_TEAMS_APP_PASSWORD"

// Defaults.
const (
	DefaultPath       = "/api/messages"
	DefaultServiceURL = "https://smba.trafficmanager.net/teams/"
	// DefaultScope is the scope of the app token for the Connector API.
	DefaultScope = "https://api.botframework.com/.default"
	// DefaultMaxBody is the largest activity accepted; Teams' own are far smaller.
	DefaultMaxBody = 256 << 10
)

// TokenURL is the Entra token endpoint of a single-tenant app registration.
func TokenURL(tenantID string) string {
	return "https://login.microsoftonline.com/" + tenantID + "/oauth2/v2.0/token"
}

// Config is what the adapter needs. Zero values take defaults where noted.
type Config struct {
	AppID       string // the Entra app (client) id of the bot; the tokens' audience
	AppPassword string // its client secret; from PasswordEnv
	TenantID    string // the company's Entra tenant: people from other tenants are refused

	// HelpdeskConversationID is the Teams channel conversation that gets the
	// alerts (19:…@thread.tacv2); empty: no alerts on Teams.
	HelpdeskConversationID string
	// ServiceURL is where proactive messages go (the helpdesk channel, a person
	// with no recent activity); default the public cloud's. Replies go to the
	// service URL of the activity they answer, once its token is verified.
	ServiceURL string

	MetadataURL string // Bot Framework OpenID metadata; default DefaultMetadataURL
	Issuer      string // the tokens' issuer; default DefaultIssuer
	TokenURL    string // default TokenURL(TenantID)
	Scope       string // default DefaultScope
	Path        string // the messaging endpoint's path on the bot's server; default /api/messages
	MaxBody     int64  // default DefaultMaxBody

	Catalog   *catalog.Catalog
	Locale    string         // the helpdesk's language, and people's when Teams gives none; default the catalog's
	Location  *time.Location // clock times on cards; default Local
	SecretTTL time.Duration  // a temporary passcode is removed from the chat after this; default 10 min
	Clock     clock.Clock
	Log       *slog.Logger

	// OnAlertTaken is called once when someone presses "I'm on it", with their Entra object id.
	OnAlertTaken func(alertID, who string)
	// Ledger, when set, hears of every passcode message posted (with when it
	// must go) and removed, so it can outlive a crash; Restore takes its
	// entries back at the next start. A message's channel there is its
	// service URL and conversation id, separated by a space.
	Ledger onscreen.Ledger

	// HTTPClient is the base client for every outgoing call (metadata, keys,
	// token, Connector); default one with a 20 s timeout.
	HTTPClient *http.Client
}

// Adapter is the Teams chat. Make it with New; mount it with Register.
type Adapter struct {
	cfg  Config
	cat  *catalog.Catalog
	log  *slog.Logger
	clk  clock.Clock
	conn *connector
	auth *authenticator

	mu      sync.Mutex
	h       resetflow.Handler
	runCtx  context.Context
	trusted map[string]bool      // service URLs that came with a verified token, or configured
	refs    map[string]convRef   // Entra object id -> their personal chat with the bot
	members map[string]memberRec // Entra object id -> what the members API said, until expiry
	locales map[string]string    // Entra object id -> the language of their latest activity
	live    map[string]liveCard  // Entra object id -> their latest card with buttons

	seen       *ttlcache.Cache[struct{}] // activity ids
	used       *ttlcache.Cache[struct{}] // cards that were clicked
	superseded *ttlcache.Cache[struct{}] // cards replaced by a newer one
	posted     *ttlcache.Cache[struct{}] // helpdesk alert ids already posted
	screen     *onscreen.Screen          // the temporary passcodes on screen

	takeMu sync.Mutex
	boards map[string]*alertBoard // helpdesk activity id -> its alerts

	queues *keyqueue.Queue
	// settles takes the buttons off cards a newer one replaced, each
	// person's in order, settleWorkers at once.
	settles *keyqueue.Queue
	sendMu  sync.Map // Entra object id -> *sync.Mutex: a card is live before a click on it is read
	ready   chan struct{}
	once    sync.Once
}

type convRef struct{ serviceURL, conversationID string }

// New checks the configuration and returns an adapter. It does no I/O.
func New(cfg Config) (*Adapter, error) {
	switch {
	case strings.TrimSpace(cfg.AppID) == "":
		return nil, errors.New("teams: no app id (teams.app_id)")
	case cfg.AppPassword == "":
		return nil, fmt.Errorf("teams: no app password (set %s)", PasswordEnv)
	case strings.TrimSpace(cfg.TenantID) == "":
		return nil, errors.New("teams: no tenant id (teams.tenant_id)")
	case cfg.Catalog == nil:
		return nil, errors.New("teams: a catalog is required")
	}
	if cfg.ServiceURL == "" {
		cfg.ServiceURL = DefaultServiceURL
	}
	if cfg.MetadataURL == "" {
		cfg.MetadataURL = DefaultMetadataURL
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = TokenURL(cfg.TenantID)
	}
	if cfg.Scope == "" {
		cfg.Scope = DefaultScope
	}
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
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
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Transport: httppool.Transport(), Timeout: 20 * time.Second}
	}
	cc := clientcredentials.Config{ClientID: cfg.AppID, ClientSecret: cfg.AppPassword, TokenURL: cfg.TokenURL, Scopes: []string{cfg.Scope}}
	authed := cc.Client(context.WithValue(context.Background(), oauth2.HTTPClient, base))
	authed.Timeout = base.Timeout
	a := &Adapter{
		cfg: cfg, cat: cfg.Catalog, log: cfg.Log.With("platform", Platform), clk: cfg.Clock,
		conn:    &connector{http: authed, clk: cfg.Clock},
		auth:    &authenticator{metadataURL: cfg.MetadataURL, issuer: cfg.Issuer, appID: cfg.AppID, client: base, clk: cfg.Clock},
		trusted: map[string]bool{norm(cfg.ServiceURL): true},
		refs:    map[string]convRef{}, members: map[string]memberRec{}, locales: map[string]string{}, live: map[string]liveCard{},
		seen:       ttlcache.New[struct{}](cfg.Clock, time.Hour, 0),
		used:       ttlcache.New[struct{}](cfg.Clock, 24*time.Hour, 0),
		superseded: ttlcache.New[struct{}](cfg.Clock, 24*time.Hour, 0),
		posted:     ttlcache.New[struct{}](cfg.Clock, 24*time.Hour, 0),
		boards:     map[string]*alertBoard{}, queues: &keyqueue.Queue{}, settles: &keyqueue.Queue{Limit: settleWorkers}, runCtx: context.Background(), ready: make(chan struct{}),
	}
	a.screen = onscreen.New(onscreen.Config{Clock: cfg.Clock, Log: a.log, TTL: cfg.SecretTTL, Ledger: cfg.Ledger,
		Remove: a.redact, Retry: redactRetry, Timeout: 60 * time.Second})
	return a, nil
}

func norm(serviceURL string) string { return strings.TrimRight(serviceURL, "/") }

// Platform is "teams".
func (a *Adapter) Platform() string { return Platform }

// Path is the messaging endpoint's path.
func (a *Adapter) Path() string { return a.cfg.Path }

// HelpdeskConfigured reports whether alerts are posted on Teams.
func (a *Adapter) HelpdeskConfigured() bool { return a.cfg.HelpdeskConversationID != "" }

// Register mounts the messaging endpoint on the bot's HTTP server.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.Handle("POST "+a.cfg.Path, a)
}

// Run hands people's messages and clicks to h until ctx ends. Activities
// arrive on the HTTP server (Register); those before Run are refused with 503.
func (a *Adapter) Run(ctx context.Context, h resetflow.Handler) error {
	a.mu.Lock()
	a.h, a.runCtx = h, ctx
	a.mu.Unlock()
	a.once.Do(func() { close(a.ready) })
	a.log.Info("teams messaging endpoint ready", "path", a.cfg.Path, "app_id", a.cfg.AppID, "helpdesk", a.cfg.HelpdeskConversationID != "")
	<-ctx.Done()
	a.mu.Lock()
	a.h = nil
	a.mu.Unlock()
	// Finish the work people started, then take every passcode still shown
	// out of the chat, so none is left behind by a restart.
	a.queues.Wait(5 * time.Second)
	a.settles.Wait(5 * time.Second)
	a.screen.RemoveAll()
	return nil
}

// settleWorkers is how many updates of replaced cards run at once.
const settleWorkers = 8

// Ready is closed once Run takes activities.
func (a *Adapter) Ready() <-chan struct{} { return a.ready }

func (a *Adapter) handler() (resetflow.Handler, context.Context) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.h, a.runCtx
}

func (a *Adapter) trust(serviceURL string) {
	a.mu.Lock()
	known := a.trusted[norm(serviceURL)]
	a.trusted[norm(serviceURL)] = true
	a.mu.Unlock()
	if !known {
		a.log.Info("teams: activities come from this service URL (teams.service_url may name it for proactive messages)", "service_url", serviceURL)
	}
}

func (a *Adapter) isTrusted(serviceURL string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.trusted[norm(serviceURL)]
}

// errUntrusted refuses to call a service URL that no verified token named.
var errUntrusted = errors.New("teams: the service URL did not come with a verified token")
