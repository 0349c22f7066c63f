// Package resetflow is the passcode reset conversation: the steps of the Intune
// Company Portal's "reset device passcode", the eligibility rules, the platform
// outcomes and the re-authentication windows. It talks to the world only through
// the small interfaces in ports.go, and tells time only through an injected clock.
package resetflow

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
)

// MatchBy says how a sign-in is matched to the device owner.
type MatchBy string

const (
	MatchByObjectID MatchBy = "oid" // the signed-in oid equals the device's user id
	MatchByUPN      MatchBy = "upn" // the signed-in UPN equals the device's user principal name
)

// Config tunes the engine. Zero values take the defaults of DefaultConfig.
type Config struct {
	Rules           Rules
	Window          time.Duration // how long a sign-in link works, and how long after sign-in the reset may be confirmed
	AuthSkew        time.Duration // how far before the link a sign-in's auth_time may lie (clock skew)
	PickTimeout     time.Duration // how long the device list waits for a choice
	MaxResetsPerDay int           // per directory user, over any 24 hours
	PublicURL       string        // base URL of the bot's HTTP server; links are PublicURL + "/r/" + token
	MatchBy         MatchBy
	TenantID        string // when set, a sign-in from another tenant is refused
	PollFirst       time.Duration
	PollMax         time.Duration
	PollTimeout     time.Duration
	Location        *time.Location // clock times in messages
	PairTTL         time.Duration  // how long a pairing code works after the linking sign-in
	PairTries       int            // how many codes a chat account may type before the pairing is refused
	// GraphSkew is how far before our request a reset's startDateTime may lie
	// and still be ours (the device service's clock against ours).
	GraphSkew time.Duration
	// SecretTTL is how long a temporary passcode stays in the chat; a resumed
	// reset whose passcode is older than this is not shown any more.
	SecretTTL time.Duration
	// StartLimit conversation starts per StartWindow, per chat account and per
	// directory user; more are refused with a request to wait.
	StartLimit  int
	StartWindow time.Duration
}

// DefaultConfig returns the defaults: the portal's 5-minute window, 3 resets a day.
func DefaultConfig() Config {
	return Config{
		Rules:           DefaultRules(),
		Window:          5 * time.Minute,
		AuthSkew:        30 * time.Second,
		PickTimeout:     15 * time.Minute,
		MaxResetsPerDay: 3,
		MatchBy:         MatchByObjectID,
		PollFirst:       2 * time.Second,
		PollMax:         30 * time.Second,
		PollTimeout:     15 * time.Minute,
		Location:        time.Local,
		PairTTL:         3 * time.Minute,
		PairTries:       3,
		GraphSkew:       5 * time.Second,
		SecretTTL:       10 * time.Minute,
		StartLimit:      10,
		StartWindow:     10 * time.Minute,
	}
}

// Deps are the engine's ports. Recorder and Store default to in-memory ones.
type Deps struct {
	Clock     clock.Clock
	Catalog   *catalog.Catalog
	Devices   Devices
	Directory Directory
	Messenger Messenger
	Alerter   Alerter
	Recorder  Recorder
	Store     Store
	Links     Links // for platforms without company emails; nil refuses them
	Log       *slog.Logger
}

type step uint8

const (
	stepPicking step = iota + 1
	stepSigningIn
	stepConfirming
	stepResetting
	stepLinking
	stepPairing
)

func (s step) String() string {
	return [...]string{"", "picking", "signing_in", "confirming", "resetting", "linking", "pairing"}[s]
}

// conversation is one person's reset in progress.
type conversation struct {
	addr     Address
	flow     string
	locale   string
	user     User
	step     step
	devices  []Device // offered, while picking
	device   Device   // chosen
	outcome  Outcome
	window   string // sign-in token, while signing in or linking
	deadline time.Time
	timer    clock.Timer
	reauth   *Identity // a sign-in made while linking the account, if any
	account  string    // how the platform names the chat account, for the linking pages
	pair     *pairing  // while pairing: the sign-in waiting for its code
}

// window is a sign-in window, stored in the go-cache under its random token.
type window struct {
	key      string // conversation key
	flow     string
	locale   string
	issued   time.Time
	deadline time.Time
	pick     []pickOffer // a device-list link (picklink.go): the devices offered; never a sign-in window
}

// Engine runs every conversation. It is safe for concurrent use.
type Engine struct {
	cfg Config
	d   Deps
	cat *catalog.Catalog
	log *slog.Logger

	mu      sync.Mutex
	convs   map[string]*conversation // by Address.key()
	byUser  map[string]string        // directory user id -> conversation key
	windows *cache.Cache
	pairs   map[string]string // pairing code -> conversation key, while pairing
	starts  *throttle         // conversation starts, per chat account and per directory user

	closing atomic.Bool
	bg      sync.WaitGroup
	bgCtx   context.Context
	stopBg  context.CancelFunc
}

// orDefault sets *v to def when *v is zero or negative.
func orDefault[T int | time.Duration | MatchBy](v *T, def T) {
	var zero T
	if *v <= zero {
		*v = def
	}
}

