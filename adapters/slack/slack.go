// Package slack is the Slack chat adapter. Employees talk to the bot in its
// direct messages (the App Home messages tab is the same conversation) or with
// /reset-passcode; helpdesk alerts go to a channel with an "I'm on it" button.
//
// Slack reaches the bot over Socket Mode (the default: no public URL) or over
// HTTP (Register mounts the Events API, interactivity and slash command
// endpoints, checked with the signing secret). Either way every envelope is
// acknowledged at once and the work happens afterwards, one person at a time
// in order; Slack's redeliveries and repeated clicks are recognised and dropped.
//
// A temporary passcode is only ever posted to the requester's own IM, opened
// and checked with conversations.open, and replaced by a notice after SecretTTL.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/httppool"
	"github.com/passcodebot/passcodebot/internal/keyqueue"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/internal/ttlcache"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Platform is the adapter's name in resetflow.Address.
const Platform = "slack"

// Mode is how Slack delivers events to the bot.
type Mode string

const (
	ModeSocket Mode = "socket" // Socket Mode websocket; needs the app-level token
	ModeHTTP   Mode = "http"   // Events API over HTTP; needs the signing secret and a public URL
)

// Config is the adapter's configuration. Zero durations take the defaults.
type Config struct {
	BotToken      string // xoxb-: every Web API call
	AppToken      string // xapp- with connections:write: Socket Mode only
	SigningSecret string // HTTP mode only
	Mode          Mode   // default ModeSocket
	APIURL        string // Web API base, default https://slack.com/api/ (GovSlack differs)

	HelpdeskChannel string // channel id for helpdesk alerts; the bot must be a member
	// EmailDomainRewrite maps a Slack email's domain suffix to the directory's,
	// e.g. "@corp.example" -> "@contoso.example". Matching ignores case.
	EmailDomainRewrite map[string]string

	SecretTTL    time.Duration // how long a temporary passcode stays in the chat; default 10m
	UserCacheTTL time.Duration // how long users.info answers are reused; default 10m
	DedupeTTL    time.Duration // how long event and click ids are remembered; default 15m
	DedupeMax    int           // at most this many remembered ids; default 100000
	// RestartBackoff is the first wait before opening the Socket Mode
	// connection is tried again after it failed; it doubles up to 5 minutes.
	// Default 1s.
	RestartBackoff time.Duration
	// HealthGrace is how long the socket may be down before Healthy fails. Default 2m.
	HealthGrace time.Duration
	// PingInterval is how long the socket may go without a ping (or any frame)
	// from Slack before the client drops it and reconnects; default 30s.
	PingInterval time.Duration

	Catalog    *catalog.Catalog
	Location   *time.Location // clock times in messages; default time.Local
	Clock      clock.Clock
	Log        *slog.Logger
	HTTPClient *http.Client // default: pooled connections, 30s timeout

	// OnAlertTaken, when set, is called once when someone presses "I'm on it"
	// on a helpdesk alert, with the alert id and their Slack user id.
	OnAlertTaken func(alertID, slackUser string)
	// Ledger, when set, hears of every passcode message posted (with when it
	// must go) and removed, so it can outlive a crash; Restore takes its
	// entries back at the next start.
	Ledger onscreen.Ledger
	// RecentResets, when set, lists a person's recent resets (by their company
	// identity) for the App Home tab, oldest first.
	RecentResets func(ctx context.Context, identity string) ([]HomeReset, error)
}

