// Package fakeslack is a Slack workspace on loopback for tests and benchmarks:
// the Web API methods the bot uses over net/http and a Socket Mode websocket,
// both spoken to by the real slack-go client. It records every call, checks
// Block Kit the way Slack refuses it (missing block_id or action_id, sizes),
// injects rate limits, and lets a test wait for a condition instead of sleeping.
//
// A typical test:
//
//	fs := fakeslack.New(fakeslack.Options{})
//	defer fs.Close()
//	fs.AddUser(fakeslack.User{ID: "U1", Email: "alice@contoso.example", Locale: "en-US"})
//	// point the bot at fs.APIURL() with fs.BotToken and fs.AppToken, start it, then:
//	fs.WaitConnections(ctx, 1)
//	fs.Deliver(fs.DM("U1", "reset"))
//	call, err := fs.WaitCall(ctx, func(c fakeslack.Call) bool { return c.Method == "chat.postMessage" })
//
// Envelopes: DM, Event (any inner event), Retry (a redelivery), Click (a button
// or select of a stored message), Command (/reset-passcode). Deliver sends one
// over the websocket; Envelope.HTTPRequest sends it to an app in HTTP mode,
// signed. Faults: FailNext (429 with Retry-After), FailNextWith (an error code),
// RateLimit (one post per interval per channel), SetAuthError, FailConnectionsOpen,
// OverrideOpen (conversations.open answers another channel), Disconnect (Slack's
// disconnect envelope), DropConnection (abrupt close). Observations: Calls,
// CallsWhere, Messages, Message, Acked, Connections; waits: WaitFor, WaitCall,
// WaitMessage, WaitAck, WaitConnections.
package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
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

// FailNext makes the next n calls of method to channel (any channel when
// empty) answer 429 with Retry-After.
func (s *Server) FailNext(method, channel string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[method+"|"+channel] = append(s.fails[method+"|"+channel], failure{status: http.StatusTooManyRequests, retryAfter: retryAfter})
	}
}

// FailNextWith makes the next n calls of method to channel answer ok:false with the error code.
func (s *Server) FailNextWith(method, channel string, n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[method+"|"+channel] = append(s.fails[method+"|"+channel], failure{status: http.StatusOK, err: code})
	}
}

// RateLimit allows at most one chat.postMessage per interval in channel (any
// channel when empty, each counted on its own); faster posts answer 429.
// Slack's limit is about one per second per channel.
func (s *Server) RateLimit(channel string, interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every[channel] = interval
}

// SetAuthError makes every Web API method answer ok:false with code
// (invalid_auth, token_revoked, account_inactive); "" restores.
func (s *Server) SetAuthError(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authErr = code
}

// FailConnectionsOpen makes the next apps.connections.open answer an HTTP
// status (404 makes the slack-go client give up and return from RunContext)
// or, when status is 200, ok:false with code.
func (s *Server) FailConnectionsOpen(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.openErrs = append(s.openErrs, failure{status: status, err: code})
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
			return fmt.Errorf("fakeslack: condition not met: %w", ctx.Err())
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

// --- Web API ---

type apiError struct {
	status     int
	code       string
	retryAfter time.Duration
	details    []string
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	var params url.Values
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Method == http.MethodGet {
		params = r.URL.Query()
	} else if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		params = url.Values{}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		for k, v := range body {
			switch v.(type) {
			case map[string]any, []any: // an object (a view) stays JSON
				b, _ := json.Marshal(v)
				params.Set(k, string(b))
			default:
				params.Set(k, fmt.Sprint(v))
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		params = r.PostForm
	}
	token := params.Get("token")
	if token == "" {
		token = bearer
	}
	params.Del("token")

	s.mu.Lock()
	call := Call{Method: method, Channel: params.Get("channel"), Text: params.Get("text"), Params: params, At: s.clk.Now(), Status: http.StatusOK}
	if b := params.Get("blocks"); b != "" {
		call.Blocks = json.RawMessage(b)
	}
	result, aerr := s.serveLocked(method, token, params, &call)
	if aerr != nil {
		call.Status = aerr.status
		call.Error = aerr.code
	}
	s.recordLocked(&call)
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(call)
	}

	w.Header().Set("Content-Type", "application/json")
	if method == "auth.test" {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ","))
	}
	if aerr != nil {
		if aerr.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(aerr.retryAfter.Seconds()))))
		}
		if aerr.status != http.StatusOK && aerr.status != http.StatusTooManyRequests {
			w.WriteHeader(aerr.status)
			return
		}
		w.WriteHeader(aerr.status)
		body := map[string]any{"ok": false, "error": aerr.code}
		if len(aerr.details) > 0 {
			body["errors"] = aerr.details
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	if result == nil {
		result = map[string]any{}
	}
	result["ok"] = true
	_ = json.NewEncoder(w).Encode(result)
}