// New returns an engine. It fails when a required port is missing or the rules are invalid.
func New(cfg Config, d Deps) (*Engine, error) {
	def := DefaultConfig()
	if cfg.Rules == nil {
		cfg.Rules = def.Rules
	}
	orDefault(&cfg.Window, def.Window)
	orDefault(&cfg.AuthSkew, def.AuthSkew)
	orDefault(&cfg.PickTimeout, def.PickTimeout)
	orDefault(&cfg.MaxResetsPerDay, def.MaxResetsPerDay)
	orDefault(&cfg.MatchBy, def.MatchBy)
	orDefault(&cfg.PollFirst, def.PollFirst)
	orDefault(&cfg.PollMax, def.PollMax)
	orDefault(&cfg.PollTimeout, def.PollTimeout)
	orDefault(&cfg.PairTTL, def.PairTTL)
	orDefault(&cfg.PairTries, def.PairTries)
	orDefault(&cfg.GraphSkew, def.GraphSkew)
	orDefault(&cfg.SecretTTL, def.SecretTTL)
	orDefault(&cfg.StartLimit, def.StartLimit)
	orDefault(&cfg.StartWindow, def.StartWindow)
	if cfg.Location == nil {
		cfg.Location = def.Location
	}
	if err := cfg.Rules.Validate(); err != nil {
		return nil, err
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Catalog == nil || d.Devices == nil || d.Directory == nil || d.Messenger == nil || d.Alerter == nil {
		return nil, errors.New("resetflow: catalog, devices, directory, messenger and alerter are required")
	}
	if d.Recorder == nil {
		d.Recorder = NopRecorder{}
	}
	if d.Store == nil {
		d.Store = NewMemoryStore()
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Engine{
		cfg:    cfg,
		d:      d,
		cat:    d.Catalog,
		log:    d.Log,
		convs:  map[string]*conversation{},
		byUser: map[string]string{},
		pairs:  map[string]string{},
		// Entries are checked against the engine's clock; the cache's own
		// expiry (a minute after the window) only frees memory.
		windows: cache.New(cfg.Window+time.Minute, time.Minute),
		starts:  newThrottle(cfg.StartLimit, cfg.StartWindow),
		bgCtx:   ctx,
		stopBg:  cancel,
	}, nil
}

// Handle takes one thing a person did in chat. Replies go out through the Messenger.
func (e *Engine) Handle(ctx context.Context, in Input) {
	loc := e.localeFor(in)
	if in.Action != "" {
		e.handleAction(ctx, in, loc)
		return
	}
	cmd, n := parseText(in.Text)
	if cmd != cmdCancel && cmd != cmdHelp && cmd != cmdUnlink && e.pairText(ctx, in, loc) {
		return
	}
	switch cmd {
	case cmdCancel:
		e.cancel(ctx, in.From, loc, "")
	case cmdHelp:
		e.help(ctx, in.From, loc)
	case cmdReset:
		e.start(ctx, in, loc)
	case cmdNumber:
		e.pick(ctx, in.From, loc, "", n)
	case cmdUnlink:
		e.unlink(ctx, in.From, loc)
	default:
		if n := e.deviceByName(in.From, in.Text); n > 0 {
			e.pick(ctx, in.From, loc, "", n)
			return
		}
		e.send(ctx, in.From, Message{Text: e.cat.T(loc, "unknown_input"), Notice: e.cat.T(loc, "help_hint")})
	}
}

// localeFor picks the reply language: the platform's, else the script of the text, else the default.
func (e *Engine) localeFor(in Input) string {
	if in.Locale != "" {
		return e.cat.Normalize(in.Locale)
	}
	if hasJapanese(in.Text) {
		return "ja"
	}
	e.mu.Lock()
	c := e.convs[in.From.key()]
	e.mu.Unlock()
	if c != nil {
		return c.locale
	}
	return e.cat.Default()
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if (r >= 0x3040 && r <= 0x30ff) || (r >= 0x4e00 && r <= 0x9fff) || (r >= 0xff66 && r <= 0xff9f) {
			return true
		}
	}
	return false
}

type command int

const (
	cmdUnknown command = iota
	cmdReset
	cmdHelp
	cmdCancel
	cmdNumber
	cmdUnlink
)

// Action values. The flow id ties a click to one attempt, so clicks on old messages do nothing.
const (
	actPick    = "pick"
	actConfirm = "confirm"
	actCancel  = "cancel"
	actStart   = "start"
)

func actionValue(kind, flow string, extra ...string) string {
	return strings.Join(append([]string{kind, flow}, extra...), ":")
}

func (e *Engine) handleAction(ctx context.Context, in Input, loc string) {
	parts := strings.Split(in.Action, ":")
	switch {
	case parts[0] == actStart:
		e.start(ctx, in, loc)
	case parts[0] == actPick && len(parts) == 3:
		n, err := strconv.Atoi(parts[2])
		if err != nil {
			e.stale(ctx, in.From, loc)
			return
		}
		e.pick(ctx, in.From, loc, parts[1], n+1)
	case parts[0] == actConfirm && len(parts) == 2:
		e.confirm(ctx, in.From, loc, parts[1])
	case parts[0] == actCancel && len(parts) == 2:
		e.cancel(ctx, in.From, loc, parts[1])
	default:
		e.stale(ctx, in.From, loc)
	}
}

func (e *Engine) stale(ctx context.Context, to Address, loc string) {
	e.send(ctx, to, Message{Text: e.cat.T(loc, "stale_action"), Notice: e.cat.T(loc, "help_hint")})
}

// start begins a reset: who is this, may they, which devices do they have.
func (e *Engine) start(ctx context.Context, in Input, loc string) {
	if e.closing.Load() {
		e.send(ctx, in.From, Message{Text: e.cat.T(loc, "shutting_down")})
		return
	}
	if e.busy(in.From.key(), "") {
		e.send(ctx, in.From, Message{Text: e.cat.T(loc, "already_active"), Notice: e.cat.T(loc, "help_hint")})
		return
	}
	if !e.allowStart(ctx, in.From, loc, "chat:"+in.From.key()) {
		return
	}
	var user User
	if strings.TrimSpace(in.Email) == "" || in.Unverified {
		// A platform without verified company identities (Discord): the account
		// must be linked, by a sign-in and a pairing code typed back here.
		if e.d.Links == nil {
			e.send(ctx, in.From, Message{Text: e.cat.T(loc, "no_identity")})
			return
		}
		u, ok, err := e.d.Links.LinkedUser(ctx, in.From.Platform, in.From.UserID)
		if err != nil {
			e.log.Error("reading account links failed", "platform", in.From.Platform, "chat_user", in.From.UserID, "err", err)
			e.send(ctx, in.From, Message{Text: e.cat.T(loc, "backend_error")})
			return
		}
		if !ok {
			e.startLink(ctx, in.From, loc, in.AccountName)
			return
		}
		user = u
	} else {
		u, err := e.d.Directory.LookupUser(ctx, in.Email)
		if err != nil {
			e.log.Warn("directory lookup failed", "platform", in.From.Platform, "chat_user", in.From.UserID, "err", err)
			if KindOf(err) == KindNotFound {
				e.send(ctx, in.From, Message{Text: e.cat.T(loc, "unknown_user")})
				return
			}
			e.send(ctx, in.From, Message{Text: e.backendSentence(loc, err)})
			return
		}
		user = u
	}
	e.begin(ctx, in.From, loc, user, Identity{})
}

// busy reports whether the chat account, or the directory user, has a conversation.
func (e *Engine) busy(key, userID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.convs[key] != nil || (userID != "" && e.byUser[userID] != "")
}

// begin checks the limit and lists the user's devices. reauth is a sign-in that
// just happened (linking an account), which may stand in for the reset's own.
func (e *Engine) begin(ctx context.Context, from Address, loc string, user User, reauth Identity) {
	key := from.key()
	now := e.d.Clock.Now()
	flow := newFlowID()
	ev := Event{Time: now, Flow: flow, Step: "request", Platform: from.Platform, ChatUser: from.UserID, UserID: user.ID, UserUPN: user.UPN}
	if uk := user.Key(); uk != "" && !e.allowStart(ctx, from, loc, "user:"+uk) {
		return
	}
	n, err := e.d.Store.ResetsSince(ctx, user.Key(), now.Add(-24*time.Hour))
	if err != nil {
		e.auditDown(ctx, from, loc, user, nil, err)
		return
	}
	if n >= e.cfg.MaxResetsPerDay {
		e.limitReached(ctx, from, loc, flow, user, nil)
		return
	}

	// Listing reads only; the request and what it found are recorded together,
	// in one transaction, before the person is told.
	devices, err := e.d.Devices.ListDevices(ctx, user)
	if err != nil {
		e.log.Warn("listing devices failed", "flow", flow, "user", user.UPN, "err", err)
		e.recordAll(ctx, ev, withStep(ev, "devices_listed", "error", errorDetail(err)))
		e.alert(ctx, AlertBackendError, from, user, nil, errorDetail(err))
		e.send(ctx, from, Message{Text: e.backendSentence(loc, err)})
		return
	}
	if err := e.recordAll(ctx, ev, withStep(ev, "devices_listed", strconv.Itoa(len(devices)), "")); err != nil {
		e.auditDown(ctx, from, loc, user, nil, err)
		return
	}
	if len(devices) == 0 {
		e.send(ctx, from, Message{Text: e.cat.T(loc, "no_devices")})
		return
	}

	c := &conversation{addr: from, flow: flow, locale: loc, user: user, step: stepPicking, devices: devices}
	if !reauth.AuthTime.IsZero() {
		c.reauth = &reauth
	}
	e.mu.Lock()
	if uk := user.Key(); e.convs[key] != nil || (uk != "" && e.byUser[uk] != "") {
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "already_active"), Notice: e.cat.T(loc, "help_hint")})
		return
	}
	e.convs[key] = c
	if uk := user.Key(); uk != "" {
		e.byUser[uk] = key
	}
	e.arm(c, now.Add(e.cfg.PickTimeout), "expired_pick")
	e.mu.Unlock()

	e.send(ctx, from, e.deviceList(c))
}