// Adapter is the Slack chat platform. Create it with New.
type Adapter struct {
	cfg Config
	api *slackgo.Client
	cat *catalog.Catalog
	clk clock.Clock
	log *slog.Logger

	users   *ttlcache.Cache[*member]  // users.info answers, by user id
	ims     *ttlcache.Cache[dm]       // user id -> the bot's IM with them and its newest message (dm.go)
	seen    *ttlcache.Cache[struct{}] // event ids, click keys, command trigger ids
	refused *ttlcache.Cache[struct{}] // bots already told that the bot only talks with people
	taken   *ttlcache.Cache[string]   // alert id -> who took it
	updated *ttlcache.Cache[string]   // user id + Message.Replace -> channel + ts of the message it updates
	screen  *onscreen.Screen          // the temporary passcodes on screen
	posted  postedAlerts              // where alerts were posted, for takes in the console
	queues  keyqueue.Queue
	decodes keyqueue.Queue // the Socket Mode payloads, decoded in arrival order (socket.go)

	ready   chan struct{} // closed once Run knows the bot's identity and handler
	life    context.Context
	end     context.CancelFunc
	h       resetflow.Handler
	botUser string
	teamID  string
	entID   string

	mu        sync.Mutex
	fatal     error
	connected bool
	downSince time.Time
}