// recordLocked numbers the call, keeps it (unless ForgetCalls) and wakes waiters. s.mu is held.
func (s *Server) recordLocked(call *Call) {
	s.seq++
	call.Seq = s.seq
	if !s.opts.ForgetCalls {
		s.calls = append(s.calls, *call)
	}
	s.changedLocked()
}

func (s *Server) takeFailureLocked(method, channel string) *failure {
	for _, key := range []string{method + "|" + channel, method + "|"} {
		if q := s.fails[key]; len(q) > 0 {
			f := q[0]
			s.fails[key] = q[1:]
			return &f
		}
	}
	return nil
}

func (s *Server) serveLocked(method, token string, p url.Values, call *Call) (map[string]any, *apiError) {
	if method == "apps.connections.open" {
		if token != s.AppToken {
			return nil, &apiError{status: 200, code: "invalid_auth"}
		}
		if s.authErr != "" {
			return nil, &apiError{status: 200, code: s.authErr}
		}
		if len(s.openErrs) > 0 {
			f := s.openErrs[0]
			s.openErrs = s.openErrs[1:]
			if f.status != http.StatusOK {
				return nil, &apiError{status: f.status, code: http.StatusText(f.status)}
			}
			return nil, &apiError{status: 200, code: f.err}
		}
		return map[string]any{"url": "ws" + strings.TrimPrefix(s.http.URL, "http") + "/ws"}, nil
	}
	if token != s.BotToken {
		return nil, &apiError{status: 200, code: "invalid_auth"}
	}
	if s.authErr != "" {
		return nil, &apiError{status: 200, code: s.authErr}
	}
	if f := s.takeFailureLocked(method, call.Channel); f != nil {
		return nil, &apiError{status: f.status, code: cmpOr(f.err, "ratelimited"), retryAfter: f.retryAfter}
	}
	switch method {
	case "auth.test":
		return map[string]any{"url": "https://fake.slack.test/", "team": "Fake", "user": "passcodebot",
			"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID}, nil
	case "users.info":
		u, ok := s.users[p.Get("user")]
		if !ok {
			return nil, &apiError{status: 200, code: "user_not_found"}
		}
		user := map[string]any{"id": u.ID, "team_id": u.TeamID, "name": u.Name, "real_name": u.Name,
			"is_bot": u.IsBot, "is_stranger": u.IsStranger, "deleted": u.Deleted,
			"profile": map[string]any{"email": u.Email, "real_name": u.Name}}
		if p.Get("include_locale") == "true" {
			user["locale"] = u.Locale
		}
		return map[string]any{"user": user}, nil
	case "conversations.open":
		users := p.Get("users")
		if users == "" || strings.Contains(users, ",") {
			return nil, &apiError{status: 200, code: "not_supported_by_fake"}
		}
		if _, ok := s.users[users]; !ok {
			return nil, &apiError{status: 200, code: "user_not_found"}
		}
		ch, ok := s.opens[users]
		if !ok {
			ch = s.imLocked(users)
		}
		if p.Get("return_im") != "true" {
			// Slack answers only the id unless asked for the full IM object.
			return map[string]any{"channel": map[string]any{"id": ch.ID}}, nil
		}
		return map[string]any{"channel": channelJSON(ch)}, nil
	case "conversations.info":
		ch, ok := s.channels[call.Channel]
		if !ok {
			return nil, &apiError{status: 200, code: "channel_not_found"}
		}
		return map[string]any{"channel": channelJSON(*ch)}, nil
	case "chat.postMessage", "chat.postEphemeral":
		if _, ok := s.channels[call.Channel]; !ok {
			return nil, &apiError{status: 200, code: "channel_not_found"}
		}
		if method == "chat.postMessage" {
			if ra := s.rateLimitedLocked(call.Channel); ra > 0 {
				return nil, &apiError{status: http.StatusTooManyRequests, code: "ratelimited", retryAfter: ra}
			}
		}
		if errs := ValidateBlocks(call.Blocks); len(errs) > 0 {
			return nil, &apiError{status: 200, code: "invalid_blocks", details: errs}
		}
		if call.Text == "" && len(call.Blocks) == 0 {
			return nil, &apiError{status: 200, code: "no_text"}
		}
		s.tsSeq++
		ts := fmt.Sprintf("%d.%06d", s.tsSeq/1_000_000, s.tsSeq%1_000_000)
		call.TS = ts
		if method == "chat.postEphemeral" {
			return map[string]any{"message_ts": ts}, nil
		}
		m := &Message{Channel: call.Channel, TS: ts, Text: call.Text, Blocks: call.Blocks}
		s.messages[call.Channel+"/"+ts] = m
		s.byChan[call.Channel] = append(s.byChan[call.Channel], m)
		return map[string]any{"channel": call.Channel, "ts": ts, "message": map[string]any{"text": call.Text, "ts": ts}}, nil
	case "chat.update":
		call.TS = p.Get("ts")
		m, ok := s.messages[call.Channel+"/"+call.TS]
		if !ok || m.Deleted {
			return nil, &apiError{status: 200, code: "message_not_found"}
		}
		if errs := ValidateBlocks(call.Blocks); len(errs) > 0 {
			return nil, &apiError{status: 200, code: "invalid_blocks", details: errs}
		}
		if p.Has("text") {
			m.Text = call.Text
		}
		if p.Has("blocks") {
			m.Blocks = call.Blocks
		}
		m.Updates++
		return map[string]any{"channel": call.Channel, "ts": call.TS, "text": m.Text}, nil
	case "views.publish":
		return s.publishLocked(p, call)
	case "chat.delete":
		call.TS = p.Get("ts")
		m, ok := s.messages[call.Channel+"/"+call.TS]
		if !ok || m.Deleted {
			return nil, &apiError{status: 200, code: "message_not_found"}
		}
		m.Deleted = true
		return map[string]any{"channel": call.Channel, "ts": call.TS}, nil
	}
	return nil, &apiError{status: 200, code: "unknown_method"}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) rateLimitedLocked(channel string) time.Duration {
	every, ok := s.every[channel]
	if !ok {
		every, ok = s.every[""]
	}
	if !ok || every <= 0 {
		return 0
	}
	now := s.clk.Now()
	if last, seen := s.lastPost[channel]; seen && now.Sub(last) < every {
		return every - now.Sub(last)
	}
	s.lastPost[channel] = now
	return 0
}

func (s *Server) imLocked(user string) Channel {
	id := IM(user)
	if ch, ok := s.channels[id]; ok {
		return *ch
	}
	ch := &Channel{ID: id, IsIM: true, User: user}
	s.channels[id] = ch
	return *ch
}

func channelJSON(ch Channel) map[string]any {
	m := map[string]any{"id": ch.ID, "is_im": ch.IsIM, "is_channel": !ch.IsIM, "name": ch.Name}
	if ch.User != "" {
		m["user"] = ch.User
	}
	return m
}

// responseURL records a slash command's response_url answer as a call with
// Method "response_url" and the command's channel.
func (s *Server) responseURL(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text         string          `json:"text"`
		ResponseType string          `json:"response_type"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	blocks := body.Blocks
	if string(blocks) == "null" {
		blocks = nil
	}
	call := Call{
		Method: "response_url", Channel: r.PathValue("channel"), Text: body.Text, Blocks: blocks,
		Params: url.Values{"response_type": {body.ResponseType}, "user": {r.PathValue("user")}}, Status: http.StatusOK, At: s.clk.Now(),
	}
	s.recordLocked(&call)
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(call)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// --- Socket Mode ---

type wsConn struct {
	conn *websocket.Conn
	wmu  sync.Mutex
	done chan struct{}
	once sync.Once
}

func (c *wsConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.conn.WriteJSON(v)
}

func (c *wsConn) ping() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.conn.WriteControl(websocket.PingMessage, []byte("fakeslack"), time.Now().Add(5*time.Second))
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.conn.Close() // abrupt: no close frame
	})
}

func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{conn: conn, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.close()
		return
	}
	old := s.cur
	s.cur = c
	s.mu.Unlock()
	if old != nil {
		old.close() // Slack may keep several; one at a time is enough here
	}
	if err := c.write(map[string]any{"type": "hello", "num_connections": 1,
		"debug_info": map[string]any{"host": "fakeslack"}, "connection_info": map[string]any{"app_id": "A0FAKE"}}); err != nil {
		c.close()
		return
	}
	_ = c.ping()
	s.mu.Lock()
	s.conns++
	s.changedLocked()
	s.mu.Unlock()

	if s.opts.PingInterval > 0 {
		go func() {
			t := time.NewTicker(s.opts.PingInterval)
			defer t.Stop()
			for {
				select {
				case <-c.done:
					return
				case <-t.C:
					if c.ping() != nil {
						return
					}
				}
			}
		}()
	}
	for {
		_, data, err := conn.ReadMessage()
		if err != nil {
			c.close()
			s.mu.Lock()
			if s.cur == c {
				s.cur = nil
			}
			s.changedLocked()
			s.mu.Unlock()
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = Ack{EnvelopeID: ack.EnvelopeID, Payload: ack.Payload, Latency: time.Since(s.sent[ack.EnvelopeID])}
		s.changedLocked()
		s.mu.Unlock()
	}
}

// Connections counts the websocket connections made so far (each after hello).
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Connected reports whether a websocket is open now.
func (s *Server) Connected() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur != nil
}

// WaitConnections waits until n connections have been made and one is open.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func() bool { return s.Connections() >= n && s.Connected() })
}

// Ping sends a websocket ping now.
func (s *Server) Ping() error {
	c := s.current()
	if c == nil {
		return errors.New("fakeslack: not connected")
	}
	return c.ping()
}

func (s *Server) current() *wsConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Disconnect asks the client to reconnect, as Slack does before it rotates a connection.
func (s *Server) Disconnect() error {
	c := s.current()
	if c == nil {
		return errors.New("fakeslack: not connected")
	}
	return c.write(map[string]any{"type": "disconnect", "reason": "refresh_requested", "debug_info": map[string]any{"host": "fakeslack"}})
}

// DropConnection closes the websocket abruptly, without a close frame.
func (s *Server) DropConnection() {
	if c := s.current(); c != nil {
		c.close()
	}
}

// Acked reports whether the bot acknowledged the envelope, and how.
func (s *Server) Acked(envelopeID string) (Ack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.acks[envelopeID]
	return a, ok
}

// WaitAck waits for the bot's acknowledgement of the envelope.
func (s *Server) WaitAck(ctx context.Context, envelopeID string) (Ack, error) {
	var a Ack
	err := s.WaitFor(ctx, func() bool {
		var ok bool
		a, ok = s.Acked(envelopeID)
		return ok
	})
	return a, err
}

// Deliver sends the envelope over the open websocket.
func (s *Server) Deliver(e Envelope) error {
	c := s.current()
	if c == nil {
		return errors.New("fakeslack: not connected")
	}
	s.mu.Lock()
	s.sent[e.EnvelopeID] = time.Now()
	s.mu.Unlock()
	return c.write(e)
}

// Envelope is one Socket Mode message from Slack (events_api, interactive, slash_commands).
// The same envelope can be sent over HTTP with HTTPRequest.
type Envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	// EventID is the events_api payload's event_id.
	EventID string `json:"-"`
}

func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idSeq++
	return fmt.Sprintf("%s%06d", prefix, s.idSeq)
}

func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", s.tsSeq/1_000_000, s.tsSeq%1_000_000)
}

// Event wraps an inner event (a message, say) in an events_api envelope.
func (s *Server) Event(inner map[string]any) Envelope {
	eventID := s.nextID("Ev")
	payload := map[string]any{
		"token": "legacy", "team_id": s.TeamID, "api_app_id": "A0FAKE", "type": "event_callback",
		"event": inner, "event_id": eventID, "event_time": s.clk.Now().Unix(),
		"authorizations": []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true}},
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "events_api", Payload: raw, AcceptsResponsePayload: false, EventID: eventID}
}

// DM is a message.im event: user writes text in their direct messages with the bot.
func (s *Server) DM(user, text string) Envelope {
	s.mu.Lock()
	ch := s.imLocked(user)
	s.mu.Unlock()
	ts := s.nextTS()
	return s.Event(map[string]any{
		"type": "message", "user": user, "text": text, "ts": ts, "event_ts": ts,
		"channel": ch.ID, "channel_type": "im", "client_msg_id": s.nextID("cm-"),
	})
}

// Retry is Slack's redelivery of e: a new envelope id, the same event.
func (s *Server) Retry(e Envelope) Envelope {
	r := e
	r.EnvelopeID = s.nextID("env-")
	r.RetryAttempt = e.RetryAttempt + 1
	r.RetryReason = "timeout"
	return r
}

// Click is a block_actions interaction: user presses the element actionID of
// the message channel/ts, as the fake stored it. For a static_select, value is
// the picked option's value; for a button, an empty value takes the button's.
func (s *Server) Click(user, channel, ts, actionID, value string) (Envelope, error) {
	m, ok := s.Message(channel, ts)
	if !ok {
		return Envelope{}, fmt.Errorf("fakeslack: no message %s/%s", channel, ts)
	}
	// The same action_id may appear in several blocks (one button per alert):
	// a button is found by its value too.
	var act *Action
	for _, a := range m.Actions() {
		if a.ActionID == actionID && (value == "" || a.Type == "static_select" || a.Value == value) {
			act = &a
			break
		}
	}
	if act == nil {
		return Envelope{}, fmt.Errorf("fakeslack: message %s/%s has no element %q", channel, ts, actionID)
	}
	action := map[string]any{"action_id": act.ActionID, "block_id": act.BlockID, "type": act.Type, "action_ts": s.nextTS()}
	switch act.Type {
	case "static_select":
		var opt *Option
		for _, o := range act.Options {
			if o.Value == value {
				opt = &o
			}
		}
		if opt == nil {
			return Envelope{}, fmt.Errorf("fakeslack: select %q has no option %q", actionID, value)
		}
		action["selected_option"] = map[string]any{"value": opt.Value, "text": map[string]any{"type": "plain_text", "text": opt.Text}}
	default:
		if value == "" {
			value = act.Value
		}
		if value != act.Value {
			return Envelope{}, fmt.Errorf("fakeslack: button %q has value %q, not %q", actionID, act.Value, value)
		}
		if value != "" {
			action["value"] = value
		}
		action["text"] = map[string]any{"type": "plain_text", "text": act.Text}
		if act.URL != "" {
			action["url"] = act.URL
		}
	}
	s.mu.Lock()
	u := s.users[user]
	s.mu.Unlock()
	var blocks any = []any{}
	if len(m.Blocks) > 0 {
		blocks = json.RawMessage(m.Blocks)
	}
	payload := map[string]any{
		"type": "block_actions", "token": "legacy", "api_app_id": "A0FAKE", "trigger_id": s.nextID("trig-"),
		"user":      map[string]any{"id": user, "username": u.Name, "name": u.Name, "team_id": cmpOr(u.TeamID, s.TeamID)},
		"team":      map[string]any{"id": s.TeamID, "domain": "fake"},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"channel":   map[string]any{"id": channel, "name": "directmessage"},
		"message": map[string]any{"type": "message", "user": s.BotUserID, "bot_id": s.BotID, "ts": ts,
			"text": m.Text, "blocks": blocks},
		"response_url": s.http.URL + "/response/" + channel + "/" + user,
		"actions":      []any{action},
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "interactive", Payload: raw, AcceptsResponsePayload: false}, nil
}

// Command is the slash command /reset-passcode typed by user in channel.
func (s *Server) Command(user, channel, text string) Envelope {
	s.mu.Lock()
	u := s.users[user]
	name := "directmessage"
	if ch, ok := s.channels[channel]; ok && !ch.IsIM {
		name = cmpOr(ch.Name, "channel")
	} else if !strings.HasPrefix(channel, "D") {
		name = "channel"
	}
	s.mu.Unlock()
	payload := map[string]any{
		"token": "legacy", "team_id": cmpOr(u.TeamID, s.TeamID), "team_domain": "fake", "channel_id": channel, "channel_name": name,
		"user_id": user, "user_name": u.Name, "command": "/reset-passcode", "text": text,
		"api_app_id": "A0FAKE", "is_enterprise_install": "false",
		"response_url": s.http.URL + "/response/" + channel + "/" + user, "trigger_id": s.nextID("trig-"),
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "slash_commands", Payload: raw, AcceptsResponsePayload: true}
}