// startLink asks an unlinked chat account to sign in once, to link it to its directory user.
func (e *Engine) startLink(ctx context.Context, from Address, loc, account string) {
	now := e.d.Clock.Now()
	c := &conversation{addr: from, flow: newFlowID(), locale: loc, step: stepLinking, account: account}
	token := newToken()
	deadline := now.Add(e.cfg.Window)
	e.mu.Lock()
	if e.convs[from.key()] != nil {
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "already_active"), Notice: e.cat.T(loc, "help_hint")})
		return
	}
	e.convs[from.key()] = c
	c.window = token
	e.windows.Set(token, &window{key: from.key(), flow: c.flow, locale: loc, issued: now, deadline: deadline}, cache.DefaultExpiration)
	e.arm(c, deadline, "expired_link")
	e.mu.Unlock()
	e.record(ctx, Event{Time: now, Flow: c.flow, Platform: from.Platform, ChatUser: from.UserID}, "link_issued", "link_account", "expires "+deadline.UTC().Format(time.RFC3339))
	e.send(ctx, from, Message{
		Text:    e.cat.T(loc, "link_needed", map[string]any{"Until": e.clockTime(deadline), "Minutes": int(e.cfg.Window / time.Minute)}),
		Link:    &Link{URL: e.linkURL(token), Label: e.cat.T(loc, "signin_button"), Expires: deadline},
		Buttons: []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}},
	})
}

// unlink forgets the chat account's link, and ends its conversation if it has one.
func (e *Engine) unlink(ctx context.Context, from Address, loc string) {
	if e.d.Links == nil {
		e.send(ctx, from, Message{Text: e.cat.T(loc, "not_linked")})
		return
	}
	e.mu.Lock()
	c := e.convs[from.key()]
	if c != nil && c.step == stepResetting {
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "cannot_cancel")})
		return
	}
	if c != nil {
		e.endLocked(c)
	}
	e.mu.Unlock()
	had, err := e.d.Links.RemoveLink(ctx, from.Platform, from.UserID)
	if err != nil {
		e.log.Error("removing an account link failed", "platform", from.Platform, "chat_user", from.UserID, "err", err)
		e.send(ctx, from, Message{Text: e.cat.T(loc, "backend_error")})
		return
	}
	if !had {
		e.send(ctx, from, Message{Text: e.cat.T(loc, "not_linked")})
		return
	}
	e.record(ctx, Event{Time: e.d.Clock.Now(), Platform: from.Platform, ChatUser: from.UserID}, "unlink", "removed", "")
	e.send(ctx, from, Message{Text: e.cat.T(loc, "unlinked")})
}

func (e *Engine) linkURL(token string) string {
	return strings.TrimRight(e.cfg.PublicURL, "/") + "/r/" + token
}

func (e *Engine) deviceList(c *conversation) Message {
	loc := c.locale
	m := Message{Text: e.cat.T(loc, "pick_device", map[string]any{"Count": len(c.devices)}), Notice: e.cat.T(loc, "pick_hint")}
	for i, d := range c.devices {
		m.Choices = append(m.Choices, Choice{
			Value:  actionValue(actPick, c.flow, strconv.Itoa(i)),
			Label:  d.Name,
			Detail: e.deviceDetail(loc, d),
		})
	}
	m.Buttons = []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}}
	e.offerLinks(c, &m)
	return m
}

func (e *Engine) deviceDetail(loc string, d Device) string {
	seen := e.cat.T(loc, "never_synced")
	if !d.LastSync.IsZero() {
		seen = d.LastSync.In(e.cfg.Location).Format("2006-01-02 15:04")
	}
	return e.cat.T(loc, "device_detail", map[string]any{
		"Model": strings.TrimSpace(d.Maker + " " + d.Model), "OS": d.OS, "Version": d.OSVersion, "LastSync": seen,
	})
}

