package discord_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/internal/clock"
)

var watchdog = discord.Watchdog{OpenTimeout: 30 * time.Second, ReadyTimeout: 30 * time.Second, AckTimeout: 20 * time.Second, BackoffMin: time.Second, Check: 5 * time.Second}

// waitWatchdog waits until cond holds, re-checking at every change of the watchdog's state.
func waitWatchdog(t *testing.T, a *discord.Adapter, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		ch := a.WatchdogChanged()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for the watchdog: %s", what)
		}
	}
}

func waitFakeTimers(t *testing.T, c *clock.Fake, n int) {
	t.Helper()
	done := make(chan struct{})
	go func() { c.WaitForTimers(n); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("timed out waiting for %d watchdog timers", n)
	}
}

// TestWatchdogRecovers: each way a gateway session gets stuck ends in a
// working session, with Healthy reporting the trouble meanwhile.
func TestWatchdogRecovers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mode    discordtest.ConnMode
		stuck   func(f *discordtest.Server) bool // the fake has seen the client get stuck
		advance time.Duration
		why     string // what the watchdog logs
		resume  bool   // recovery resumes the session rather than identifying anew
	}{
		{
			name: "op 7 during Open (discordgo issue 513)", mode: discordtest.ConnReconnectDuringOpen, advance: watchdog.OpenTimeout, why: "Open() did not return",
			stuck: func(f *discordtest.Server) bool {
				for _, op := range f.GatewayLog() {
					if !op.In && op.Op == 7 {
						return true
					}
				}
				return false
			},
		},
		{name: "no HELLO", mode: discordtest.ConnNoHello, advance: watchdog.OpenTimeout, why: "Open() did not return", stuck: func(f *discordtest.Server) bool { return f.Connections() == 1 }},
		{name: "no READY", mode: discordtest.ConnNoReady, advance: watchdog.OpenTimeout, why: "Open() did not return", stuck: func(f *discordtest.Server) bool { return len(f.Identifies()) == 1 }},
		{
			name: "no heartbeat ACK", mode: discordtest.ConnNoHeartbeatAck, advance: watchdog.AckTimeout, resume: true, why: "no heartbeat ACK",
			stuck: func(f *discordtest.Server) bool { return f.Ready() && f.Heartbeats() >= 1 },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wd := clock.NewFake(start)
			h := newHarness(t, withWatchdogClock(wd, watchdog))
			h.fake.QueueConnModes(tc.mode)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- h.adapter.Run(ctx, h.engine) }()
			t.Cleanup(func() {
				cancel()
				select {
				case <-done:
				case <-time.After(20 * time.Second):
					t.Error("Run did not return")
				}
			})

			h.fake.WaitFor(t, "the client stuck", func() bool { return tc.stuck(h.fake) })
			if tc.mode != discordtest.ConnNoHeartbeatAck {
				if err := h.adapter.Healthy(); err == nil {
					t.Error("Healthy = nil while Open() hangs")
				}
			}
			waitFakeTimers(t, wd, 1)
			wd.Advance(tc.advance)
			waitWatchdog(t, h.adapter, "a restart", func() bool { _, r := h.adapter.WatchdogStats(); return r == 1 })
			if !strings.Contains(h.logs.String(), tc.why) {
				t.Errorf("the watchdog restarted without logging %q:\n%s", tc.why, h.logs.String())
			}
			if err := h.adapter.Healthy(); err == nil {
				t.Error("Healthy = nil right after the watchdog gave up on the session")
			}
			waitFakeTimers(t, wd, 1)
			wd.Advance(watchdog.BackoffMin)
			waitWatchdog(t, h.adapter, "a healthy session", func() bool { return h.adapter.Healthy() == nil })

			attempts, restarts := h.adapter.WatchdogStats()
			if attempts != 2 || restarts != 1 {
				t.Errorf("Open() calls %d, restarts %d; want 2 and 1", attempts, restarts)
			}
			if n := h.fake.Connections(); n != 2 {
				t.Errorf("%d gateway connections; want 2", n)
			}
			if tc.resume {
				if len(h.fake.Resumes()) != 1 || len(h.fake.Identifies()) != 1 {
					t.Errorf("resumes %v, identifies %d; want the session resumed", h.fake.Resumes(), len(h.fake.Identifies()))
				}
			} else if n := len(h.fake.Identifies()); n < 1 {
				t.Errorf("%d IDENTIFYs after recovery", n)
			}
			// The stuck connection is closed, not left open beside the new one.
			h.fake.WaitFor(t, "one open gateway connection", func() bool { return h.fake.OpenConnections() == 1 })

			// And the bot answers again.
			u := h.fake.NewUser("dana")
			h.fake.UserSays(u, "help")
			h.dmSays(u, "Intune")
		})
	}
}

