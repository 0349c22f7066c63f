package reauth

import (
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Limiter is a per-client rate limit on the sign-in endpoints: a token bucket
// per (client address, sign-in) pair, where the sign-in is the link's token or
// the provider's state. Keying by the sign-in as well as the address means one
// person hammering their own link never slows anyone else's, even behind one
// NAT or a reverse proxy (where every client has the proxy's address), and
// loopback tests with many people work. It logs once per minute, not once per
// refused request.
type Limiter struct {
	Burst int           // requests allowed at once per key; default 10
	Every time.Duration // one more request allowed per Every; default 6 s
	Clock clock.Clock   // default: the wall clock
	Log   *slog.Logger  // default: discard
	Max   int           // keys remembered before full buckets are dropped; default 50000

	mu       sync.Mutex
	buckets  map[string]*bucket
	refused  int
	lastWarn time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

func (l *Limiter) init() {
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	if l.Burst <= 0 {
		l.Burst = 10
	}
	if l.Every <= 0 {
		l.Every = 6 * time.Second
	}
	if l.Clock == nil {
		l.Clock = clock.Real{}
	}
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
	if l.Max <= 0 {
		l.Max = 50000
	}
}

// Allow takes one request for key and reports whether it may go on.
func (l *Limiter) Allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.init()
	now := l.Clock.Now()
	b := l.buckets[key]
	if b == nil {
		if len(l.buckets) >= l.Max {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: float64(l.Burst), at: now}
		l.buckets[key] = b
	}
	l.refillLocked(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	l.refused++
	if l.lastWarn.IsZero() || now.Sub(l.lastWarn) >= time.Minute || now.Before(l.lastWarn) {
		l.Log.Warn("sign-in pages: requests refused by the rate limit", "refused", l.refused, "per_key_burst", l.Burst, "window", "1m")
		l.lastWarn, l.refused = now, 0
	}
	return false
}

func (l *Limiter) refillLocked(b *bucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(l.Burst), b.tokens+float64(d)/float64(l.Every))
		b.at = now
	}
}

// sweepLocked drops the buckets that are full again; if that frees nothing
// (a flood of distinct keys), it forgets them all: the limit fails open rather
// than refusing people it has never seen.
func (l *Limiter) sweepLocked(now time.Time) {
	for k, b := range l.buckets {
		l.refillLocked(b, now)
		if b.tokens >= float64(l.Burst) {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) >= l.Max {
		l.Log.Warn("sign-in pages: rate limit table full; starting afresh", "keys", len(l.buckets))
		clear(l.buckets)
	}
}

// clientKey is the client's address (without port) and the sign-in it is for.
func clientKey(r *http.Request, signIn string) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return host + "\x00" + signIn
}

// limited wraps h with the limiter; key names the sign-in a request is for.
func (s *Server) limited(h http.HandlerFunc, key func(*http.Request) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.Limit != nil && !s.Limit.Allow(clientKey(r, key(r))) {
			w.Header().Set("Retry-After", "60")
			s.Pages.Message(w, localeFromRequest(r, s.Pages.Catalog), http.StatusTooManyRequests, "page_busy_title", "page_busy")
			return
		}
		h(w, r)
	}
}

// providerKey names the sign-in of a provider route: the state of a callback,
// or the token a form posts.
func providerKey(r *http.Request) string {
	if st := r.URL.Query().Get("state"); st != "" {
		return "state:" + st
	}
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
		return "token:" + r.PostFormValue("token")
	}
	return ""
}
