package onscreen

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// ledger is a Ledger in memory that can be told to fail.
type ledger struct {
	mu                  sync.Mutex
	rows                map[string]Item
	failShown, failGone error
	removed             chan string
}

func newLedger() *ledger { return &ledger{rows: map[string]Item{}, removed: make(chan string, 16)} }

func (l *ledger) Shown(_ context.Context, it Item) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failShown != nil {
		return l.failShown
	}
	l.rows[key(it.Channel, it.MessageID)] = it
	return nil
}

func (l *ledger) Removed(_ context.Context, channel, id string) error {
	defer func() { l.removed <- id }()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.failGone != nil {
		return l.failGone
	}
	delete(l.rows, key(channel, id))
	return nil
}

func (l *ledger) has(channel, id string) (Item, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	it, ok := l.rows[key(channel, id)]
	return it, ok
}

// try is one call of Config.Remove.
type try struct {
	it Item
	n  int
}

type kit struct {
	clk    *clock.Fake
	screen *Screen
	ledger *ledger
	tries  chan try
	logs   *bytes.Buffer
	wrote  chan struct{}
	mu     sync.Mutex
	fail   int // how many tries fail before one works; -1: all fail
}

func newKit(t *testing.T, retry func(int) (time.Duration, bool)) *kit {
	t.Helper()
	k := &kit{clk: clock.NewFake(t0), ledger: newLedger(), tries: make(chan try, 16), logs: &bytes.Buffer{}, wrote: make(chan struct{}, 1)}
	k.screen = New(Config{
		Clock: k.clk, Log: slog.New(slog.NewTextHandler(syncWriter{&k.mu, k.logs, k.wrote}, nil)), TTL: 10 * time.Minute, Ledger: k.ledger, Retry: retry,
		Remove: func(ctx context.Context, it Item, n int) error {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("a removal without a deadline")
			}
			k.tries <- try{it, n}
			k.mu.Lock()
			defer k.mu.Unlock()
			if k.fail < 0 || n <= k.fail {
				return errors.New("chat refused the edit")
			}
			return nil
		},
	})
	return k
}

type syncWriter struct {
	mu    *sync.Mutex
	b     *bytes.Buffer
	wrote chan struct{} // a tick per write, for tests that wait for a line
}

func (w syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.b.Write(p)
	if w.wrote != nil {
		select {
		case w.wrote <- struct{}{}:
		default:
		}
	}
	return n, err
}

// waitLog waits until the log holds want: the screen logs a ledger failure
// after the ledger call returns, so the test may look before it is written.
func (k *kit) waitLog(t *testing.T, want string) {
	t.Helper()
	for !strings.Contains(k.logText(), want) {
		recv(t, k.wrote, "a log line with "+want)
	}
}

func (k *kit) logText() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.logs.String()
}

func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s", what)
		panic("unreachable")
	}
}

func none[T any](t *testing.T, ch <-chan T, what string) {
	t.Helper()
	select {
	case v := <-ch:
		t.Fatalf("unexpected %s: %+v", what, v)
	default:
	}
}

// TestRemovedAfterTTL: a shown passcode is in the ledger with its removal
// time, stays on screen until the TTL is up to the nanosecond, and is then
// removed once and forgotten by the ledger.
func TestRemovedAfterTTL(t *testing.T) {
	k := newKit(t, nil)
	it := k.screen.Show(Item{Channel: "D1", MessageID: "m1", Locale: "ja", Note: "removed"})
	if want := t0.Add(10 * time.Minute); !it.RemoveAt.Equal(want) {
		t.Fatalf("RemoveAt %v, want %v", it.RemoveAt, want)
	}
	row, ok := k.ledger.has("D1", "m1")
	if !ok || row.Locale != "ja" || !row.RemoveAt.Equal(it.RemoveAt) || row.Note != "" {
		t.Fatalf("ledger row %+v, %v; want locale ja, removal time, no note", row, ok)
	}
	k.clk.Advance(10*time.Minute - time.Nanosecond)
	none(t, k.tries, "removal before the TTL")
	k.clk.Advance(time.Nanosecond)
	got := recv(t, k.tries, "removal at the TTL")
	if got.it.Channel != "D1" || got.it.MessageID != "m1" || got.it.Locale != "ja" || got.it.Note != "removed" || got.n != 1 {
		t.Fatalf("removed %+v", got)
	}
	if id := recv(t, k.ledger.removed, "ledger removal"); id != "m1" {
		t.Fatalf("ledger forgot %q", id)
	}
	if _, ok := k.ledger.has("D1", "m1"); ok || k.screen.Pending() != 0 {
		t.Fatal("the removed message is still remembered")
	}
	k.clk.Advance(time.Hour)
	none(t, k.tries, "second removal")
}