// pick takes the device choice: n is 1-based. flow is empty for a typed number.
func (e *Engine) pick(ctx context.Context, from Address, loc, flow string, n int) {
	e.mu.Lock()
	c := e.convs[from.key()]
	switch {
	case c == nil || (flow != "" && c.flow != flow):
		e.mu.Unlock()
		if flow == "" {
			e.send(ctx, from, Message{Text: e.cat.T(loc, "unknown_input"), Notice: e.cat.T(loc, "help_hint")})
		} else {
			e.stale(ctx, from, loc)
		}
		return
	case c.step != stepPicking:
		e.mu.Unlock()
		if flow == "" {
			e.send(ctx, from, Message{Text: e.cat.T(loc, "unknown_input"), Notice: e.stepHint(loc, c.step)})
		} else {
			e.send(ctx, from, Message{Text: e.cat.T(loc, "already_picked"), Notice: e.stepHint(loc, c.step)})
		}
		return
	case n < 1 || n > len(c.devices):
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "no_such_device", map[string]any{"N": n, "Max": len(c.devices)})})
		return
	}
	d := c.devices[n-1]
	c.devices = nil
	c.device = d
	verdict := e.cfg.Rules.Evaluate(d)
	now := e.d.Clock.Now()
	base := Event{Time: now, Flow: c.flow, Platform: from.Platform, ChatUser: from.UserID, UserID: c.user.ID, UserUPN: c.user.UPN, DeviceID: d.ID}
	if verdict.Decision != Allow {
		e.endLocked(c)
		e.mu.Unlock()
		e.record(ctx, base, "eligibility", string(verdict.Decision), verdict.Rule)
		kind := map[Decision]AlertKind{ContactSupport: AlertContactSupport, FactoryReset: AlertFactoryReset}[verdict.Decision]
		if kind == "" {
			kind = AlertNotSupported
		}
		e.alert(ctx, kind, from, c.user, &d, "rule="+verdict.Rule)
		e.send(ctx, from, Message{Text: e.cat.T(loc, "denied_"+string(verdict.Decision), map[string]any{"Device": d.Name})})
		return
	}
	c.outcome = verdict.Outcome
	if r := c.reauth; r != nil && now.Sub(r.AuthTime) <= e.cfg.Window && e.isOwner(d, c.user, *r) {
		// The sign-in that linked the account moments ago proves who this is.
		m := e.warnLocked(c, r.AuthTime, now)
		e.mu.Unlock()
		e.recordAll(ctx, withStep(base, "eligibility", string(Allow), verdict.Rule),
			withStep(base, "signin", "ok", "reused_link_signin auth_time="+r.AuthTime.UTC().Format(time.RFC3339)))
		e.send(ctx, from, m)
		return
	}
	token := newToken()
	deadline := now.Add(e.cfg.Window)
	c.step = stepSigningIn
	c.window = token
	e.windows.Set(token, &window{key: from.key(), flow: c.flow, locale: loc, issued: now, deadline: deadline}, cache.DefaultExpiration)
	e.arm(c, deadline, "expired_link")
	e.mu.Unlock()

	e.recordAll(ctx, withStep(base, "eligibility", string(Allow), verdict.Rule),
		withStep(base, "link_issued", "", "expires "+deadline.UTC().Format(time.RFC3339)))
	until := e.clockTime(deadline)
	e.send(ctx, from, Message{
		Text:    e.cat.T(loc, "signin_needed", map[string]any{"Device": d.Name, "Until": until, "Minutes": int(e.cfg.Window / time.Minute)}),
		Link:    &Link{URL: e.linkURL(token), Label: e.cat.T(loc, "signin_button"), Expires: deadline},
		Buttons: []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}},
	})
}

// warnLocked moves the conversation to the warning, open until 5 minutes after
// the sign-in, and returns the warning message. e.mu is held.
func (e *Engine) warnLocked(c *conversation, authTime, now time.Time) Message {
	c.step = stepConfirming
	c.window = ""
	c.reauth = nil
	deadline := authTime.Add(e.cfg.Window)
	if deadline.After(now.Add(e.cfg.Window)) {
		deadline = now.Add(e.cfg.Window)
	}
	e.arm(c, deadline, "expired_confirm")
	loc, flow, name := c.locale, c.flow, c.device.Name
	return Message{
		Text: e.cat.T(loc, "warning", map[string]any{"Device": name, "Until": e.clockTime(deadline)}),
		Buttons: []Button{
			{Value: actionValue(actConfirm, flow), Label: e.cat.T(loc, "button_reset"), Style: StyleDanger, Confirm: &Confirm{
				Title: e.cat.T(loc, "confirm_title"), Text: e.cat.T(loc, "confirm_text", map[string]any{"Device": name}),
				OK: e.cat.T(loc, "button_reset"), Cancel: e.cat.T(loc, "button_back"),
			}},
			{Value: actionValue(actCancel, flow), Label: e.cat.T(loc, "button_cancel")},
		},
	}
}

// clockTime formats t as the clock time shown to people. It rounds down to the
// minute, so the time a message promises is never later than the real deadline.
func (e *Engine) clockTime(t time.Time) string {
	t = t.In(e.cfg.Location)
	return t.Truncate(time.Minute).Format("15:04") + " " + t.Format("MST")
}

// WindowStatus is what a sign-in link is worth right now.
type WindowStatus int

const (
	WindowUnknown WindowStatus = iota // never issued, already used, or cancelled
	WindowOpen
	WindowExpired
)

// WindowInfo describes an open sign-in window to the sign-in pages.
type WindowInfo struct {
	Locale     string
	Issued     time.Time
	Expires    time.Time
	DeviceName string
	UserID     string // the device owner's object id
	UserUPN    string // the device owner's user principal name
	Linking    bool   // the sign-in links a chat account; there is no device yet
	Platform   string // the chat platform of the account being linked
	Account    string // how that platform names the account, for the page's warning
}

// Window looks at a sign-in window without using it up: a link preview may call this.
func (e *Engine) Window(token string) (WindowInfo, WindowStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.windows.Get(token)
	if !ok {
		return WindowInfo{Locale: e.cat.Default()}, WindowUnknown
	}
	w := v.(*window)
	if w.pick != nil {
		return WindowInfo{Locale: e.cat.Default()}, WindowUnknown // see PickWindow
	}
	if e.d.Clock.Now().After(w.deadline) {
		// Kept after expiry (until the cache frees it) so the page can say "expired".
		return WindowInfo{Locale: w.locale, Issued: w.issued, Expires: w.deadline}, WindowExpired
	}
	c := e.convs[w.key]
	if c == nil || c.flow != w.flow || (c.step != stepSigningIn && c.step != stepLinking) {
		return WindowInfo{Locale: e.cat.Default()}, WindowUnknown
	}
	info := WindowInfo{Locale: c.locale, Issued: w.issued, Expires: w.deadline, DeviceName: c.device.Name, UserID: c.device.UserID, UserUPN: c.device.UserUPN}
	if info.UserID == "" {
		info.UserID = c.user.ID
	}
	if info.UserUPN == "" {
		info.UserUPN = c.user.UPN
	}
	info.Linking = c.step == stepLinking
	info.Platform, info.Account = c.addr.Platform, c.account
	if info.Account == "" {
		info.Account = c.addr.UserID
	}
	return info, WindowOpen
}