// TestInvalidSessionDuringOpen: op 9 in place of READY is survived without the watchdog.
func TestInvalidSessionDuringOpen(t *testing.T) {
	h := newHarness(t)
	h.fake.QueueConnModes(discordtest.ConnInvalidSessionDuringOpen)
	h.run()
	if n := len(h.fake.Identifies()); n != 2 {
		t.Errorf("%d IDENTIFYs; want 2 (one answered with op 9)", n)
	}
	waitWatchdog(t, h.adapter, "healthy", func() bool { return h.adapter.Healthy() == nil })
	u := h.fake.NewUser("dana")
	h.fake.UserSays(u, "help")
	h.dmSays(u, "Intune")
}

// TestDroppedConnectionResumes: a connection that drops (a network fault) is resumed.
func TestDroppedConnectionResumes(t *testing.T) {
	h := newHarness(t)
	h.run()
	session := h.fake.SessionID()
	h.fake.DropConnection()
	h.fake.WaitFor(t, "a RESUME", func() bool { return len(h.fake.Resumes()) == 1 })
	if got := h.fake.Resumes()[0]; got != session {
		t.Errorf("resumed %q; want %q", got, session)
	}
	waitWatchdog(t, h.adapter, "healthy", func() bool { return h.adapter.Healthy() == nil })
}

// TestRunRefusesABadToken: a wrong token stops Run at once, naming the variable.
func TestRunRefusesABadToken(t *testing.T) {
	f := discordtest.New(t, discordtest.Options{})
	a, err := discord.New(discord.Config{Token: "wrong", APIURL: f.APIURL(), Catalog: catalogEN()})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Run(context.Background(), nil)
	if !errors.Is(err, discord.ErrUnauthorized) || !strings.Contains(err.Error(), discord.EnvToken) {
		t.Fatalf("Run with a wrong token = %v; want ErrUnauthorized naming %s", err, discord.EnvToken)
	}
	if f.Connections() != 0 {
		t.Error("a gateway connection was opened with a refused token")
	}
}

// TestAdaptersRunSideBySide: two adapters against two Discords in one process,
// in parallel, each with its own REST URL; no package variable is changed, so
// another platform's adapter (Slack) is unaffected too.
func TestAdaptersRunSideBySide(t *testing.T) {
	endpoint := discordgo.EndpointAPI
	defaultDialer := *websocket.DefaultDialer
	defaultTransport := http.DefaultTransport
	var wg sync.WaitGroup
	hs := []*harness{newHarness(t), newHarness(t)}
	for i, h := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h.run()
			u := h.fake.NewUser("user")
			h.fake.UserSays(u, "help")
			h.dmSays(u, "Intune")
			_ = i
		}()
	}
	wg.Wait()
	for i, h := range hs {
		other := hs[1-i]
		for _, c := range h.fake.Calls() {
			if !c.Authed && strings.HasPrefix(c.Path, "/channels") {
				t.Errorf("fake %d got an unauthenticated call %s %s", i, c.Method, c.Path)
			}
		}
		if len(other.fake.Messages(h.fake.DMChannel("nobody"))) != 0 {
			t.Error("messages crossed between the fakes")
		}
	}
	if discordgo.EndpointAPI != endpoint {
		t.Errorf("discordgo.EndpointAPI changed to %q", discordgo.EndpointAPI)
	}
	if websocket.DefaultDialer.NetDialContext != nil || websocket.DefaultDialer.HandshakeTimeout != defaultDialer.HandshakeTimeout {
		t.Error("websocket.DefaultDialer changed")
	}
	if http.DefaultTransport != defaultTransport {
		t.Error("http.DefaultTransport changed")
	}
}
