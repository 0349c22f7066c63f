// Package slacktest is a Slack workspace on loopback for tests and benchmarks:
// the Web API methods the bot uses over net/http and a Socket Mode websocket,
// both spoken to by the real slack-go client. It records every call, checks
// Block Kit the way Slack refuses it (missing block_id or action_id, sizes),
// injects rate limits, and lets a test wait for a condition instead of sleeping.
//
// A typical test:
//
//	fs := slacktest.New(slacktest.Options{})
//	defer fs.Close()
//	fs.AddUser(slacktest.User{ID: "U1", Email: "alice@contoso.example", Locale: "en-US"})
//	// point the bot at fs.APIURL() with fs.BotToken and fs.AppToken, start it, then:
//	fs.WaitConnections(ctx, 1)
//	fs.Deliver(fs.DM("U1", "reset"))
//	call, err := fs.WaitCall(ctx, func(c slacktest.Call) bool { return c.Method == "chat.postMessage" })
//
// Envelopes: DM, Event (any inner event), Retry (a redelivery), Click (a button
// or select of a stored message), Command (/reset-passcode). Deliver sends one
// over the websocket; Envelope.HTTPRequest sends it to an app in HTTP mode,
// signed. Faults: FailNext (429 with Retry-After), FailNextWith (an error code),
// RateLimit (one post per interval per channel), SetAuthError, FailConnectionsOpen,
// OverrideOpen (conversations.open answers another channel), Disconnect (Slack's
// disconnect envelope), DisconnectWith (another reason), DropConnection
// (abrupt close), HoldConnectionsOpen (apps.connections.open waits). Every
// apps.connections.open answers a new websocket URL that takes one connection.
// Observations: Calls, CallsWhere, Messages, Message, Acked, Connections,
// Pongs, Closes; waits: WaitFor, WaitCall, WaitMessage, WaitAck,
// WaitConnections.
package slacktest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Options configure a fake workspace. Zero values take defaults.
type Options struct {
	Clock        clock.Clock   // tells time for rate limits; default the wall clock
	BotToken     string        // default "xoxb-fake-bot-token"
	AppToken     string        // default "xapp-fake-app-token"
	TeamID       string        // default "T0FAKE"
	PingInterval time.Duration // websocket pings; default 10s, negative: never
	// Scopes are the bot token's scopes, sent by auth.test in X-OAuth-Scopes;
	// default those of adapters/slack/manifest.yaml.
	Scopes []string
	// OnCall, when set, sees every Web API call (and response_url answer) once
	// it is recorded, in the request's goroutine: a load driver's hook to time
	// replies without scanning Calls. It must return quickly.
	OnCall func(Call)
	// ForgetCalls keeps calls out of Calls, CallsWhere and WaitCall, so a long
	// benchmark does not hold every call in memory. Messages are kept.
	ForgetCalls bool
}

// User is a workspace member as users.info describes them.
type User struct {
	ID         string
	TeamID     string // default: the workspace's team
	Name       string
	Email      string // empty: no email in the profile
	Locale     string // e.g. "ja-JP"
	IsBot      bool
	IsStranger bool // a Slack Connect user from another organisation
	Deleted    bool
}

// Channel is a conversation.
type Channel struct {
	ID   string
	Name string
	IsIM bool
	User string // the other member of an IM
}

// Call is one Web API request, as the fake saw it.
type Call struct {
	Seq     int // order of arrival, from 1
	Method  string
	Channel string
	TS      string // chat.postMessage: the new message's ts; chat.update, chat.delete: the target
	Text    string
	Blocks  json.RawMessage
	Params  url.Values // form parameters without the token
	Status  int        // HTTP status answered
	Error   string     // Slack error code when ok was false
	At      time.Time  // the fake clock's time
}

// OK reports whether the call succeeded.
func (c Call) OK() bool { return c.Status == http.StatusOK && c.Error == "" }

// AllText is the call's text, its blocks' texts and its parameters, for
// asserting that something does (not) appear anywhere in the call.
func (c Call) AllText() string {
	var b strings.Builder
	b.WriteString(c.Text)
	b.WriteString("\n")
	b.WriteString(string(c.Blocks))
	for k, vs := range c.Params {
		for _, v := range vs {
			b.WriteString("\n" + k + "=" + v)
		}
	}
	return b.String()
}

// Message is a message as it stands in a channel, after updates.
type Message struct {
	Channel string
	TS      string
	Text    string
	Blocks  json.RawMessage
	Updates int
	Deleted bool
}

// Texts is every text of the message's blocks, joined by newlines.
func (m Message) Texts() string { return BlockTexts(m.Blocks) }

// Actions lists the interactive elements of the message.
func (m Message) Actions() []Action { return BlockActions(m.Blocks) }