// SignInStatus is the outcome of a completed sign-in.
type SignInStatus int

const (
	SignInOK          SignInStatus = iota
	SignInUnknown                  // the link was never issued, already used, or cancelled
	SignInExpired                  // the 5 minutes are over
	SignInStale                    // the credentials were entered too long ago, or before the link
	SignInWrongPerson              // somebody other than the device owner signed in
)

// SignInResult tells the sign-in page what to say.
type SignInResult struct {
	Status SignInStatus
	Locale string
	// With SignInPairing: the code, until when it works, and what is being linked.
	Code     string
	Expires  time.Time
	Platform string
	Account  string
	UPN      string
}

// CompleteSignIn uses up a sign-in window: who signed in, and when. Only the
// first call for a token can succeed. On success the chat moves to the warning.
func (e *Engine) CompleteSignIn(ctx context.Context, token string, who Identity) SignInResult {
	now := e.d.Clock.Now()
	e.mu.Lock()
	v, ok := e.windows.Get(token)
	if !ok || v.(*window).pick != nil {
		e.mu.Unlock()
		return SignInResult{Status: SignInUnknown, Locale: e.cat.Default()}
	}
	e.windows.Delete(token)
	w := v.(*window)
	c := e.convs[w.key]
	live := c != nil && c.flow == w.flow && (c.step == stepSigningIn || c.step == stepLinking)
	if !live && now.After(w.deadline) {
		e.mu.Unlock()
		return SignInResult{Status: SignInExpired, Locale: w.locale}
	}
	if !live {
		e.mu.Unlock()
		return SignInResult{Status: SignInUnknown, Locale: e.cat.Default()}
	}
	loc := c.locale
	base := Event{Time: now, Flow: c.flow, Platform: c.addr.Platform, ChatUser: c.addr.UserID, UserID: c.user.ID, UserUPN: c.user.UPN, DeviceID: c.device.ID}
	signer := who.UPN
	if signer == "" {
		signer = who.Subject
	}
	detail := "signed_in_as=" + signer + " auth_time=" + who.AuthTime.UTC().Format(time.RFC3339)

	if now.After(w.deadline) {
		e.endLocked(c)
		e.mu.Unlock()
		e.record(ctx, base, "signin", "expired", detail)
		e.send(ctx, c.addr, e.expiredMessage(loc, "expired_link"))
		return SignInResult{Status: SignInExpired, Locale: loc}
	}
	if !e.freshSignIn(who.AuthTime, w.issued, now) {
		// Not a fresh sign-in: the window stays usable until its deadline, for a real one.
		e.windows.Set(token, w, cache.DefaultExpiration)
		e.mu.Unlock()
		e.record(ctx, base, "signin", "stale", detail)
		return SignInResult{Status: SignInStale, Locale: loc}
	}
	if c.step == stepLinking {
		if e.cfg.TenantID != "" && !strings.EqualFold(who.TenantID, e.cfg.TenantID) {
			e.endLocked(c)
			e.mu.Unlock()
			e.record(ctx, base, "signin", "wrong_tenant", detail)
			e.alert(ctx, AlertWrongPerson, c.addr, User{UPN: who.UPN}, nil, detail+" tenant="+who.TenantID)
			e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "signin_wrong_person"), Buttons: e.startAgain(loc)})
			return SignInResult{Status: SignInWrongPerson, Locale: loc}
		}
		e.mu.Unlock()
		e.record(ctx, base, "signin", "ok", detail)
		return e.beginPairing(ctx, c, w.flow, base, who)
	}
	if !e.isOwner(c.device, c.user, who) {
		e.endLocked(c)
		e.mu.Unlock()
		e.record(ctx, base, "signin", "wrong_person", detail)
		d := c.device
		e.alert(ctx, AlertWrongPerson, c.addr, c.user, &d, detail)
		e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "signin_wrong_person"), Buttons: e.startAgain(loc)})
		return SignInResult{Status: SignInWrongPerson, Locale: loc}
	}
	m := e.warnLocked(c, who.AuthTime, now)
	e.mu.Unlock()

	e.record(ctx, base, "signin", "ok", detail)
	e.send(ctx, c.addr, m)
	return SignInResult{Status: SignInOK, Locale: loc}
}

func (e *Engine) isOwner(d Device, u User, who Identity) bool {
	if e.cfg.TenantID != "" && !strings.EqualFold(who.TenantID, e.cfg.TenantID) {
		return false
	}
	switch e.cfg.MatchBy {
	case MatchByUPN:
		owner := d.UserUPN
		if owner == "" {
			owner = u.UPN
		}
		return who.UPN != "" && strings.EqualFold(who.UPN, owner)
	default:
		owner := d.UserID
		if owner == "" {
			owner = u.ID
		}
		return who.Subject != "" && who.Subject == owner
	}
}

