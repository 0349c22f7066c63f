// Package onscreen is the lifecycle of a temporary passcode shown in a chat:
// every chat adapter posts the passcode in the person's DM and hands the
// message to a Screen, which takes it out of the chat after the secret TTL on
// the injected clock, remembers it in a Ledger meanwhile (so the next start
// removes what a crashed run left on screen), and removes everything still
// shown when the bot stops. How a passcode is taken out of a message (an edit,
// a delete) is the adapter's: Config.Remove.
package onscreen

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Item is one passcode message on screen.
type Item struct {
	Channel, MessageID string
	Locale             string    // the language its replacement notice is written in
	RemoveAt           time.Time // when it is taken out of the chat
	// Note is the adapter's own: what the message reads once the passcode is
	// out, when the adapter words that per message. The ledger does not keep it.
	Note string
}

// Ledger is the port to the durable record of the passcode messages on screen
// (SQLite's shown_secrets in the program). A failing ledger is logged and
// changes nothing else: the passcode is still removed on time.
type Ledger interface {
	// Shown remembers a message until it is removed.
	Shown(ctx context.Context, it Item) error
	// Removed forgets a message that is gone from the chat.
	Removed(ctx context.Context, channel, messageID string) error
}

// Config sets up a Screen.
type Config struct {
	Clock clock.Clock   // default the wall clock
	Log   *slog.Logger  // default slog.Default()
	TTL   time.Duration // how long a passcode stays on screen; default 10 minutes
	// Ledger, when set, hears of every message shown and every message removed.
	Ledger Ledger
	// Remove takes the passcode out of the chat; try counts from 1. It returns
	// nil once the message no longer shows the passcode (a message already
	// gone counts). Required.
	Remove func(ctx context.Context, it Item, try int) error
	// Retry, when set, says how long after a failed try to try again; false:
	// no more tries (the message stays in the ledger for the next start).
	Retry func(try int) (time.Duration, bool)
	// Timeout bounds each try; default 2 minutes.
	Timeout time.Duration
}

// Screen schedules the removal of the passcode messages on screen. It is safe
// for concurrent use.
type Screen struct {
	cfg Config

	mu      sync.Mutex
	pending map[string]*entry // by channel + message id: removals still to come
	stopped bool              // RemoveAll ran: failed tries are not scheduled again
}

type entry struct {
	it    Item
	try   int
	timer clock.Timer
}

// New makes a Screen.
func New(cfg Config) *Screen {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 10 * time.Minute
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	return &Screen{cfg: cfg, pending: map[string]*entry{}}
}

// Show takes a message that now shows a passcode: it is remembered in the
// ledger and removed after the TTL. It returns the item with its RemoveAt.
func (s *Screen) Show(it Item) Item {
	it.RemoveAt = s.cfg.Clock.Now().Add(s.cfg.TTL)
	if s.cfg.Ledger != nil {
		if err := s.cfg.Ledger.Shown(context.Background(), Item{Channel: it.Channel, MessageID: it.MessageID, Locale: it.Locale, RemoveAt: it.RemoveAt}); err != nil {
			s.cfg.Log.Error("remembering a passcode message failed; a crash would leave it shown", "err", err)
		}
	}
	s.schedule(&entry{it: it}, max(it.RemoveAt.Sub(s.cfg.Clock.Now()), 0))
	return it
}

// Restore takes back a passcode message that an earlier run posted and did
// not remove (it stopped without warning): it goes at its RemoveAt, or now.
func (s *Screen) Restore(it Item) {
	s.cfg.Log.Info("a temporary passcode from before a restart is still shown; scheduling its removal", "channel", it.Channel, "remove_at", it.RemoveAt)
	s.schedule(&entry{it: it}, max(it.RemoveAt.Sub(s.cfg.Clock.Now()), 0))
}

// Pending reports how many messages wait for their removal.
func (s *Screen) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

func key(channel, id string) string { return channel + "\x00" + id }

func (s *Screen) schedule(e *entry, after time.Duration) {
	k := key(e.it.Channel, e.it.MessageID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.pending[k]; old != nil && old != e {
		old.timer.Stop()
	}
	s.pending[k] = e
	e.timer = s.cfg.Clock.AfterFunc(after, func() {
		s.mu.Lock()
		due := s.pending[k] == e
		if due {
			delete(s.pending, k)
		}
		s.mu.Unlock()
		if due {
			s.remove(e)
		}
	})
}

// remove makes one try; a failed one is scheduled again while Retry allows.
func (s *Screen) remove(e *entry) {
	e.try++
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	err := s.cfg.Remove(ctx, e.it, e.try)
	cancel()
	if err == nil {
		if s.cfg.Ledger != nil {
			if err := s.cfg.Ledger.Removed(context.Background(), e.it.Channel, e.it.MessageID); err != nil {
				s.cfg.Log.Error("forgetting a removed passcode message failed", "err", err)
			}
		}
		return
	}
	if s.cfg.Retry == nil {
		return
	}
	after, again := s.cfg.Retry(e.try)
	if !again {
		return
	}
	s.mu.Lock()
	stopped := s.stopped
	s.mu.Unlock()
	if !stopped {
		s.schedule(e, after)
	}
}

// RemoveAll removes, now, every passcode still waiting for its time: the bot
// is stopping, and its timers would not outlive it. A removal already under
// way is left to finish; a failed one is not tried again in this run.
func (s *Screen) RemoveAll() {
	s.mu.Lock()
	s.stopped = true
	var now []*entry
	for k, e := range s.pending {
		if e.timer.Stop() {
			now = append(now, e)
		}
		delete(s.pending, k)
	}
	s.mu.Unlock()
	if len(now) > 0 {
		s.cfg.Log.Info("stopping: removing the temporary passcodes still shown", "count", len(now))
	}
	for _, e := range now {
		s.remove(e)
	}
}

// LedgerFuncs is a Ledger made of two functions; a nil one does nothing.
type LedgerFuncs struct {
	OnShown   func(it Item) error
	OnRemoved func(channel, messageID string) error
}

// Shown calls OnShown.
func (l LedgerFuncs) Shown(_ context.Context, it Item) error {
	if l.OnShown == nil {
		return nil
	}
	return l.OnShown(it)
}

// Removed calls OnRemoved.
func (l LedgerFuncs) Removed(_ context.Context, channel, messageID string) error {
	if l.OnRemoved == nil {
		return nil
	}
	return l.OnRemoved(channel, messageID)
}
