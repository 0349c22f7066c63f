package discord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Watchdog tunes the gateway watchdog. Zero values take the defaults.
type Watchdog struct {
	// OpenTimeout bounds Open(): dial, HELLO, IDENTIFY or RESUME, READY. An Open()
	// still running then is abandoned (discordgo v0.29.0 can deadlock in it).
	OpenTimeout time.Duration // default 30 s
	// ReadyTimeout is how long after a successful Open() READY or RESUMED may take.
	ReadyTimeout time.Duration // default 30 s
	// AckTimeout is how long a heartbeat may go unanswered.
	AckTimeout time.Duration // default 20 s
	// BackoffMin and BackoffMax bound the wait between failed connection attempts.
	BackoffMin time.Duration // default 1 s
	BackoffMax time.Duration // default 2 min
	// Check is the longest the watchdog sleeps between looks at the session.
	Check time.Duration // default 5 s
}

func (w *Watchdog) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&w.OpenTimeout, 30*time.Second)
	def(&w.ReadyTimeout, 30*time.Second)
	def(&w.AckTimeout, 20*time.Second)
	def(&w.BackoffMin, time.Second)
	def(&w.BackoffMax, 2*time.Minute)
	def(&w.Check, 5*time.Second)
}

type gwState int

const (
	gwIdle    gwState = iota // no connection; the next attempt is due at retryAt
	gwOpening                // Open() is running
	gwOpen                   // Open() returned; waiting for READY or RESUMED
	gwReady                  // READY or RESUMED seen
)

// gateway owns the gateway session: it opens it, watches it and replaces it.
// discordgo's own reconnect is off (ShouldReconnectOnError false), so every
// reconnect goes through here and is bounded in time.
type gateway struct {
	a   *Adapter
	clk clock.Clock
	cfg Watchdog
	log *slog.Logger

	poke chan struct{}

	mu        sync.Mutex
	sess      *discordgo.Session
	state     gwState
	attempt   int // counts Open() calls
	since     time.Time
	retryAt   time.Time
	backoff   time.Duration
	conn      *trackedConn // the network connection of the current attempt
	problem   string       // why the gateway is not healthy, for Healthy()
	openDone  chan openResult
	closeNext bool // close the session before the next Open(), in the same goroutine
	everReady bool
	restarts  int
	changed   chan struct{} // closed and replaced at every change, for tests
}

type openResult struct {
	attempt int
	err     error
}

func newGateway(a *Adapter, clk clock.Clock, cfg Watchdog, log *slog.Logger) *gateway {
	cfg.defaults()
	return &gateway{a: a, clk: clk, cfg: cfg, log: log, poke: make(chan struct{}, 1), backoff: cfg.BackoffMin, problem: "connecting to the Discord gateway", changed: make(chan struct{})}
}

// notifyLocked wakes whoever watches the gateway's state. g.mu is held.
func (g *gateway) notifyLocked() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// watch returns a channel closed at the next change of state.
func (g *gateway) watch() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

func (g *gateway) wake() {
	select {
	case g.poke <- struct{}{}:
	default:
	}
}

// newSession makes a gateway session on the adapter's HTTP client, with its own
// websocket dialer (never the package's DefaultDialer) that reports its connection.
func (g *gateway) newSession() *discordgo.Session {
	s, _ := discordgo.New("Bot " + g.a.token)
	s.Client = g.a.client
	s.Dialer = &websocket.Dialer{
		Proxy:            http.ProxyFromEnvironment,
		HandshakeTimeout: 30 * time.Second,
		NetDialContext: dialer(g.clk, func(c *trackedConn) {
			g.mu.Lock()
			g.conn = c
			g.mu.Unlock()
		}),
	}
	s.Identify.Intents = discordgo.IntentsDirectMessages
	s.ShouldReconnectOnError = false // the watchdog reconnects, with deadlines
	s.ShouldReconnectVoiceOnSessionError = false
	s.ShouldRetryOnRateLimit = false
	s.StateEnabled = false
	s.SyncEvents = true // handlers run in order on the gateway's reader; they hand work off at once
	s.LogLevel = discordgo.LogError
	s.AddHandler(func(_ *discordgo.Session, r *discordgo.Ready) { g.onReady(s, r.User, r.Application, "ready") })
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Resumed) { g.onReady(s, nil, nil, "resumed") })
	s.AddHandler(func(_ *discordgo.Session, _ *discordgo.Disconnect) { g.wake() })
	s.AddHandler(func(_ *discordgo.Session, m *discordgo.MessageCreate) { g.a.onMessage(m) })
	s.AddHandler(func(_ *discordgo.Session, i *discordgo.InteractionCreate) { g.a.onInteraction(i) })
	return s
}

