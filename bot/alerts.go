package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Alerts queues helpdesk alerts for every helpdesk channel and delivers them at
// the channel's pace. Nothing is dropped: a failed post is retried, a rate-limited
// one waits for Retry-After, and when a queue is deep the pending alerts are folded
// into digest messages so the helpdesk is never minutes behind.
//
// A post takes up to Digest alerts. When more than that are waiting, it takes as
// many as the poster can hold in one message (AlertCapacity; Slack: 49), so a
// burst drains at the poster's capacity per Interval instead of trailing behind:
// 1,000 alerts in 10 s into a channel that takes one post a second are all
// posted within about 21 s rather than 40.
//
// A flood is folded, never dropped: an alert like one raised less than Window
// ago (same person, kind and device) is held and counted, and when the window
// ends the latest of them is posted once with the count (Alert.Repeats). A
// channel's queue holds at most Max alerts; beyond that alerts are counted by
// kind into one AlertsFolded alert, queued as soon as there is room. Alerts
// still queued when Close's deadline passes are kept in Store and queued again
// at the next Start.
type Alerts struct {
	Clock    clock.Clock
	Log      *slog.Logger
	Interval time.Duration // at most one post per Interval per channel (Slack: 1 s)
	Digest   int           // at most this many alerts in one post while the queue is short
	Retry    time.Duration // wait after a failed post (doubles, up to a minute)
	Window   time.Duration // alerts alike within this long are folded into one; <= 0: none
	Max      int           // alerts one channel's queue holds; more are folded into a count
	Store    AlertStore    // keeps undelivered alerts from one run to the next; nil: none

	once    sync.Once
	started bool
	queues  []*alertQueue
	posters []AlertPoster

	mu    sync.Mutex
	folds map[string]*fold // by foldKey
}

// AlertStore keeps the alerts a channel had not delivered when the bot stopped.
type AlertStore interface {
	// KeptAlerts returns the alerts kept for the channel, oldest first.
	KeptAlerts(ctx context.Context, channel string) ([]resetflow.Alert, error)
	// KeepAlerts replaces the alerts kept for the channel (none: forget them).
	KeepAlerts(ctx context.Context, channel string, alerts []resetflow.Alert) error
}

// NewAlerts returns a queue set for the posters.
func NewAlerts(clk clock.Clock, log *slog.Logger, posters ...AlertPoster) *Alerts {
	return &Alerts{Clock: clk, Log: log, Interval: time.Second, Digest: 25, Retry: 2 * time.Second,
		Window: 10 * time.Minute, Max: 1000, posters: posters}
}

type alertQueue struct {
	a       *Alerts
	poster  AlertPoster
	channel string // the name its undelivered alerts are kept under
	mu      sync.Mutex
	items   []resetflow.Alert
	wake    chan struct{}
	closed  bool
	done    chan struct{}
	ctx     context.Context // cancelled when Close gives up: a post in progress stops
	cancel  context.CancelFunc

	// Alerts a full queue could not hold, by kind, since overflowSince.
	overflow      map[resetflow.AlertKind]int
	overflowN     int
	overflowSince time.Time
}

// fold is a window in which alerts alike are counted instead of posted.
type fold struct {
	since time.Time // when the window opened (the alert posted then)
	until time.Time
	held  resetflow.Alert // the latest alert folded
	count int             // alerts folded so far
	timer clock.Timer
}

// Start begins delivery, after queueing the alerts kept at the last stop.
// Alerts given before Start wait in the queues.
func (a *Alerts) Start() {
	a.init()
	a.started = true
	for _, q := range a.queues {
		if a.Store != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			kept, err := a.Store.KeptAlerts(ctx, q.channel)
			cancel()
			if err != nil {
				a.Log.Error("reading the helpdesk alerts kept at the last stop failed", "channel", q.channel, "err", err)
			}
			if len(kept) > 0 {
				a.Log.Info("helpdesk alerts kept at the last stop are queued again", "channel", q.channel, "alerts", len(kept))
				q.mu.Lock()
				q.items = append(kept, q.items...)
				q.mu.Unlock()
			}
		}
		go q.run()
	}
}

func (a *Alerts) init() {
	a.once.Do(func() {
		if a.Clock == nil {
			a.Clock = clock.Real{}
		}
		if a.Log == nil {
			a.Log = slog.New(slog.DiscardHandler)
		}
		if a.Max <= 0 {
			a.Max = 1000
		}
		a.folds = map[string]*fold{}
		for i, p := range a.posters {
			ctx, cancel := context.WithCancel(context.Background())
			name := fmt.Sprintf("helpdesk-%d", i)
			if n, ok := p.(interface{ Platform() string }); ok {
				name = n.Platform()
			}
			a.queues = append(a.queues, &alertQueue{a: a, poster: p, channel: name, wake: make(chan struct{}, 1), done: make(chan struct{}),
				ctx: ctx, cancel: cancel, overflow: map[resetflow.AlertKind]int{}})
		}
	})
}