// confirm takes "Reset passcode" after the warning.
func (e *Engine) confirm(ctx context.Context, from Address, loc, flow string) {
	now := e.d.Clock.Now()
	e.mu.Lock()
	c := e.convs[from.key()]
	switch {
	case c == nil || c.flow != flow:
		e.mu.Unlock()
		e.stale(ctx, from, loc)
		return
	case c.step == stepResetting:
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "already_resetting")})
		return
	case c.step != stepConfirming:
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "not_yet"), Notice: e.stepHint(loc, c.step)})
		return
	case now.After(c.deadline):
		e.endLocked(c)
		e.mu.Unlock()
		e.send(ctx, from, e.expiredMessage(loc, "expired_confirm"))
		return
	case e.closing.Load():
		// Shutting down: no new reset may start while the running ones drain.
		e.endLocked(c)
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "shutting_down")})
		return
	}
	// From here on the conversation is resetting: a second click finds it so.
	c.step = stepResetting
	if c.timer != nil {
		c.timer.Stop()
	}
	cs := *c
	// Counted under e.mu, where Shutdown sets closing: Shutdown waits for this reset.
	e.bg.Add(1)
	e.mu.Unlock()

	base := Event{Time: now, Flow: cs.flow, Platform: from.Platform, ChatUser: from.UserID, UserID: cs.user.ID, UserUPN: cs.user.UPN, DeviceID: cs.device.ID}
	fail := func() {
		e.mu.Lock()
		e.endLocked(c)
		e.mu.Unlock()
		e.bg.Done()
	}
	if err := e.d.Recorder.Record(ctx, withStep(base, "confirm", "", "")); err != nil {
		fail()
		e.auditDown(ctx, from, loc, cs.user, &cs.device, err)
		return
	}
	// The limit is checked and the reset counted in one step of the store, so
	// two processes on one database cannot both pass the last free slot.
	inf := InFlight{Flow: cs.flow, Address: from, Locale: loc, User: cs.user, Device: cs.device, Outcome: cs.outcome, Started: now}
	if err := e.d.Store.BeginReset(ctx, inf, now.Add(-24*time.Hour), e.cfg.MaxResetsPerDay); err != nil {
		fail()
		if errors.Is(err, ErrLimitReached) {
			e.limitReached(ctx, from, loc, cs.flow, cs.user, &cs.device)
			return
		}
		e.auditDown(ctx, from, loc, cs.user, &cs.device, err)
		return
	}
	e.send(ctx, from, Message{Text: e.cat.T(loc, "resetting", map[string]any{"Device": cs.device.Name}), Replace: progressKey(cs.flow)})
	go func() {
		defer e.bg.Done()
		e.runReset(e.bgCtx, inf, true)
	}()
}

// runReset asks the backend for the reset (unless resuming one already asked for),
// waits for the device's result and tells the person and, if needed, the helpdesk.
func (e *Engine) runReset(ctx context.Context, r InFlight, request bool) {
	base := Event{Flow: r.Flow, Platform: r.Address.Platform, ChatUser: r.Address.UserID, UserID: r.User.ID, UserUPN: r.User.UPN, DeviceID: r.Device.ID}
	loc := r.Locale
	if request {
		err := e.d.Devices.ResetPasscode(ctx, r.Device)
		base.Time = e.d.Clock.Now()
		if err != nil && KindOf(err) != KindAmbiguous {
			e.log.Warn("reset request failed", "flow", r.Flow, "device", r.Device.ID, "err", err)
			e.record(ctx, base, "reset_requested", "error", errorDetail(err))
			e.finish(ctx, r, "backend_error")
			e.alert(ctx, AlertBackendError, r.Address, r.User, &r.Device, errorDetail(err))
			e.send(ctx, r.Address, Message{Text: e.backendSentence(loc, err), Buttons: e.startAgain(loc)})
			return
		}
		detail := ""
		if err != nil {
			detail = "ambiguous: " + errorDetail(err)
			e.log.Warn("reset request may or may not have been accepted; reading its state", "flow", r.Flow, "err", err)
		}
		e.record(ctx, base, "reset_requested", "sent", detail)
	}
	defer e.track(r)()
	res, err := e.await(ctx, r.Device, r.Started)
	e.finishProgress(ctx, r.Device.ID, finalPhase(ctx, res, err))
	base.Time = e.d.Clock.Now()
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the reset stays in flight and is resumed at the next start
		}
		e.log.Warn("no final reset result", "flow", r.Flow, "device", r.Device.ID, "err", err)
		e.record(ctx, base, "result", "timed_out", errorDetail(err))
		e.finish(ctx, r, "timed_out")
		kind := AlertResetTimedOut
		if !request {
			kind = AlertResetUnknown // the bot restarted while this reset was in flight
		}
		e.alert(ctx, kind, r.Address, r.User, &r.Device, errorDetail(err))
		e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "result_timed_out", map[string]any{"Device": r.Device.Name})})
		return
	}
	e.record(ctx, base, "result", string(res.State), res.ErrorCode)
	var marked error
	if res.State == ActionDone {
		// Recorded before anything is shown: a restart never shows this result again.
		marked = e.d.Store.MarkDelivered(ctx, r.Flow)
	}
	e.finish(ctx, r, string(res.State))
	switch res.State {
	case ActionDone:
		if marked != nil {
			e.log.Error("recording the delivery failed; not showing the result", "flow", r.Flow, "err", marked)
			e.undelivered(ctx, r, "not_recorded", "the delivery could not be recorded")
			return
		}
		if !request && Outcomes[r.Outcome].TemporaryPasscode {
			// Resumed after a restart: a passcode older than the chat keeps one is not shown.
			at := res.Updated
			if at.IsZero() {
				at = res.Started
			}
			if age := e.d.Clock.Now().Sub(at); at.IsZero() || age > e.cfg.SecretTTL {
				e.undelivered(ctx, r, "too_old", fmt.Sprintf("resumed passcode older than secret_ttl (%v)", e.cfg.SecretTTL))
				return
			}
		}
		e.deliver(ctx, r, res)
	case ActionNotSupported:
		e.alert(ctx, AlertNotSupported, r.Address, r.User, &r.Device, "actionState=notSupported")
		e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "result_not_supported", map[string]any{"Device": r.Device.Name})})
	default:
		e.alert(ctx, AlertResetFailed, r.Address, r.User, &r.Device, e.failureDetail(r, res))
		e.send(ctx, r.Address, Message{Text: e.failureText(loc, r), Buttons: e.startAgain(loc)})
	}
}

