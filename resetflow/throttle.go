package resetflow

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// throttle counts events per key over a sliding window.
//
// It keeps an entry for every person who started a conversation in the last
// window, so its entries are small (issue 8: 10,000 conversations held at most
// 2 KiB of heap each): the key is kept as a 64-bit hash under a seed of the
// process's own, not as a string, and the common entry, one event, is one
// timestamp held in the map slot. Two keys that collide share one budget, which
// is only ever stricter; with a random seed nobody can aim for a collision.
type throttle struct {
	limit  int
	window int64 // nanoseconds
	seed   maphash.Seed

	mu      sync.Mutex
	seen    map[uint64]throttled
	checked int // calls since the last sweep of idle keys
}

// throttled are the allowed events of one key inside the window, oldest first:
// at, then more's; 16 bytes in the map slot.
type throttled struct {
	at   int64         // the oldest, Unix nanoseconds
	more *throttleMore // the others, and the refusal flag, when there are any
}

type throttleMore struct {
	ts      []int64
	refused bool // a refusal was logged in the current window
}

func (v *throttled) times() []int64 {
	ts := []int64{v.at}
	if v.more != nil {
		ts = append(ts, v.more.ts...)
	}
	return ts
}

func (v *throttled) refused() bool { return v.more != nil && v.more.refused }

func (v *throttled) newest() int64 {
	if v.more != nil && len(v.more.ts) > 0 {
		return v.more.ts[len(v.more.ts)-1]
	}
	return v.at
}

func newThrottle(limit int, window time.Duration) *throttle {
	return &throttle{limit: limit, window: int64(window), seed: maphash.MakeSeed(), seen: map[uint64]throttled{}}
}

// allow counts an event for key at now and reports whether it is within the
// limit; when it is not, first says whether this is the first refusal since
// the key was last allowed, and retry when the next event will be.
func (t *throttle) allow(key string, now time.Time) (ok, first bool, retry time.Time) {
	k, at := t.key(key), now.UnixNano()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.checked++; t.checked >= 1024 {
		t.checked = 0
		for k, v := range t.seen {
			if at-v.newest() >= t.window {
				delete(t.seen, k)
			}
		}
	}
	var keep []int64
	refused := false
	if v, found := t.seen[k]; found {
		refused = v.refused()
		for _, ts := range v.times() {
			if at-ts < t.window {
				keep = append(keep, ts)
			}
		}
	}
	if len(keep) >= t.limit {
		t.seen[k] = pack(keep, true)
		return false, !refused, time.Unix(0, keep[0]+t.window).In(now.Location())
	}
	t.seen[k] = pack(append(keep, at), false)
	return true, false, time.Time{}
}

func (t *throttle) key(s string) uint64 { return maphash.String(t.seed, s) }

func pack(ts []int64, refused bool) throttled {
	v := throttled{at: ts[0]}
	if len(ts) > 1 || refused {
		v.more = &throttleMore{ts: ts[1:], refused: refused}
	}
	return v
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