// foldKey is what makes alerts alike: person, kind and device. An alert about
// nobody in particular is never folded.
func foldKey(al resetflow.Alert) string {
	who := al.User.Key()
	if who == "" && al.ChatUser != "" {
		who = "chat:" + al.Platform + ":" + al.ChatUser
	}
	if who == "" {
		return ""
	}
	dev := ""
	if al.Device != nil {
		dev = al.Device.ID
	}
	return string(al.Kind) + "\x00" + who + "\x00" + dev
}

// Alert implements resetflow.Alerter: it queues and returns at once.
func (a *Alerts) Alert(_ context.Context, al resetflow.Alert) {
	a.init()
	if key := foldKey(al); key != "" && a.Window > 0 {
		now := a.Clock.Now()
		a.mu.Lock()
		if f := a.folds[key]; f != nil && now.Before(f.until) {
			f.count++
			f.held = al
			if f.timer == nil {
				f.timer = a.Clock.AfterFunc(f.until.Sub(now), func() { a.closeFold(key, f) })
			}
			n := f.count
			a.mu.Unlock()
			level := slog.LevelDebug
			if n == 1 {
				level = slog.LevelInfo // once per window; the rest at debug
			}
			a.Log.Log(context.Background(), level, "helpdesk alert folded into an earlier one", "kind", al.Kind, "alert", al.ID, "user", al.User.UPN, "folded", n)
			return
		}
		a.sweepLocked(now)
		a.folds[key] = &fold{since: now, until: now.Add(a.Window)}
		a.mu.Unlock()
	}
	a.enqueue(al)
}

// sweepLocked forgets windows that ended with nothing folded. a.mu is held.
func (a *Alerts) sweepLocked(now time.Time) {
	if len(a.folds) < 256 {
		return
	}
	for k, f := range a.folds {
		if f.count == 0 && !now.Before(f.until) {
			delete(a.folds, k)
		}
	}
}

// closeFold ends a window: the alerts folded in it are posted as one, and a
// new window opens so a flood that goes on is folded again.
func (a *Alerts) closeFold(key string, f *fold) {
	a.mu.Lock()
	if a.folds[key] != f || f.count == 0 {
		a.mu.Unlock()
		return
	}
	al := f.held
	al.Repeats, al.Since = f.count, f.since
	now := a.Clock.Now()
	a.folds[key] = &fold{since: now, until: now.Add(a.Window)}
	a.mu.Unlock()
	a.enqueue(al)
}

// flushFolds posts what every open window holds (at Close).
func (a *Alerts) flushFolds() {
	a.mu.Lock()
	var out []resetflow.Alert
	for k, f := range a.folds {
		if f.timer != nil {
			f.timer.Stop()
		}
		if f.count > 0 {
			al := f.held
			al.Repeats, al.Since = f.count, f.since
			out = append(out, al)
		}
		delete(a.folds, k)
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y resetflow.Alert) int { return x.Time.Compare(y.Time) })
	for _, al := range out {
		a.enqueue(al)
	}
}

