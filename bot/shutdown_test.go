package bot

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// timeline records what happened, in order, across the adapter and the helpdesk.
type timeline struct {
	mu     sync.Mutex
	events []string
	sent   chan resetflow.Message
}

func (tl *timeline) add(s string) {
	tl.mu.Lock()
	tl.events = append(tl.events, s)
	tl.mu.Unlock()
}

func (tl *timeline) all() []string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]string(nil), tl.events...)
}

// orderAdapter is a chat adapter that notes its messages and its stop; like the
// real ones, it removes the passcodes it still shows when it stops.
type orderAdapter struct {
	tl      *timeline
	mu      sync.Mutex
	stopped bool
	shown   int // passcode messages on screen
	running chan struct{}
}

func (a *orderAdapter) Platform() string { return "fake" }

func (a *orderAdapter) Run(ctx context.Context, h resetflow.Handler) error {
	close(a.running)
	<-ctx.Done()
	a.mu.Lock()
	a.stopped = true
	removed := a.shown
	a.shown = 0
	a.mu.Unlock()
	a.tl.add(fmt.Sprintf("adapter stopped, removed %d passcodes", removed))
	return ctx.Err()
}

func (a *orderAdapter) Send(_ context.Context, _ resetflow.Address, m resetflow.Message) error {
	a.mu.Lock()
	stopped := a.stopped
	if m.Secret != nil && !stopped {
		a.shown++
	}
	a.mu.Unlock()
	what := "message"
	if m.Secret != nil {
		what = "passcode"
	}
	if stopped {
		what += " after the adapter stopped"
	}
	a.tl.add(what)
	a.tl.sent <- m
	return nil
}

func (a *orderAdapter) PostAlerts(_ context.Context, as []resetflow.Alert) error {
	a.tl.add(fmt.Sprintf("alerts posted: %d", len(as)))
	return nil
}

// TestShutdownOrder (issue 11, shutdown order): on stop, a reset in flight is
// finished and its passcode delivered while the adapter still runs, the alerts
// are flushed, and only then does the adapter stop (removing the passcode).
func TestShutdownOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	fl, err := fleet.Load(fleet.Demo(), clk, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	tl := &timeline{sent: make(chan resetflow.Message, 100)}
	ad := &orderAdapter{tl: tl, running: make(chan struct{})}
	alerts := NewAlerts(clk, nil, ad)
	eng, err := resetflow.New(resetflow.Config{PublicURL: "http://bot.test", Location: time.UTC}, resetflow.Deps{
		Clock: clk, Catalog: catalog.MustNew("en"), Devices: fl, Directory: fl, Messenger: NewRouter(ad), Alerter: alerts,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, sigterm := context.WithCancel(context.Background())
	b := &Bot{Engine: eng, Adapters: []Adapter{ad}, Alerts: alerts, Mux: http.NewServeMux(), Listener: ln}
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-ad.running // resets are resumed before the adapters run

	from := resetflow.Address{Platform: "fake", UserID: "alice"}
	const alice = "alice@contoso.example"
	say := func(in resetflow.Input) resetflow.Message {
		in.From, in.Email = from, alice
		eng.Handle(context.Background(), in)
		var m resetflow.Message
		for len(tl.sent) > 0 {
			m = <-tl.sent
		}
		return m
	}
	m := say(resetflow.Input{Text: "reset"})
	var pick string
	for _, c := range m.Choices {
		if c.Label == "Alice's Pixel 8" {
			pick = c.Value
		}
	}
	link := say(resetflow.Input{Action: pick}).Link
	u, _ := fl.LookupUser(context.Background(), alice)
	eng.CompleteSignIn(context.Background(), link.URL[strings.LastIndex(link.URL, "/r/")+3:], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: clk.Now()})
	warn := <-tl.sent
	say(resetflow.Input{Action: warn.Buttons[0].Value}) // "Reset passcode": the reset is now in flight
	alerts.Alert(context.Background(), resetflow.Alert{ID: "al1", Kind: resetflow.AlertBackendError, Time: clk.Now()})

	sigterm()
	for stopped := false; !stopped; {
		timers := make(chan struct{})
		go func() { clk.WaitForTimers(1); close(timers) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			stopped = true
		case <-timers:
			clk.Advance(time.Second)
		}
	}
	ev := tl.all()
	idx := func(prefix string) int {
		for i, e := range ev {
			if strings.HasPrefix(e, prefix) {
				return i
			}
		}
		return -1
	}
	pass, stop, posted := idx("passcode"), idx("adapter stopped"), idx("alerts posted")
	if pass < 0 || stop < 0 || posted < 0 || !(pass < stop && posted < stop) {
		t.Fatalf("order %q: want the passcode and the alerts before the adapter stops", ev)
	}
	if ev[stop] != "adapter stopped, removed 1 passcodes" {
		t.Errorf("%q: the passcode shown while draining was not removed at stop (%q)", ev[stop], ev)
	}
	for _, e := range ev {
		if strings.Contains(e, "after the adapter stopped") {
			t.Errorf("%q", e)
		}
	}
}
