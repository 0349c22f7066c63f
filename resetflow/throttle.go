package resetflow

import (
	"context"
	"sync"
	"time"
)

// throttle counts events per key over a sliding window.
type throttle struct {
	limit  int
	window time.Duration

	mu      sync.Mutex
	seen    map[string]*throttled
	checked int // calls since the last sweep of idle keys
}

type throttled struct {
	times   []time.Time // allowed events inside the window, oldest first
	refused bool        // a refusal was logged in the current window
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: window, seen: map[string]*throttled{}}
}

// allow counts an event for key at now and reports whether it is within the
// limit; when it is not, first says whether this is the first refusal since
// the key was last allowed, and retry when the next event will be.
func (t *throttle) allow(key string, now time.Time) (ok, first bool, retry time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.checked++; t.checked >= 1024 {
		t.checked = 0
		for k, v := range t.seen {
			if len(v.times) == 0 || !now.Before(v.times[len(v.times)-1].Add(t.window)) {
				delete(t.seen, k)
			}
		}
	}
	v := t.seen[key]
	if v == nil {
		v = &throttled{}
		t.seen[key] = v
	}
	keep := v.times[:0]
	for _, at := range v.times {
		if now.Before(at.Add(t.window)) {
			keep = append(keep, at)
		}
	}
	v.times = keep
	if len(v.times) >= t.limit {
		first = !v.refused
		v.refused = true
		return false, first, v.times[0].Add(t.window)
	}
	v.times = append(v.times, now)
	v.refused = false
	return true, false, time.Time{}
}

// allowStart counts a conversation start for key (a chat account or a
// directory user). Over the limit the person is asked to wait, and the
// refusal is logged once per burst.
func (e *Engine) allowStart(ctx context.Context, from Address, loc, key string) bool {
	ok, first, retry := e.starts.allow(key, e.d.Clock.Now())
	if ok {
		return true
	}
	if first {
		e.log.Warn("too many conversation starts; asking to wait", "platform", from.Platform, "chat_user", from.UserID,
			"limit", e.cfg.StartLimit, "window", e.cfg.StartWindow)
	}
	e.send(ctx, from, Message{Text: e.cat.T(loc, "too_many_starts", map[string]any{"Until": e.clockTimeUp(retry)})})
	return false
}

// clockTimeUp formats t rounded up to the minute: a time to wait for is never earlier than the real one.
func (e *Engine) clockTimeUp(t time.Time) string {
	if r := t.Truncate(time.Minute); !r.Equal(t) {
		t = r.Add(time.Minute)
	}
	return e.clockTime(t)
}
