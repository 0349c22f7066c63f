package fakediscord_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"

	"github.com/passcodebot/passcodebot/adapters/discord/fakediscord"
)

// rewrite sends discordgo's REST calls to the fake.
type rewrite struct{ to string }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	u, _ := url.Parse(r.to + strings.TrimPrefix(req.URL.String(), discordgo.EndpointAPI))
	req = req.Clone(req.Context())
	req.URL, req.Host = u, u.Host
	return http.DefaultTransport.RoundTrip(req)
}

func websocketDialer() *websocket.Dialer { d := *websocket.DefaultDialer; return &d }

func session(f *fakediscord.Server) *discordgo.Session {
	s, _ := discordgo.New("Bot " + f.Token())
	s.Client = &http.Client{Transport: rewrite{f.APIURL()}}
	s.Dialer = websocketDialer()
	s.ShouldReconnectOnError = false
	s.LogLevel = -1
	return s
}

// TestPlainOpen: discordgo's Open() against the fake: HELLO, IDENTIFY, READY, heartbeats answered.
func TestPlainOpen(t *testing.T) {
	f := fakediscord.New(t, fakediscord.Options{HeartbeatInterval: 50 * time.Millisecond})
	s := session(f)
	if err := s.Open(); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f.WaitFor(t, "three heartbeats", func() bool { return f.Heartbeats() >= 3 })
	acks := 0
	for _, op := range f.GatewayLog() {
		if !op.In && op.Op == 11 {
			acks++
		}
	}
	if acks < 3 {
		t.Errorf("%d heartbeat ACKs for %d heartbeats", acks, f.Heartbeats())
	}
	if ids := f.Identifies(); len(ids) != 1 || ids[0].Token != "Bot "+f.Token() {
		t.Errorf("identifies %+v", ids)
	}
}

// TestReconnectDuringOpenHangsDiscordgo: the fake reproduces discordgo issue
// 513: op 7 while Open() waits for READY, and Open() never returns.
func TestReconnectDuringOpenHangsDiscordgo(t *testing.T) {
	f := fakediscord.New(t, fakediscord.Options{})
	f.QueueConnModes(fakediscord.ConnReconnectDuringOpen)
	s := session(f)
	done := make(chan error, 1)
	go func() { done <- s.Open() }() // left blocked: discordgo offers no way out
	select {
	case err := <-done:
		t.Fatalf("Open() returned (%v); the fake did not reproduce the hang", err)
	case <-time.After(1500 * time.Millisecond):
	}
	if !s.TryLock() {
		return // the session's lock is held for good: the deadlock
	}
	s.Unlock()
	t.Fatal("Open() is blocked but the session lock is free; not the issue 513 deadlock")
}