// deliver sends the outcome of a successful reset: the passcode (DM only) and how
// to change it, then the success notice. When the outcome cannot be sent, the
// person is told so and whom to ask, and the helpdesk is alerted; never "success".
func (e *Engine) deliver(ctx context.Context, r InFlight, res ActionResult) {
	loc := r.Locale
	info := Outcomes[r.Outcome]
	data := map[string]any{"Device": r.Device.Name}
	guide := e.cat.T(loc, "guide_"+string(r.Outcome), data)
	var err error
	switch {
	case !info.TemporaryPasscode:
		err = e.d.Messenger.Send(ctx, r.Address, Message{Text: e.cat.T(loc, "removed_"+string(r.Outcome), data) + "\n" + guide})
	case res.Passcode == nil || res.Passcode.Reveal() == "":
		// Done without a passcode: the person is told where to look, never "success".
		e.record(ctx, e.resetEvent(r), "delivery", "missing", "actionState=done without a passcode")
		e.alert(ctx, AlertResetFailed, r.Address, r.User, &r.Device, "actionState=done without a passcode")
		e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "passcode_missing", data)})
		return
	default:
		err = e.d.Messenger.Send(ctx, r.Address, Message{
			Text:   e.cat.T(loc, "passcode_intro_"+string(r.Outcome), data),
			Secret: NewSecret(e.cat.T(loc, "passcode_label"), res.Passcode.Reveal()),
			Notice: guide,
		})
	}
	if err != nil {
		e.log.Error("sending the reset's result failed", "flow", r.Flow, "platform", r.Address.Platform, "chat_user", r.Address.UserID, "err", err)
		e.undelivered(ctx, r, "failed", "the result message could not be sent: "+errorDetail(err))
		return
	}
	e.record(ctx, e.resetEvent(r), "delivery", "sent", "")
	e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "success", data)})
}

// undelivered handles a successful reset whose result is not shown in chat:
// audit, helpdesk alert, and a sentence naming whom to ask. Nothing else shows the passcode.
func (e *Engine) undelivered(ctx context.Context, r InFlight, outcome, detail string) {
	e.record(ctx, e.resetEvent(r), "delivery", outcome, detail)
	e.alert(ctx, AlertDeliveryFailed, r.Address, r.User, &r.Device, "delivery="+outcome+": "+detail)
	e.send(ctx, r.Address, Message{Text: e.cat.T(r.Locale, "result_undelivered", map[string]any{"Device": r.Device.Name})})
}

// resetEvent is the audit event of a reset in flight, at the engine's time.
func (e *Engine) resetEvent(r InFlight) Event {
	return Event{Time: e.d.Clock.Now(), Flow: r.Flow, Platform: r.Address.Platform, ChatUser: r.Address.UserID, UserID: r.User.ID, UserUPN: r.User.UPN, DeviceID: r.Device.ID}
}

// await polls the reset's state with backoff until it is final or PollTimeout has passed.
// Only a result that started at our request (within GraphSkew) is ours: one without
// a start time, or started earlier, belongs to an earlier reset and is ignored. Once
// our reset has been seen pending or active, only a result with that start is ours.
func (e *Engine) await(ctx context.Context, d Device, since time.Time) (ActionResult, error) {
	deadline := since.Add(e.cfg.PollTimeout)
	wait := e.nextPoll(since)
	var last error
	var seen time.Time // start of our reset, once seen pending or active
	ours := func(res ActionResult) bool {
		if res.Started.IsZero() || res.Started.Before(since.Add(-e.cfg.GraphSkew)) {
			return false
		}
		return seen.IsZero() || res.Started.Equal(seen)
	}
	for {
		select {
		case <-e.d.Clock.After(wait):
		case <-ctx.Done():
			return ActionResult{}, ctx.Err()
		}
		res, err := e.d.Devices.ResetResult(ctx, d)
		e.observe(ctx, d, res, err)
		switch {
		case err == nil && res.State.Final() && ours(res):
			return res, nil
		case err == nil && (res.State == ActionPending || res.State == ActionActive) && seen.IsZero() && ours(res):
			seen = res.Started
		case err != nil:
			last = err
			switch KindOf(err) {
			case KindNotFound, KindForbidden, KindBadRequest:
				return ActionResult{}, err
			}
		}
		if !e.d.Clock.Now().Before(deadline) {
			if last == nil {
				last = &Error{Kind: KindUnavailable, Op: "await reset result", Err: errors.New("no final state in time")}
			}
			return ActionResult{}, last
		}
		wait = e.nextPoll(since)
	}
}

// finish records a reset's final outcome and closes its conversation, before the
// person is told: by the time they read the result, they can start again.
func (e *Engine) finish(ctx context.Context, r InFlight, outcome string) {
	e.endReset(ctx, r.Flow, outcome)
	e.mu.Lock()
	if c := e.convs[r.Address.key()]; c != nil && c.flow == r.Flow {
		e.endLocked(c)
	}
	e.mu.Unlock()
}

// endReset records a reset's end, trying a few times: a lost end record would
// leave the reset in flight for the next start (which then only ends it, since
// a delivered reset is never delivered again).
func (e *Engine) endReset(ctx context.Context, flow, outcome string) {
	var err error
	for range endResetTries {
		if err = e.d.Store.EndReset(ctx, flow, outcome); err == nil {
			return
		}
	}
	e.log.Error("recording the end of a reset failed; the next start ends it", "flow", flow, "tries", endResetTries, "err", err)
}

const endResetTries = 3

// Resume picks up resets that were in flight when the process stopped: it never
// asks for them again, it only reads their result and tells the person. A reset
// whose result was already delivered is only ended.
func (e *Engine) Resume(ctx context.Context) error {
	list, err := e.d.Store.InFlight(ctx)
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.Delivered {
			e.log.Info("a reset delivered before the restart had no end record; ending it", "flow", r.Flow)
			e.endReset(ctx, r.Flow, "delivered")
			continue
		}
		e.mu.Lock()
		c := &conversation{addr: r.Address, flow: r.Flow, locale: r.Locale, user: r.User, step: stepResetting, device: r.Device, outcome: r.Outcome}
		e.convs[r.Address.key()] = c
		if uk := r.User.Key(); uk != "" {
			e.byUser[uk] = r.Address.key()
		}
		e.mu.Unlock()
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			e.runReset(e.bgCtx, r, false)
		}()
	}
	return nil
}

// cancel ends the conversation unless the reset was already sent.
func (e *Engine) cancel(ctx context.Context, from Address, loc, flow string) {
	e.mu.Lock()
	c := e.convs[from.key()]
	switch {
	case c == nil && flow == "":
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "nothing_to_cancel")})
		return
	case c == nil || (flow != "" && c.flow != flow):
		e.mu.Unlock()
		e.stale(ctx, from, loc)
		return
	case c.step == stepResetting:
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "cannot_cancel")})
		return
	}
	e.endLocked(c)
	e.mu.Unlock()
	e.record(ctx, Event{Time: e.d.Clock.Now(), Flow: c.flow, Platform: from.Platform, ChatUser: from.UserID, UserID: c.user.ID, UserUPN: c.user.UPN, DeviceID: c.device.ID}, "cancel", c.step.String(), "")
	e.send(ctx, from, Message{Text: e.cat.T(loc, "cancelled")})
}

