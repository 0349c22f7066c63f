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
	"log/slog"
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
	// Conversations, when set, remembers the open conversations (replicas tell
	// their people after a failover that the bot restarted).
	Conversations Conversations
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

// locked takes a decision under e.mu and acts on it after. decide runs with the
// lock held and changes only the engine's memory (conversations, windows,
// timers); the function it returns, if any, runs once the lock is released and
// does what may be slow: audit records, alerts, messages, backend calls.
func (e *Engine) locked(decide func() (then func())) {
	then := func() func() {
		e.mu.Lock()
		defer e.mu.Unlock()
		return decide()
	}()
	if then != nil {
		then()
	}
}

// lockedValue is locked for a decision that returns a value (the sign-in page's
// result, say): then is never nil, and its value is the caller's.
func lockedValue[T any](e *Engine, decide func() (then func() T)) T {
	then := func() func() T {
		e.mu.Lock()
		defer e.mu.Unlock()
		return decide()
	}()
	return then()
}

// just is a then of lockedValue with nothing left to do but answer v.
func just[T any](v T) func() T { return func() T { return v } }

// reply is a then of locked that sends one message.
func (e *Engine) reply(ctx context.Context, to Address, m Message) func() {
	return func() { e.send(ctx, to, m) }
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