// onReady runs on the gateway reader (inside Open() for the first packet): it
// must not touch the session's lock.
func (g *gateway) onReady(s *discordgo.Session, u *discordgo.User, app *discordgo.Application, what string) {
	g.mu.Lock()
	if s != g.sess {
		g.mu.Unlock()
		return
	}
	g.state = gwReady
	g.since = g.clk.Now()
	g.backoff = g.cfg.BackoffMin
	g.problem = ""
	first := !g.everReady
	g.everReady = true
	g.notifyLocked()
	g.mu.Unlock()
	if u != nil {
		g.a.setBotUser(u.ID)
	}
	if app != nil && app.ID != "" {
		g.a.setAppID(app.ID)
	}
	g.log.Info("discord gateway "+what, "first", first)
	g.a.afterReady()
	g.wake()
}

// run keeps a session connected until ctx ends.
func (g *gateway) run(ctx context.Context) {
	g.mu.Lock()
	g.retryAt = g.clk.Now()
	g.mu.Unlock()
	for {
		g.step()
		wait := g.nextCheck()
		t := g.clk.AfterFunc(wait, g.wake)
		g.mu.Lock()
		done := g.openDone
		g.mu.Unlock()
		select {
		case <-ctx.Done():
			t.Stop()
			g.stop()
			return
		case r := <-done:
			g.opened(r)
		case <-g.poke:
		}
		t.Stop()
	}
}

// step does what the session's state calls for now.
func (g *gateway) step() {
	now := g.clk.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.notifyLocked()
	switch g.state {
	case gwIdle:
		if now.Before(g.retryAt) {
			return
		}
		if g.sess == nil {
			g.sess = g.newSession()
		}
		g.attempt++
		g.state, g.since, g.conn = gwOpening, now, nil
		done := make(chan openResult, 1)
		g.openDone = done
		s, n, closeFirst := g.sess, g.attempt, g.closeNext
		g.closeNext = false
		go func() {
			if closeFirst {
				// Close and Open in one goroutine, so a late Close never hits the new connection.
				s.Close()
			}
			done <- openResult{attempt: n, err: s.Open()}
		}()
	case gwOpening:
		if now.Sub(g.since) >= g.cfg.OpenTimeout {
			// discordgo may be deadlocked inside Open() (op 7 while opening):
			// its lock is held for good, so the session is left behind and a
			// new one is made. Closing the connection frees the socket.
			g.abandonLocked(fmt.Sprintf("gateway Open() did not return within %v", g.cfg.OpenTimeout))
		}
	case gwOpen:
		if g.conn != nil && g.conn.closed.Load() {
			g.restartLocked("gateway connection closed before READY")
		} else if now.Sub(g.since) >= g.cfg.ReadyTimeout {
			g.restartLocked(fmt.Sprintf("no READY within %v", g.cfg.ReadyTimeout))
		}
	case gwReady:
		switch {
		case g.conn != nil && g.conn.closed.Load():
			// Closed by Discord (op 7, a network fault) or by discordgo: resume at once.
			g.restartLocked("gateway connection closed")
			g.retryAt = now
		case g.conn != nil && g.conn.waitingForAck(now) >= g.cfg.AckTimeout:
			g.restartLocked(fmt.Sprintf("no heartbeat ACK within %v", g.cfg.AckTimeout))
		}
	}
}

