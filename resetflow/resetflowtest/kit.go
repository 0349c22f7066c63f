package resetflowtest

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// T0 is when every kit's fake clock starts: a weekday morning, in UTC.
var T0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// Kit is an engine on a fake clock with the demo fleet and recorders of
// everything it says and records. Start builds it; options change the
// engine's configuration or ports before it is built.
type Kit struct {
	Clock   *clock.Fake
	Catalog *catalog.Catalog
	Fleet   *fleet.Fleet // the demo fleet: devices and directory
	Chat    *Chat        // the Messenger: what the engine says
	Alerts  *Alerts      // the Alerter: what the helpdesk is told
	Audit   *Audit       // the Recorder: the audit trail
	Store   *resetflow.MemoryStore
	Links   *resetflow.MemoryLinks
	Logs    *Buffer // the engine's log, at debug level
	Engine  *resetflow.Engine
	Shell   *Shell // the terminal chat in front of the engine, with WithShell

	startShell func(testing.TB, resetflow.Handler)
}

// Option changes the engine's configuration or ports before Start builds it.
// The kit's own fields are already set when it runs.
type Option func(k *Kit, cfg *resetflow.Config, deps *resetflow.Deps)

// WithConfig changes the engine's configuration.
func WithConfig(f func(*resetflow.Config)) Option {
	return func(_ *Kit, cfg *resetflow.Config, _ *resetflow.Deps) { f(cfg) }
}

// WithDeps changes the engine's ports (a SQLite store instead of the memory
// ones, say).
func WithDeps(f func(*resetflow.Deps)) Option {
	return func(_ *Kit, _ *resetflow.Config, deps *resetflow.Deps) { f(deps) }
}

// WithResetDelay sets how long the demo fleet takes to produce a passcode
// (one second unless set).
func WithResetDelay(d time.Duration) Option {
	return func(k *Kit, _ *resetflow.Config, deps *resetflow.Deps) {
		fl, err := fleet.Load(fleet.Demo(), k.Clock, d)
		if err != nil {
			panic(err) // the embedded demo fleet always loads
		}
		k.Fleet, deps.Devices, deps.Directory = fl, fl, fl
	}
}

// sharedCatalog is loaded once: parsing the catalogs dominates a fuzz execution.
var sharedCatalog = sync.OnceValue(func() *catalog.Catalog { return catalog.MustNew("en") })

// Start builds the engine: configuration resetflow.DefaultConfig() in UTC with
// the public URL http://bot.test; the fake clock at T0; the demo fleet; the
// kit's recorders and memory stores; with WithShell, the terminal chat. At the end of the test it shuts the
// engine down and fails the test if a catalog id was used but missing.
func Start(t testing.TB, opts ...Option) *Kit {
	t.Helper()
	clk := clock.NewFake(T0)
	fl, err := fleet.Load(fleet.Demo(), clk, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	k := &Kit{Clock: clk, Catalog: sharedCatalog(), Fleet: fl, Chat: NewChat(), Alerts: &Alerts{}, Audit: &Audit{},
		Store: resetflow.NewMemoryStore(), Links: resetflow.NewMemoryLinks(), Logs: &Buffer{}}
	cfg := resetflow.DefaultConfig()
	cfg.PublicURL = "http://bot.test"
	cfg.Location = time.UTC
	deps := resetflow.Deps{Clock: clk, Catalog: k.Catalog, Devices: fl, Directory: fl, Messenger: k.Chat, Alerter: k.Alerts,
		Recorder: k.Audit, Store: k.Store, Links: k.Links,
		Log: slog.New(slog.NewTextHandler(k.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, o := range opts {
		o(k, &cfg, &deps)
	}
	if k.Engine, err = resetflow.New(cfg, deps); err != nil {
		t.Fatal(err)
	}
	if k.startShell != nil {
		k.startShell(t, k.Engine)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		k.Engine.Shutdown(ctx)
		if missed := k.Catalog.Missed(); len(missed) > 0 {
			t.Errorf("catalog ids used but missing: %v", missed)
		}
	})
	return k
}

// Audit is a resetflow.Recorder that keeps every event.
type Audit struct {
	mu     sync.Mutex
	events []resetflow.Event
	fail   error
}

// Record implements resetflow.Recorder; it fails with the error set by Fail.
func (a *Audit) Record(_ context.Context, e resetflow.Event) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.fail != nil {
		return a.fail
	}
	a.events = append(a.events, e)
	return nil
}

// Fail makes every later Record fail with err (nil: succeed again).
func (a *Audit) Fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = err
}

// Events returns every event recorded so far.
func (a *Audit) Events() []resetflow.Event {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]resetflow.Event(nil), a.events...)
}

// Steps lists the recorded events as "step/outcome", in order.
func (a *Audit) Steps() []string {
	var s []string
	for _, e := range a.Events() {
		s = append(s, e.Step+"/"+e.Outcome)
	}
	return s
}

// Has reports whether a "step/outcome" event was recorded.
func (a *Audit) Has(step, outcome string) bool {
	return slices.Contains(a.Steps(), step+"/"+outcome)
}

// Say is what a person types (text) or presses (action) in a chat, as the
// engine receives it from the platform "t".
func (k *Kit) Say(ctx context.Context, user, email, text, action string) {
	k.Engine.Handle(ctx, resetflow.Input{From: resetflow.Address{Platform: "t", UserID: user}, Email: email, Text: text, Action: action})
}