// TestRestoreAfterCrash: what a crashed run left goes at once when overdue
// and at its own time otherwise, and is then forgotten by the ledger.
func TestRestoreAfterCrash(t *testing.T) {
	k := newKit(t, nil)
	k.screen.Restore(Item{Channel: "D1", MessageID: "late", Locale: "en", RemoveAt: t0.Add(-time.Minute)})
	if got := recv(t, k.tries, "overdue removal"); got.it.MessageID != "late" || got.it.Locale != "en" {
		t.Fatalf("removed %+v", got)
	}
	recv(t, k.ledger.removed, "ledger removal of the overdue one")

	k.screen.Restore(Item{Channel: "D2", MessageID: "soon", Locale: "ja", RemoveAt: t0.Add(3 * time.Minute)})
	k.clk.WaitForTimers(1)
	k.clk.Advance(3*time.Minute - time.Nanosecond)
	none(t, k.tries, "removal before its time")
	k.clk.Advance(time.Nanosecond)
	if got := recv(t, k.tries, "removal at its time"); got.it.MessageID != "soon" {
		t.Fatalf("removed %+v", got)
	}
	if id := recv(t, k.ledger.removed, "ledger removal"); id != "soon" {
		t.Fatalf("ledger forgot %q", id)
	}
	if !strings.Contains(k.logText(), "from before a restart") {
		t.Error("a restored message is not logged")
	}
}

// TestRemoveAllAtStop: stopping removes every passcode still shown, now, and
// its timer no longer fires.
func TestRemoveAllAtStop(t *testing.T) {
	k := newKit(t, nil)
	k.screen.Show(Item{Channel: "D1", MessageID: "a"})
	k.screen.Show(Item{Channel: "D2", MessageID: "b"})
	k.screen.Restore(Item{Channel: "D3", MessageID: "c", RemoveAt: t0.Add(time.Hour)})
	k.screen.RemoveAll()
	seen := map[string]bool{}
	for range 3 {
		seen[recv(t, k.tries, "removal at stop").it.MessageID] = true
		seen["ledger:"+recv(t, k.ledger.removed, "ledger removal at stop")] = true
	}
	for _, id := range []string{"a", "b", "c", "ledger:a", "ledger:b", "ledger:c"} {
		if !seen[id] {
			t.Errorf("%s not removed at stop (got %v)", id, seen)
		}
	}
	if k.screen.Pending() != 0 || k.clk.Pending() != 0 {
		t.Fatalf("%d removals and %d timers left after stop", k.screen.Pending(), k.clk.Pending())
	}
	k.clk.Advance(time.Hour)
	none(t, k.tries, "removal after stop")
}

// TestLedgerFailure: a ledger that fails is logged, and the passcode is
// removed on time all the same.
func TestLedgerFailure(t *testing.T) {
	k := newKit(t, nil)
	k.ledger.failShown = errors.New("disk full")
	k.ledger.failGone = errors.New("disk full")
	k.screen.Show(Item{Channel: "D1", MessageID: "m1"})
	if _, ok := k.ledger.has("D1", "m1"); ok {
		t.Fatal("the failing ledger kept the row")
	}
	k.clk.Advance(10 * time.Minute)
	recv(t, k.tries, "removal despite the ledger")
	recv(t, k.ledger.removed, "ledger removal attempt")
	k.waitLog(t, "forgetting a removed passcode message failed")
	logs := k.logText()
	for _, want := range []string{"remembering a passcode message failed", "forgetting a removed passcode message failed", "disk full"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
}

// TestRetryUntilRemoved: a failed removal is tried again at the policy's
// times, the ledger forgets the message only once it is gone, and without a
// retry a failed message stays in the ledger for the next start.
func TestRetryUntilRemoved(t *testing.T) {
	k := newKit(t, func(n int) (time.Duration, bool) { return time.Duration(n) * 30 * time.Second, n < 5 })
	k.fail = 2
	k.screen.Show(Item{Channel: "D1", MessageID: "m1"})
	k.clk.Advance(10 * time.Minute)
	if got := recv(t, k.tries, "first try"); got.n != 1 {
		t.Fatalf("try %d", got.n)
	}
	k.clk.WaitForTimers(1)
	k.clk.Advance(30*time.Second - time.Nanosecond)
	none(t, k.tries, "second try before its time")
	k.clk.Advance(time.Nanosecond)
	if got := recv(t, k.tries, "second try"); got.n != 2 {
		t.Fatalf("try %d", got.n)
	}
	none(t, k.ledger.removed, "ledger removal of a message still shown")
	k.clk.WaitForTimers(1)
	k.clk.Advance(60 * time.Second)
	if got := recv(t, k.tries, "third try"); got.n != 3 {
		t.Fatalf("try %d", got.n)
	}
	recv(t, k.ledger.removed, "ledger removal once gone")

	n := newKit(t, nil)
	n.fail = -1
	n.screen.Show(Item{Channel: "D1", MessageID: "stuck"})
	n.clk.Advance(10 * time.Minute)
	recv(t, n.tries, "the one try")
	if _, ok := n.ledger.has("D1", "stuck"); !ok {
		t.Fatal("a message still shown was dropped from the ledger")
	}
	n.clk.Advance(time.Hour)
	none(t, n.tries, "a try without a retry policy")
}

// TestNoRetryAfterStop: at stop a failed removal is not scheduled again and
// stays in the ledger for the next start.
func TestNoRetryAfterStop(t *testing.T) {
	k := newKit(t, func(n int) (time.Duration, bool) { return time.Second, true })
	k.fail = -1
	k.screen.Show(Item{Channel: "D1", MessageID: "m1"})
	k.screen.RemoveAll()
	recv(t, k.tries, "removal at stop")
	if k.clk.Pending() != 0 {
		t.Fatal("a retry was scheduled after stop")
	}
	if _, ok := k.ledger.has("D1", "m1"); !ok {
		t.Fatal("a message still shown was dropped from the ledger")
	}
}
