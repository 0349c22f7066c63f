package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

func (p *poster) all() []resetflow.Alert {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []resetflow.Alert
	for _, post := range p.posts {
		out = append(out, post...)
	}
	return out
}

// TestAlertsFoldAlike (issue 11, flooding): 100 alerts of one kind for one
// person and device within the window are one alert at once and one with the
// count when the window ends; another device or another kind is its own alert.
func TestAlertsFoldAlike(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	p := &poster{got: make(chan struct{}, 1000)}
	a := NewAlerts(clk, nil, p)
	a.Start()
	bob := resetflow.User{ID: "u-bob", UPN: "bob@x"}
	dev := &resetflow.Device{ID: "d1", Name: "Bob's Galaxy"}
	for i := range 100 {
		a.Alert(context.Background(), resetflow.Alert{ID: fmt.Sprint("a", i), Kind: resetflow.AlertContactSupport, Time: clk.Now(), User: bob, Device: dev})
	}
	a.Alert(context.Background(), resetflow.Alert{ID: "other-device", Kind: resetflow.AlertContactSupport, Time: clk.Now(), User: bob, Device: &resetflow.Device{ID: "d2"}})
	a.Alert(context.Background(), resetflow.Alert{ID: "other-kind", Kind: resetflow.AlertLimitReached, Time: clk.Now(), User: bob})
	<-p.got
	for a.Pending() > 99 { // the two others, in the next post
		clk.WaitForTimers(2) // the queue's interval and the fold's window
		clk.Advance(time.Second)
		<-p.got
	}
	got := p.all()
	if len(got) != 3 || got[0].ID != "a0" || got[0].Repeats != 0 {
		t.Fatalf("posted before the window ended: %v", ids(got))
	}
	clk.WaitForDue(a.Interval) // the queue waits out its interval: move on only once it does
	clk.Advance(a.Window)
	<-p.got
	got = p.all()
	if len(got) != 4 {
		t.Fatalf("after the window: %v", ids(got))
	}
	last := got[3]
	if last.ID != "a99" || last.Repeats != 99 || !last.Since.Equal(t0) {
		t.Errorf("folded alert %s repeats %d since %v; want a99, 99, %v", last.ID, last.Repeats, last.Since, t0)
	}
	waitDrained(a)
	// A flood that goes on is folded again, window by window.
	for i := range 5 {
		a.Alert(context.Background(), resetflow.Alert{ID: fmt.Sprint("b", i), Kind: resetflow.AlertContactSupport, Time: clk.Now(), User: bob, Device: dev})
	}
	if n := len(p.all()); n != 4 {
		t.Fatalf("a flood in the next window posted at once: %d", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	closeAdvancing(t, clk, func() error { return a.Close(ctx) })
	got = p.all()
	if len(got) != 5 || got[4].ID != "b4" || got[4].Repeats != 5 {
		t.Errorf("at close the held alerts are posted with their count: %v (last repeats %d)", ids(got), got[len(got)-1].Repeats)
	}
}

func ids(as []resetflow.Alert) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.ID)
	}
	return s
}

// TestAlertQueueBounded (issue 11, flooding): a channel that is down holds at
// most Max alerts; the rest are counted by kind into one alerts_folded alert,
// posted once the channel is back. Nothing is lost.
func TestAlertQueueBounded(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	var mu sync.Mutex
	down := true
	p := &poster{got: make(chan struct{}, 1000), fail: func(int) error {
		mu.Lock()
		defer mu.Unlock()
		if down {
			return errors.New("channel_not_found")
		}
		return nil
	}}
	a := NewAlerts(clk, nil, p)
	a.Max = 10
	a.Start()
	for i := range 50 {
		kind := resetflow.AlertBackendError
		if i%2 == 1 {
			kind = resetflow.AlertResetFailed
		}
		a.Alert(context.Background(), resetflow.Alert{ID: fmt.Sprint(i), Kind: kind, Time: clk.Now()})
	}
	<-p.got
	q := a.queues[0]
	q.mu.Lock()
	depth := len(q.items)
	q.mu.Unlock()
	if depth != 10 {
		t.Errorf("queue depth %d, want the bound 10", depth)
	}
	if n := a.Pending(); n != 50 {
		t.Errorf("pending %d, want 50 (40 of them counted)", n)
	}
	mu.Lock()
	down = false
	mu.Unlock()
	for len(p.all()) < 11 {
		clk.WaitForTimers(1)
		clk.Advance(time.Minute)
		<-p.got
	}
	got := p.all()
	if len(got) != 11 {
		t.Fatalf("posted %v", ids(got))
	}
	f := got[10]
	if f.Kind != resetflow.AlertsFolded || f.Repeats != 40 || !strings.Contains(f.Detail, "backend_error=20") || !strings.Contains(f.Detail, "reset_failed=20") {
		t.Errorf("folded alert %+v", f)
	}
	waitDrained(a)
}

