package bot

import (
	"context"
	"errors"
	"log/slog"
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
type Alerts struct {
	Clock    clock.Clock
	Log      *slog.Logger
	Interval time.Duration // at most one post per Interval per channel (Slack: 1 s)
	Digest   int           // at most this many alerts in one post while the queue is short
	Retry    time.Duration // wait after a failed post (doubles, up to a minute)

	once    sync.Once
	started bool
	queues  []*alertQueue
	posters []AlertPoster
}

// NewAlerts returns a queue set for the posters.
func NewAlerts(clk clock.Clock, log *slog.Logger, posters ...AlertPoster) *Alerts {
	return &Alerts{Clock: clk, Log: log, Interval: time.Second, Digest: 25, Retry: 2 * time.Second, posters: posters}
}

type alertQueue struct {
	a      *Alerts
	poster AlertPoster
	mu     sync.Mutex
	items  []resetflow.Alert
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

// Start begins delivery. Alerts given before Start wait in the queues.
func (a *Alerts) Start() {
	a.init()
	a.started = true
	for _, q := range a.queues {
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
		for _, p := range a.posters {
			a.queues = append(a.queues, &alertQueue{a: a, poster: p, wake: make(chan struct{}, 1), done: make(chan struct{})})
		}
	})
}

// Alert implements resetflow.Alerter: it queues and returns at once.
func (a *Alerts) Alert(_ context.Context, al resetflow.Alert) {
	a.init()
	a.Log.Info("helpdesk alert", "kind", al.Kind, "alert", al.ID, "platform", al.Platform, "user", al.User.UPN, "detail", al.Detail)
	for _, q := range a.queues {
		q.mu.Lock()
		q.items = append(q.items, al)
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// Pending counts alerts not yet delivered, over all channels.
func (a *Alerts) Pending() int {
	a.init()
	n := 0
	for _, q := range a.queues {
		q.mu.Lock()
		n += len(q.items)
		q.mu.Unlock()
	}
	return n
}

// Close delivers what is queued until ctx ends.
func (a *Alerts) Close(ctx context.Context) error {
	a.init()
	if !a.started {
		return nil
	}
	for _, q := range a.queues {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	for _, q := range a.queues {
		select {
		case <-q.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

type retryAfter interface{ RetryAfter() time.Duration }

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
			<-q.wake
			continue
		}
		err := q.poster.PostAlerts(context.Background(), batch)
		if err != nil {
			wait := backoff
			var ra retryAfter
			if errors.As(err, &ra) && ra.RetryAfter() > 0 {
				wait = ra.RetryAfter()
			} else {
				backoff = min(backoff*2, time.Minute)
			}
			q.a.Log.Warn("posting a helpdesk alert failed; will retry", "alerts", n, "retry_in", wait, "err", err)
			<-q.a.Clock.After(wait)
			continue
		}
		backoff = q.a.Retry
		q.mu.Lock()
		q.items = q.items[n:]
		q.mu.Unlock()
		<-q.a.Clock.After(q.a.Interval)
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