// New checks the configuration and returns an adapter. Nothing connects before Run.
func New(cfg Config) (*Adapter, error) {
	if cfg.Mode == "" {
		cfg.Mode = ModeSocket
	}
	switch {
	case cfg.Catalog == nil:
		return nil, errors.New("slack: a catalog is required")
	case cfg.BotToken == "":
		return nil, errors.New("slack: the bot token is required")
	case cfg.Mode == ModeSocket && cfg.AppToken == "":
		return nil, errors.New("slack: Socket Mode needs the app-level token")
	case cfg.Mode == ModeHTTP && cfg.SigningSecret == "":
		return nil, errors.New("slack: HTTP mode needs the signing secret")
	case cfg.Mode != ModeSocket && cfg.Mode != ModeHTTP:
		return nil, fmt.Errorf("slack: mode %q is not socket or http", cfg.Mode)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = slackgo.APIURL
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.SecretTTL, 10*time.Minute)
	def(&cfg.UserCacheTTL, 10*time.Minute)
	def(&cfg.DedupeTTL, 15*time.Minute)
	def(&cfg.RestartBackoff, time.Second)
	def(&cfg.HealthGrace, 2*time.Minute)
	if cfg.DedupeMax <= 0 {
		cfg.DedupeMax = 100_000
	}
	if cfg.Location == nil {
		cfg.Location = time.Local
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	opts := []slackgo.Option{slackgo.OptionAPIURL(cfg.APIURL)}
	if cfg.AppToken != "" {
		opts = append(opts, slackgo.OptionAppLevelToken(cfg.AppToken))
	}
	if cfg.HTTPClient == nil {
		// Keep connections to Slack open for many concurrent conversations (the
		// default keeps two), use at most as many at once (a burst waits for a
		// connection instead of opening sockets without bound), and never let a
		// hung request hold a person's queue.
		cfg.HTTPClient = &http.Client{Transport: httppool.Transport(), Timeout: 30 * time.Second}
	}
	opts = append(opts, slackgo.OptionHTTPClient(cfg.HTTPClient))
	life, end := context.WithCancel(context.Background())
	a := &Adapter{
		cfg:       cfg,
		api:       slackgo.New(cfg.BotToken, opts...),
		cat:       cfg.Catalog,
		clk:       cfg.Clock,
		log:       cfg.Log.With("platform", Platform),
		users:     ttlcache.New[*member](cfg.Clock, cfg.UserCacheTTL, 50_000),
		ims:       ttlcache.New[dm](cfg.Clock, 24*time.Hour, 100_000), // an IM's id does not change
		seen:      ttlcache.New[struct{}](cfg.Clock, cfg.DedupeTTL, cfg.DedupeMax),
		refused:   ttlcache.New[struct{}](cfg.Clock, time.Hour, 10_000),
		taken:     ttlcache.New[string](cfg.Clock, 7*24*time.Hour, 100_000),
		updated:   ttlcache.New[string](cfg.Clock, time.Hour, 50_000),
		ready:     make(chan struct{}),
		life:      life,
		end:       end,
		downSince: cfg.Clock.Now(),
	}
	a.screen = onscreen.New(onscreen.Config{Clock: cfg.Clock, Log: a.log, TTL: cfg.SecretTTL, Ledger: cfg.Ledger, Remove: a.removeSecret})
	return a, nil
}

// Platform is "slack".
func (a *Adapter) Platform() string { return Platform }

// Ready is closed once Run has learned the bot's identity and takes events.
func (a *Adapter) Ready() <-chan struct{} { return a.ready }

// Run learns the bot's identity (auth.test), then receives events until ctx
// ends: over Socket Mode, or, in HTTP mode, through the handlers of Register.
// It returns early only when Slack refuses the tokens; Healthy then fails.
// Call it once.
func (a *Adapter) Run(ctx context.Context, h resetflow.Handler) error {
	defer func() {
		a.end()
		a.decodes.Close()
		a.queues.Close()
	}()
	if err := a.identify(ctx, h); err != nil {
		return err
	}
	var err error
	if a.cfg.Mode == ModeHTTP {
		a.setConnected(true)
		<-ctx.Done()
		err = ctx.Err()
	} else {
		err = a.supervise(ctx)
	}
	a.screen.RemoveAll()
	return err
}

// identify calls auth.test until it answers, retrying transient failures.
func (a *Adapter) identify(ctx context.Context, h resetflow.Handler) error {
	wait := a.cfg.RestartBackoff
	for {
		res, err := a.api.AuthTestContext(ctx)
		if err == nil {
			a.h, a.botUser, a.teamID, a.entID = h, res.UserID, res.TeamID, res.EnterpriseID
			close(a.ready)
			a.log.Info("connected to the Slack Web API", "team", res.TeamID, "bot_user", res.UserID, "mode", a.cfg.Mode)
			a.checkScopes(res.Header.Get("X-OAuth-Scopes"))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if isAuthError(err) {
			return a.stop(fmt.Errorf("slack: auth.test: the bot token was refused: %w", err))
		}
		a.log.Warn("Slack Web API unreachable; retrying", "retry_in", wait, "err", err)
		select {
		case <-a.clk.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(wait*2, 5*time.Minute)
	}
}

// requiredScopes are the bot scopes the adapter cannot work without.
var requiredScopes = []string{"chat:write", "im:history", "im:write", "users:read", "users:read.email"}

// checkScopes logs the bot scopes the token lacks: without users:read.email,
// say, everyone would look like a person without an email.
func (a *Adapter) checkScopes(header string) {
	if header == "" {
		return
	}
	have := map[string]bool{}
	for _, s := range strings.Split(header, ",") {
		have[strings.TrimSpace(s)] = true
	}
	var missing []string
	for _, s := range requiredScopes {
		if !have[s] {
			missing = append(missing, s)
		}
	}
	if len(missing) > 0 {
		a.log.Error("the Slack bot token lacks scopes; add them (adapters/slack/manifest.yaml) and reinstall the app", "missing", strings.Join(missing, ","))
	}
}

// stop records a fatal error: Healthy fails from now on.
func (a *Adapter) stop(err error) error {
	a.mu.Lock()
	a.fatal = err
	a.mu.Unlock()
	a.log.Error("Slack adapter stopped for good; fix the token and restart", "err", err)
	return err
}

func (a *Adapter) setConnected(up bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.connected && !up {
		a.downSince = a.clk.Now()
	}
	a.connected = up
}

// Healthy fails when Slack refused the tokens, or the socket has been down longer than HealthGrace.
func (a *Adapter) Healthy() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fatal != nil {
		return a.fatal
	}
	if !a.connected {
		if down := a.clk.Now().Sub(a.downSince); down > a.cfg.HealthGrace {
			return fmt.Errorf("slack: not connected for %v", down.Truncate(time.Second))
		}
	}
	return nil
}

// isAuthError reports whether Slack refused a token for good.
func isAuthError(err error) bool {
	var se slackgo.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "invalid_auth", "token_revoked", "account_inactive", "not_authed", "token_expired", "not_allowed_token_type":
			return true
		}
	}
	return false
}