func (a *Alerts) enqueue(al resetflow.Alert) {
	a.Log.Info("helpdesk alert", "kind", al.Kind, "alert", al.ID, "platform", al.Platform, "user", al.User.UPN, "detail", al.Detail, "repeats", al.Repeats)
	for _, q := range a.queues {
		q.mu.Lock()
		if len(q.items) >= a.Max {
			q.overflow[al.Kind]++
			q.overflowN++
			if q.overflowSince.IsZero() {
				q.overflowSince = al.Time
			}
			first := q.overflowN == 1
			q.mu.Unlock()
			if first {
				a.Log.Warn("helpdesk alert queue full; further alerts are counted into one", "channel", q.channel, "max", a.Max)
			}
			continue
		}
		q.items = append(q.items, al)
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// foldOverflowLocked queues the alert that counts what a full queue could not
// hold, once there is room for it. q.mu is held.
func (q *alertQueue) foldOverflowLocked() {
	if q.overflowN == 0 || len(q.items) >= q.a.Max {
		return
	}
	q.items = append(q.items, q.overflowAlertLocked())
	q.overflow, q.overflowN, q.overflowSince = map[resetflow.AlertKind]int{}, 0, time.Time{}
}

func (q *alertQueue) overflowAlertLocked() resetflow.Alert {
	kinds := make([]string, 0, len(q.overflow))
	for k, n := range q.overflow {
		kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(kinds)
	return resetflow.Alert{ID: newAlertID(), Kind: resetflow.AlertsFolded, Time: q.a.Clock.Now(), Repeats: q.overflowN, Since: q.overflowSince,
		Detail: "queue full (max " + fmt.Sprint(q.a.Max) + "); " + strings.Join(kinds, " ")}
}

func newAlertID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Pending counts alerts not yet delivered, over all channels (those folded
// into a count included).
func (a *Alerts) Pending() int {
	a.init()
	n := 0
	for _, q := range a.queues {
		q.mu.Lock()
		n += len(q.items) + q.overflowN
		q.mu.Unlock()
	}
	a.mu.Lock()
	for _, f := range a.folds {
		n += f.count
	}
	a.mu.Unlock()
	return n
}

// Close delivers what is queued (folded alerts included) until ctx ends. What
// is still undelivered then is kept in Store for the next Start.
func (a *Alerts) Close(ctx context.Context) error {
	a.init()
	if !a.started {
		return nil
	}
	a.flushFolds()
	for _, q := range a.queues {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	var err error
	for _, q := range a.queues {
		select {
		case <-q.done:
		case <-ctx.Done():
			err = ctx.Err()
		}
		if err != nil {
			break
		}
	}
	kept := 0
	for _, q := range a.queues {
		q.cancel() // a post still running gives up; its alerts stay queued
		select {
		case <-q.done:
		case <-time.After(5 * time.Second):
			// A poster that ignores its context: keep what is queued anyway
			// (an alert it posts after all may then be posted twice, never lost).
			a.Log.Warn("a helpdesk channel did not stop in time", "channel", q.channel)
		}
		q.mu.Lock()
		left := append([]resetflow.Alert(nil), q.items...)
		if q.overflowN > 0 {
			left = append(left, q.overflowAlertLocked())
		}
		q.mu.Unlock()
		kept += len(left)
		if a.Store == nil {
			continue
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if serr := a.Store.KeepAlerts(sctx, q.channel, left); serr != nil {
			a.Log.Error("keeping undelivered helpdesk alerts failed; they are lost", "channel", q.channel, "alerts", len(left), "err", serr)
		} else if len(left) > 0 {
			a.Log.Warn("helpdesk alerts not delivered at stop are kept for the next start", "channel", q.channel, "alerts", len(left))
		}
		cancel()
	}
	if err == nil && kept > 0 {
		err = fmt.Errorf("%d helpdesk alerts not delivered", kept)
	}
	return err
}

type retryAfter interface{ RetryAfter() time.Duration }

// pause waits d on the clock; false when the queue is being stopped.
func (q *alertQueue) pause(d time.Duration) bool {
	select {
	case <-q.a.Clock.After(d):
		return true
	case <-q.ctx.Done():
		return false
	}
}

func (q *alertQueue) run() {
	defer close(q.done)
	backoff := q.a.Retry
	for {
		q.mu.Lock()
		n := q.batchLocked()
		batch := append([]resetflow.Alert(nil), q.items[:n]...)
		closed := q.closed
		q.mu.Unlock()
		if n == 0 {
			if closed {
				return
			}
			select {
			case <-q.wake:
			case <-q.ctx.Done():
				return
			}
			continue
		}
		err := q.poster.PostAlerts(q.ctx, batch)
		if err != nil {
			if q.ctx.Err() != nil {
				return
			}
			wait := backoff
			var ra retryAfter
			if errors.As(err, &ra) && ra.RetryAfter() > 0 {
				wait = ra.RetryAfter()
			} else {
				backoff = min(backoff*2, time.Minute)
			}
			q.a.Log.Warn("posting a helpdesk alert failed; will retry", "alerts", n, "retry_in", wait, "err", err)
			if !q.pause(wait) {
				return
			}
			continue
		}
		backoff = q.a.Retry
		q.mu.Lock()
		q.items = q.items[n:]
		q.foldOverflowLocked()
		q.mu.Unlock()
		if !q.pause(q.a.Interval) {
			return
		}
	}
}

// batchLocked is how many alerts the next post takes. q.mu is held.
func (q *alertQueue) batchLocked() int {
	depth, n := len(q.items), min(len(q.items), q.a.Digest)
	capacity := 0
	if c, ok := q.poster.(AlertCapacity); ok {
		capacity = c.MaxAlertsPerPost()
	}
	if capacity <= 0 {
		return n
	}
	if depth > q.a.Digest {
		// A deep queue: fill the post.
		n = depth
	}
	return min(n, capacity)
}