func (e *Engine) help(ctx context.Context, to Address, loc string) {
	e.mu.Lock()
	c := e.convs[to.key()]
	var s step
	if c != nil {
		s = c.step
	}
	e.mu.Unlock()
	m := Message{Text: e.cat.T(loc, "help", map[string]any{"Max": e.cfg.MaxResetsPerDay, "Minutes": int(e.cfg.Window / time.Minute)})}
	if s != 0 {
		m.Notice = e.stepHint(loc, s)
	}
	e.send(ctx, to, m)
}

func (e *Engine) stepHint(loc string, s step) string {
	return e.cat.T(loc, "step_"+s.String())
}

// arm sets the conversation's deadline and the timer that ends it then. e.mu is held.
func (e *Engine) arm(c *conversation, deadline time.Time, expiredID string) {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.deadline = deadline
	flow, s := c.flow, c.step
	c.timer = e.d.Clock.AfterFunc(deadline.Sub(e.d.Clock.Now()), func() {
		e.mu.Lock()
		cur := e.convs[c.addr.key()]
		if cur != c || c.flow != flow || c.step != s {
			e.mu.Unlock()
			return
		}
		c.window = "" // the expired window stays in the cache, so its page says "expired"
		pair := c.pair
		e.endLocked(c)
		e.mu.Unlock()
		e.record(context.Background(), Event{Time: e.d.Clock.Now(), Flow: flow, Platform: c.addr.Platform, ChatUser: c.addr.UserID, UserID: c.user.ID, UserUPN: c.user.UPN, DeviceID: c.device.ID}, "expired", s.String(), "")
		if s == stepPairing {
			e.pairRefused(context.Background(), c, pair, "expired")
		}
		e.send(context.Background(), c.addr, e.expiredMessage(c.locale, expiredID))
	})
}

func (e *Engine) expiredMessage(loc, id string) Message {
	return Message{Text: e.cat.T(loc, id, map[string]any{"Minutes": int(e.cfg.Window / time.Minute)}), Buttons: e.startAgain(loc)}
}

func (e *Engine) startAgain(loc string) []Button {
	return []Button{{Value: actStart, Label: e.cat.T(loc, "button_start_again"), Style: StylePrimary}}
}

// endLocked forgets the conversation and its window. e.mu is held.
func (e *Engine) endLocked(c *conversation) {
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.window != "" {
		e.windows.Delete(c.window)
	}
	if c.pair != nil && e.pairs[c.pair.code] == c.addr.key() {
		delete(e.pairs, c.pair.code)
	}
	key := c.addr.key()
	if e.convs[key] == c {
		delete(e.convs, key)
	}
	if uk := c.user.Key(); uk != "" && e.byUser[uk] == key {
		delete(e.byUser, uk)
	}
}

func (e *Engine) limitReached(ctx context.Context, from Address, loc, flow string, u User, d *Device) {
	e.record(ctx, Event{Time: e.d.Clock.Now(), Flow: flow, Platform: from.Platform, ChatUser: from.UserID, UserID: u.ID, UserUPN: u.UPN}, "limit", "refused", "")
	e.alert(ctx, AlertLimitReached, from, u, d, fmt.Sprintf("max_per_24h=%d", e.cfg.MaxResetsPerDay))
	e.send(ctx, from, Message{Text: e.cat.T(loc, "limit_reached", map[string]any{"Max": e.cfg.MaxResetsPerDay})})
}

func (e *Engine) auditDown(ctx context.Context, to Address, loc string, u User, d *Device, err error) {
	e.log.Error("audit trail or state store unavailable; refusing to reset", "err", err)
	e.alert(ctx, AlertAuditDown, to, u, d, "audit trail or state store not writable")
	e.send(ctx, to, Message{Text: e.cat.T(loc, "audit_unavailable")})
}

// backendSentence is the safe sentence for a backend failure.
func (e *Engine) backendSentence(loc string, err error) string {
	switch KindOf(err) {
	case KindThrottled, KindUnavailable, KindAmbiguous:
		return e.cat.T(loc, "backend_busy")
	case KindForbidden:
		return e.cat.T(loc, "backend_forbidden")
	case KindNotFound:
		return e.cat.T(loc, "backend_not_found")
	default:
		return e.cat.T(loc, "backend_error")
	}
}

func withStep(ev Event, step, outcome, detail string) Event {
	ev.Step, ev.Outcome, ev.Detail = step, outcome, detail
	return ev
}

// recordAll appends the events in one transaction when the recorder can (one
// disk sync for a chat action that records several steps). A failure is logged
// and returned; the caller decides whether the step may go on without it.
func (e *Engine) recordAll(ctx context.Context, evs ...Event) error {
	var err error
	if b, ok := e.d.Recorder.(BatchRecorder); ok {
		err = b.RecordBatch(ctx, evs)
	} else {
		for _, ev := range evs {
			if err = e.d.Recorder.Record(ctx, ev); err != nil {
				break
			}
		}
	}
	if err != nil {
		e.log.Error("audit record failed", "flow", evs[0].Flow, "step", evs[0].Step, "err", err)
	}
	return err
}

// record appends an audit event for a step whose effect does not depend on it.
func (e *Engine) record(ctx context.Context, base Event, step, outcome, detail string) {
	if err := e.d.Recorder.Record(ctx, withStep(base, step, outcome, detail)); err != nil {
		e.log.Error("audit record failed", "flow", base.Flow, "step", step, "err", err)
	}
}

func (e *Engine) alert(ctx context.Context, kind AlertKind, from Address, u User, d *Device, detail string) {
	e.d.Alerter.Alert(ctx, Alert{ID: newFlowID(), Kind: kind, Time: e.d.Clock.Now(), Platform: from.Platform, ChatUser: from.UserID, User: u, Device: d, Detail: detail})
}

func (e *Engine) send(ctx context.Context, to Address, m Message) {
	if err := e.d.Messenger.Send(ctx, to, m); err != nil {
		e.log.Error("sending a message failed", "platform", to.Platform, "chat_user", to.UserID, "err", err)
	}
}

// Shutdown stops taking new conversations, then waits for resets in flight to
// finish until ctx ends. Resets still running then stay recorded in the store.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.closing.Store(true)
	e.mu.Unlock()
	done := make(chan struct{})
	go func() { e.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		e.stopBg()
		<-done
		return ctx.Err()
	}
}

// Active reports how many conversations are open.
func (e *Engine) Active() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.convs)
}

func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newFlowID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}