// Server is the fake workspace.
type Server struct {
	BotToken, AppToken string
	TeamID             string
	BotUserID, BotID   string

	opts Options
	clk  clock.Clock
	http *httptest.Server
	up   websocket.Upgrader

	mu       sync.Mutex
	changed  chan struct{}
	calls    []Call
	seq      int // calls so far
	users    map[string]User
	channels map[string]*Channel
	messages map[string]*Message   // channel + "/" + ts
	homes    map[string]*Home      // user -> their App Home tab (views.publish), home.go
	byChan   map[string][]*Message // channel -> messages, oldest first
	tsSeq    int64
	idSeq    int
	fails    map[string][]failure // method + "|" + channel ("" matches any channel)
	every    map[string]time.Duration
	lastPost map[string]time.Time
	authErr  string
	openErrs []failure
	opens    map[string]Channel // conversations.open answers that override the IM
	conns    int
	cur      *wsConn
	acks     map[string]Ack
	sent     map[string]time.Time // envelope id -> when delivered
	sm       socketState          // socket.go
	closed   bool
}

type failure struct {
	status     int
	retryAfter time.Duration
	err        string
}

// Ack is a Socket Mode acknowledgement the bot sent.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage
	Latency    time.Duration // wall time from delivery to ack
}

// New starts a fake workspace on 127.0.0.1.
func New(o Options) *Server {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.BotToken == "" {
		o.BotToken = "xoxb-fake-bot-token"
	}
	if o.AppToken == "" {
		o.AppToken = "xapp-fake-app-token"
	}
	if o.TeamID == "" {
		o.TeamID = "T0FAKE"
	}
	if o.PingInterval == 0 {
		o.PingInterval = 10 * time.Second
	}
	if o.Scopes == nil {
		o.Scopes = []string{"chat:write", "commands", "im:history", "im:read", "im:write", "users:read", "users:read.email"}
	}
	s := &Server{
		BotToken: o.BotToken, AppToken: o.AppToken, TeamID: o.TeamID,
		BotUserID: "U0BOT", BotID: "B0BOT",
		opts: o, clk: o.Clock,
		// Slack's client sends Origin: https://api.slack.com.
		up:       websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }},
		changed:  make(chan struct{}),
		users:    map[string]User{},
		channels: map[string]*Channel{},
		messages: map[string]*Message{},
		byChan:   map[string][]*Message{},
		fails:    map[string][]failure{},
		every:    map[string]time.Duration{},
		lastPost: map[string]time.Time{},
		opens:    map[string]Channel{},
		acks:     map[string]Ack{},
		sent:     map[string]time.Time{},
		tsSeq:    1_700_000_000_000_000,
	}
	s.users[s.BotUserID] = User{ID: s.BotUserID, TeamID: s.TeamID, Name: "passcodebot", IsBot: true}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	mux.HandleFunc("GET /api/{method}", s.api)
	mux.HandleFunc("GET /ws", s.socket)
	mux.HandleFunc("POST /response/{channel}/{user}", s.responseURL)
	s.http = httptest.NewServer(mux)
	return s
}

// Close stops the server and drops the websocket.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	c := s.cur
	s.cur = nil
	s.mu.Unlock()
	if c != nil {
		c.close()
	}
	s.http.Close()
}

// URL is the server's base URL, http://127.0.0.1:port.
func (s *Server) URL() string { return s.http.URL }

// APIURL is the Web API base for slack.OptionAPIURL: URL() + "/api/".
func (s *Server) APIURL() string { return s.http.URL + "/api/" }

// AddUser adds or replaces a member, and their IM with the bot (IM(u.ID)).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.TeamID == "" {
		u.TeamID = s.TeamID
	}
	s.users[u.ID] = u
	s.imLocked(u.ID)
}

// AddChannel adds or replaces a conversation (a helpdesk channel, say).
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cc := c
	s.channels[c.ID] = &cc
}

// IM is the id of the direct-message channel between the bot and user.
func IM(user string) string { return "D" + strings.TrimPrefix(user, "U") }

// OverrideOpen makes conversations.open for user answer ch instead of the IM,
// as a misbehaving API or a wrong channel mapping would.
func (s *Server) OverrideOpen(user string, ch Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens[user] = ch
	cc := ch
	s.channels[ch.ID] = &cc
}

// changedLocked wakes waiters. s.mu is held.
func (s *Server) changedLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor blocks until cond is true or ctx ends. cond is checked again after
// every change of the fake's state; it may call the Server's methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slacktest: condition not met: %w", ctx.Err())
		}
	}
}

// Calls returns every call so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// CallsWhere returns the calls for which match is true.
func (s *Server) CallsWhere(match func(Call) bool) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if match(c) {
			out = append(out, c)
		}
	}
	return out
}

// WaitCall waits for the first call (since the start) for which match is true.
func (s *Server) WaitCall(ctx context.Context, match func(Call) bool) (Call, error) {
	var found Call
	err := s.WaitFor(ctx, func() bool {
		for _, c := range s.Calls() {
			if match(c) {
				found = c
				return true
			}
		}
		return false
	})
	return found, err
}

// Messages returns the messages of channel as they stand, oldest first, deleted ones included.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.byChan[channel]))
	for _, m := range s.byChan[channel] {
		out = append(out, *m)
	}
	return out
}

// Message returns one message as it stands.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[channel+"/"+ts]
	if !ok {
		return Message{}, false
	}
	return *m, true
}

// WaitMessage waits for a message in channel for which match is true and returns it as it stands.
func (s *Server) WaitMessage(ctx context.Context, channel string, match func(Message) bool) (Message, error) {
	var found Message
	err := s.WaitFor(ctx, func() bool {
		for _, m := range s.Messages(channel) {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	})
	return found, err
}