// opened takes the result of an Open() call.
func (g *gateway) opened(r openResult) {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.notifyLocked()
	if r.attempt != g.attempt {
		return // an abandoned attempt
	}
	g.openDone = nil
	if g.state != gwOpening {
		return // READY came first, or the watchdog moved on
	}
	if r.err != nil && !errors.Is(r.err, discordgo.ErrWSAlreadyOpen) {
		g.problem = "gateway: " + redact(r.err.Error())
		g.log.Warn("discord gateway Open() failed", "err", g.problem, "retry_in", g.backoff)
		g.state = gwIdle
		g.closeNext = true
		g.scheduleRetryLocked()
		return
	}
	g.state, g.since = gwOpen, g.clk.Now()
}

func (g *gateway) scheduleRetryLocked() {
	g.retryAt = g.clk.Now().Add(g.backoff)
	g.backoff = min(g.backoff*2, g.cfg.BackoffMax)
}

// restartLocked closes the session and opens it again (resuming it) after the backoff.
func (g *gateway) restartLocked(why string) {
	g.log.Warn("discord gateway unhealthy; reconnecting", "why", why, "retry_in", g.backoff)
	g.problem = why
	g.restarts++
	if g.conn != nil {
		g.conn.Close()
	}
	g.state, g.conn, g.openDone, g.closeNext = gwIdle, nil, nil, true
	g.scheduleRetryLocked()
}

// abandonLocked leaves a session whose Open() hangs and starts over with a new
// one. The old session's goroutine stays blocked on its own lock: discordgo
// offers no way to free it.
func (g *gateway) abandonLocked(why string) {
	g.log.Warn("discord gateway stuck; abandoning the session", "why", why, "retry_in", g.backoff)
	g.problem = why
	g.restarts++
	if g.conn != nil {
		g.conn.Close()
	}
	g.sess, g.conn, g.openDone, g.closeNext = nil, nil, nil, false
	g.state = gwIdle
	g.scheduleRetryLocked()
}

// nextCheck is how long to sleep before the next look.
func (g *gateway) nextCheck() time.Duration {
	now := g.clk.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	wait := g.cfg.Check
	at := func(t time.Time) {
		if d := t.Sub(now); d < wait {
			wait = max(d, 0)
		}
	}
	switch g.state {
	case gwIdle:
		at(g.retryAt)
	case gwOpening:
		at(g.since.Add(g.cfg.OpenTimeout))
	case gwOpen:
		at(g.since.Add(g.cfg.ReadyTimeout))
	case gwReady:
		if g.conn != nil {
			if w := g.conn.waitingForAck(now); w > 0 {
				at(now.Add(g.cfg.AckTimeout - w))
			}
		}
	}
	return wait
}

// stop closes the session at shutdown, without waiting on a stuck one.
func (g *gateway) stop() {
	g.mu.Lock()
	s, c, st := g.sess, g.conn, g.state
	g.sess, g.state, g.problem = nil, gwIdle, "stopped"
	g.notifyLocked()
	g.mu.Unlock()
	if c != nil {
		c.Close()
	}
	if s != nil && st != gwOpening {
		done := make(chan struct{})
		go func() { s.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
		}
	}
}

// healthy is nil when the session is READY and heartbeats are answered.
func (g *gateway) healthy() error {
	now := g.clk.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.state == gwReady && g.conn != nil && !g.conn.closed.Load() {
		if w := g.conn.waitingForAck(now); w >= g.cfg.AckTimeout {
			return fmt.Errorf("no heartbeat ACK for %v", w.Round(time.Second))
		}
		return nil
	}
	if g.state == gwReady && g.conn == nil {
		return nil
	}
	p := g.problem
	if p == "" {
		p = "reconnecting to the Discord gateway"
	}
	if g.state == gwOpening && now.Sub(g.since) > g.cfg.OpenTimeout/2 {
		p += fmt.Sprintf("; Open() running for %v", now.Sub(g.since).Round(time.Second))
	}
	return errors.New(p)
}

// stats reports the number of Open() calls and of restarts, for tests.
func (g *gateway) stats() (attempts, restarts int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.attempt, g.restarts
}