type memAlertStore struct {
	mu   sync.Mutex
	kept map[string][]resetflow.Alert
}

func (m *memAlertStore) KeptAlerts(_ context.Context, ch string) ([]resetflow.Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]resetflow.Alert(nil), m.kept[ch]...), nil
}

func (m *memAlertStore) KeepAlerts(_ context.Context, ch string, as []resetflow.Alert) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kept[ch] = append([]resetflow.Alert(nil), as...)
	return nil
}

// TestAlertsKeptAcrossRestart (issue 11, shutdown): alerts not delivered when
// Close's deadline passes are kept in the store and posted at the next Start;
// once delivered they are not kept any more.
func TestAlertsKeptAcrossRestart(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	store := &memAlertStore{kept: map[string][]resetflow.Alert{}}
	p := &poster{got: make(chan struct{}, 100), fail: func(int) error { return errors.New("service unavailable") }}
	a := NewAlerts(clk, nil, p)
	a.Store = store
	a.Start()
	bob := resetflow.User{ID: "u-bob"}
	a.Alert(context.Background(), resetflow.Alert{ID: "x1", Kind: resetflow.AlertResetFailed, User: bob})
	a.Alert(context.Background(), resetflow.Alert{ID: "x2", Kind: resetflow.AlertResetFailed, User: bob}) // folded into x1's window
	<-p.got
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the deadline has passed
	if err := a.Close(ctx); err == nil {
		t.Fatal("close reported success with alerts undelivered")
	}
	kept, _ := store.KeptAlerts(context.Background(), "helpdesk-0")
	if got := ids(kept); len(got) != 2 || got[0] != "x1" || got[1] != "x2" || kept[1].Repeats != 1 {
		t.Fatalf("kept %v", got)
	}

	p2 := &poster{got: make(chan struct{}, 100)}
	b := NewAlerts(clk, nil, p2)
	b.Store = store
	b.Start()
	<-p2.got
	if got := ids(p2.all()); len(got) != 2 || got[0] != "x1" || got[1] != "x2" {
		t.Fatalf("after restart posted %v", got)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	closeAdvancing(t, clk, func() error { return b.Close(ctx2) })
	if kept, _ := store.KeptAlerts(context.Background(), "helpdesk-0"); len(kept) != 0 {
		t.Errorf("delivered alerts still kept: %v", ids(kept))
	}
}

// closeAdvancing runs close while moving the fake clock a second at a time
// whenever something waits on it, until close returns (nil, or the test fails).
func closeAdvancing(t *testing.T, clk *clock.Fake, close func() error) {
	t.Helper()
	closed := make(chan error, 1)
	go func() { closed <- close() }()
	for {
		select {
		case err := <-closed:
			if err != nil {
				t.Fatalf("close: %v", err)
			}
			return
		case <-time.After(0):
		}
		if clk.Pending() > 0 {
			clk.Advance(time.Second)
		} else {
			runtime.Gosched()
		}
	}
}

// waitDrained returns once the queues have taken in their last post's result
// (a post is recorded by the poster just before the queue drops it).
func waitDrained(a *Alerts) {
	for a.Pending() != 0 {
		runtime.Gosched()
	}
}
