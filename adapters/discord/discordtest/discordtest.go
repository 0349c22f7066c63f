// Package discordtest is a Discord of its own for tests: the REST API on an
// httptest server and a gateway websocket, enough for a bot that talks in
// direct messages, answers interactions and posts to a helpdesk channel. The
// real discordgo client reaches it through a transport that rewrites
// https://discord.com/api/v9/ to APIURL.
//
// Everything the client does is recorded, so tests can assert on calls,
// messages and gateway traffic, and wait for a condition with WaitFor instead
// of sleeping. Faults are injected per test: a 429 with retry_after, op 7
// (reconnect) and op 9 (invalid session), heartbeats left unanswered, and
// connections on which Open() never returns.
package discordtest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
)

// Options configure a fake. Zero values take defaults.
type Options struct {
	Token             string        // the bot token the fake accepts, without "Bot "; default "fake-bot-token"
	AppID             string        // default a fixed snowflake
	BotID             string        // the bot user's id; default AppID (as for applications made today)
	BotName           string        // default "passcodebot"
	HeartbeatInterval time.Duration // sent in HELLO; default 41.25 s
	// Now dates new snowflakes (message and interaction ids); tests with a fake
	// clock pass its Now, so the ids' times agree with the bot's clock.
	Now func() time.Time
	// InteractionAckTimeout is how long, in real time, an interaction may go
	// unanswered before its callback is refused as Discord does; default 3 s.
	InteractionAckTimeout time.Duration
	// OnMessage, when set, is called with every message the bot creates or
	// edits, as it is after (a load driver follows its people with it instead
	// of scanning Messages). It runs with the fake's lock held: it must not
	// call the fake.
	OnMessage func(Message)
}

// User is a Discord user the test plays.
type User struct {
	ID       string
	Username string
	Bot      bool
}

// Call is one REST request the fake served.
type Call struct {
	Seq    int
	Method string
	Path   string // without the /api/v9 prefix
	Route  string // the route it matched, "POST /channels/{cid}/messages" ("" for an unknown one)
	Query  string
	Body   []byte
	Status int
	Authed bool // carried the bot token
}

// Message is a message as the fake keeps it.
type Message struct {
	ID         string
	ChannelID  string
	AuthorID   string
	Content    string
	Embeds     []*discordgo.MessageEmbed
	Components []discordgo.MessageComponent
	Flags      discordgo.MessageFlags
	Deleted    bool
	Versions   []string // every content it had, first to last
	Via        string   // "channel", "interaction" (a response) or "followup"
}

// Channel is a DM or guild channel.
type Channel struct {
	ID        string
	Type      discordgo.ChannelType
	GuildID   string
	Recipient string // the user of a DM
}

// Interaction is an interaction the fake dispatched and what the bot did with it.
type Interaction struct {
	ID         string
	Token      string
	Type       discordgo.InteractionType
	UserID     string
	ChannelID  string
	MessageID  string // the message whose component was used
	CustomID   string
	Values     []string
	Dispatched time.Time // real time
	Callbacks  []discordgo.InteractionResponseType
	AckDelay   time.Duration // real time from dispatch to the first accepted callback
	Refused    []int         // Discord error codes of refused callbacks
	OriginalID string        // the message a type 4/5 response created
	Expired    bool
}

// ConnMode is how the fake gateway treats a new connection.
type ConnMode int

const (
	ConnNormal ConnMode = iota
	// ConnNoHello accepts the websocket and never sends HELLO: Open() blocks reading.
	ConnNoHello
	// ConnNoReady sends HELLO, takes IDENTIFY and sends nothing more.
	ConnNoReady
	// ConnReconnectDuringOpen answers IDENTIFY with op 7 instead of READY. discordgo
	// v0.29.0 handles op 7 inside Open() by closing the session, which needs the
	// lock Open() holds: Open() never returns (discordgo issue 513).
	ConnReconnectDuringOpen
	// ConnInvalidSessionDuringOpen answers the first IDENTIFY with op 9, then
	// behaves normally when the client identifies again.
	ConnInvalidSessionDuringOpen
	// ConnNoHeartbeatAck is normal, except that heartbeats are never acknowledged.
	ConnNoHeartbeatAck
)

// GatewayOp is one gateway frame, in or out.
type GatewayOp struct {
	Conn int
	In   bool // sent by the client
	Op   int
	Type string
	Seq  int64
	Data json.RawMessage
}

// Server is the fake Discord.
type Server struct {
	opts Options
	http *httptest.Server
	t    testing.TB

	snow atomic.Int64

	mu           sync.Mutex
	changed      chan struct{}
	calls        []Call
	routeCounts  map[string]int           // calls by Route
	holds        map[string]chan struct{} // channel id -> message edits there wait until it is closed
	channels     map[string]*Channel
	dms          map[string]string // user id -> DM channel id
	misdirect    map[string]string // user id -> channel id UserChannelCreate returns instead of a DM
	users        map[string]User
	messages     map[string]*Message
	order        []string // message ids in creation order
	interactions map[string]*Interaction
	byToken      map[string]string // interaction token -> id
	commands     []*discordgo.ApplicationCommand
	limits       []*rateLimit
	refuse       int // callbacks to refuse as expired

	conns     map[int]*gwConn
	nextConn  int
	modes     []ConnMode
	current   *gwConn
	session   *gwSession
	sessions  int
	gwlog     []GatewayOp
	identify  []discordgo.Identify
	resumes   []resume
	closed    bool
	heartbeat int
}

type resume struct {
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
	Token     string `json:"token"`
}

type gwSession struct {
	id     string
	seq    int64
	events []GatewayOp // dispatched events, for replay on RESUME
}

type rateLimit struct {
	method, path string
	skip         int // matching requests let through first
	times        int
	retryAfter   time.Duration
	global       bool
}

// New starts a fake and stops it when the test ends.
func New(t testing.TB, opts Options) *Server {
	s := Start(opts)
	s.t = t
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake outside a test (a load driver); Close stops it.
func Start(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = "fake-bot-token"
	}
	if opts.AppID == "" {
		opts.AppID = "1180000000000000001"
	}
	if opts.BotID == "" {
		opts.BotID = opts.AppID
	}
	if opts.BotName == "" {
		opts.BotName = "passcodebot"
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = 41250 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.InteractionAckTimeout <= 0 {
		opts.InteractionAckTimeout = 3 * time.Second
	}
	s := &Server{
		opts: opts, changed: make(chan struct{}),
		channels: map[string]*Channel{}, dms: map[string]string{}, misdirect: map[string]string{}, users: map[string]User{},
		messages: map[string]*Message{}, interactions: map[string]*Interaction{}, byToken: map[string]string{},
		routeCounts: map[string]int{}, conns: map[int]*gwConn{},
	}
	s.users[opts.BotID] = User{ID: opts.BotID, Username: opts.BotName, Bot: true}
	mux := http.NewServeMux()
	s.routes(mux)
	// Unstarted first: the handlers read s.http.URL, so it is set before any can run.
	s.http = httptest.NewUnstartedServer(mux)
	s.http.Start()
	return s
}

// URL is the server's base URL.
func (s *Server) URL() string { return s.http.URL }

// APIURL is what https://discord.com/api/v9/ is rewritten to.
func (s *Server) APIURL() string { return s.http.URL + "/api/v9/" }

// GatewayURL is the websocket URL the fake hands out.
func (s *Server) GatewayURL() string {
	return "ws" + strings.TrimPrefix(s.http.URL, "http") + "/gateway-ws"
}

// Token is the bot token the fake accepts, without "Bot ".
func (s *Server) Token() string { return s.opts.Token }

// AppID is the application's id.
func (s *Server) AppID() string { return s.opts.AppID }

// BotID is the bot user's id.
func (s *Server) BotID() string { return s.opts.BotID }

// Close stops the fake: websockets first, then the HTTP server.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	conns := make([]*gwConn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.ws.Close()
	}
	s.http.Close()
}

// Snowflake makes a new id dated Now.
func (s *Server) Snowflake() string { return s.snowflakeAt(s.opts.Now()) }

func (s *Server) snowflakeAt(t time.Time) string {
	ms := t.UnixMilli() - 1420070400000
	if ms < 0 {
		ms = 0
	}
	return strconv.FormatInt(ms<<22|(s.snow.Add(1)&0x3FFFFF), 10)
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// bump wakes WaitFor. s.mu is held.
func (s *Server) bump() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor blocks until cond holds, checking it after every change the fake
// sees. It fails the test after 15 s of real time, naming what it waited for.
// cond may call the fake's accessors; it must not block.
func (s *Server) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("discordtest: timed out waiting for %s", what)
		}
	}
}

// Changed returns a channel closed at the fake's next change.
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// NewUser adds a person.
func (s *Server) NewUser(name string) User {
	u := User{ID: s.Snowflake(), Username: name}
	s.mu.Lock()
	s.users[u.ID] = u
	s.mu.Unlock()
	return u
}

// AddGuildChannel adds a text channel in a guild and returns its id.
func (s *Server) AddGuildChannel(guildID string) string {
	id := s.Snowflake()
	s.mu.Lock()
	s.channels[id] = &Channel{ID: id, Type: discordgo.ChannelTypeGuildText, GuildID: guildID}
	s.mu.Unlock()
	return id
}

// Misdirect makes opening a DM with user return channel instead: a broken
// proxy or a bug the bot must catch before it sends a secret.
func (s *Server) Misdirect(userID, channelID string) {
	s.mu.Lock()
	s.misdirect[userID] = channelID
	s.mu.Unlock()
}

// DMChannel returns the DM channel with the user, making it if needed.
func (s *Server) DMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dmLocked(userID)
}

func (s *Server) dmLocked(userID string) string {
	if id, ok := s.dms[userID]; ok {
		return id
	}
	id := s.snowflakeAt(s.opts.Now())
	s.channels[id] = &Channel{ID: id, Type: discordgo.ChannelTypeDM, Recipient: userID}
	s.dms[userID] = id
	return id
}

// RateLimit makes the next times requests whose method matches and whose path
// (without /api/v9) contains path answer 429 with retry_after.
func (s *Server) RateLimit(method, path string, times int, retryAfter time.Duration, global bool) {
	s.mu.Lock()
	s.limits = append(s.limits, &rateLimit{method: method, path: path, times: times, retryAfter: retryAfter, global: global})
	s.mu.Unlock()
}

// RateLimitNth makes only the n-th next matching request (1 = the next) answer 429.
func (s *Server) RateLimitNth(method, path string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	s.limits = append(s.limits, &rateLimit{method: method, path: path, skip: n - 1, times: 1, retryAfter: retryAfter})
	s.mu.Unlock()
}

// RefuseCallbacks makes the next n interaction callbacks fail with 10062
// (Unknown interaction), as when the 3 seconds ran out on Discord's side.
func (s *Server) RefuseCallbacks(n int) {
	s.mu.Lock()
	s.refuse += n
	s.mu.Unlock()
}

// Calls returns every REST call so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// HoldEdits keeps every edit of a message in the channel (PATCH
// /channels/{cid}/messages/{mid}) waiting, unanswered, until release is
// called (a slow Discord).
func (s *Server) HoldEdits(channelID string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	if s.holds == nil {
		s.holds = map[string]chan struct{}{}
	}
	s.holds[channelID] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.holds, channelID)
			s.mu.Unlock()
			close(ch)
		})
	}
}

// RouteCounts is how many REST calls each route has served so far ("POST
// /channels/{cid}/messages": n), whatever their status; a load driver takes
// the difference of two counts instead of copying every call.
func (s *Server) RouteCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.routeCounts)
}

// CallsTo returns the calls with the method ("" for any) whose path contains path.
func (s *Server) CallsTo(method, path string) []Call {
	var out []Call
	for _, c := range s.Calls() {
		if (method == "" || c.Method == method) && strings.Contains(c.Path, path) {
			out = append(out, c)
		}
	}
	return out
}

// Messages returns the messages of a channel, oldest first, deleted ones included.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, id := range s.order {
		if m := s.messages[id]; m.ChannelID == channelID {
			out = append(out, m.copy())
		}
	}
	return out
}

// AllMessages returns every message in every channel, oldest first.
func (s *Server) AllMessages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.messages[id].copy())
	}
	return out
}

// Message returns one message.
func (s *Server) Message(id string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[id]
	if !ok {
		return Message{}, false
	}
	return m.copy(), true
}

// Channel returns a channel.
func (s *Server) Channel(id string) (Channel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[id]
	if !ok {
		return Channel{}, false
	}
	return *c, true
}

// Interaction returns what happened to an interaction.
func (s *Server) Interaction(id string) Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[id]
	if in == nil {
		return Interaction{}
	}
	c := *in
	c.Callbacks = slices.Clone(in.Callbacks)
	c.Refused = slices.Clone(in.Refused)
	return c
}

// ExpireInteraction makes the interaction's token unusable, as after 15 minutes
// (webhooks) or 3 seconds without an answer (callback).
func (s *Server) ExpireInteraction(id string) {
	s.mu.Lock()
	if in := s.interactions[id]; in != nil {
		in.Expired = true
	}
	s.mu.Unlock()
}

// Commands returns the registered global application commands.
func (s *Server) Commands() []*discordgo.ApplicationCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands)
}

// SetCommands replaces the registered commands, as a previous deployment left them.
func (s *Server) SetCommands(cmds []*discordgo.ApplicationCommand) {
	s.mu.Lock()
	s.commands = nil
	for _, c := range cmds {
		cc := *c
		cc.ID, cc.ApplicationID, cc.Version = s.snowflakeAt(s.opts.Now()), s.opts.AppID, s.snowflakeAt(s.opts.Now())
		s.commands = append(s.commands, &cc)
	}
	s.bump()
	s.mu.Unlock()
}

// observeLocked hands a message the bot created or edited to OnMessage. s.mu is held.
func (s *Server) observeLocked(m *Message) {
	if s.opts.OnMessage != nil {
		s.opts.OnMessage(m.copy())
	}
}

func (m *Message) copy() Message {
	c := *m
	c.Embeds = slices.Clone(m.Embeds)
	c.Components = slices.Clone(m.Components)
	c.Versions = slices.Clone(m.Versions)
	return c
}

// Buttons lists the message's buttons, row by row.
func (m Message) Buttons() []*discordgo.Button {
	var out []*discordgo.Button
	for _, row := range m.Components {
		if r, ok := row.(*discordgo.ActionsRow); ok {
			for _, c := range r.Components {
				if b, ok := c.(*discordgo.Button); ok {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// Selects lists the message's select menus.
func (m Message) Selects() []*discordgo.SelectMenu {
	var out []*discordgo.SelectMenu
	for _, row := range m.Components {
		if r, ok := row.(*discordgo.ActionsRow); ok {
			for _, c := range r.Components {
				if sm, ok := c.(*discordgo.SelectMenu); ok {
					out = append(out, sm)
				}
			}
		}
	}
	return out
}

// Button finds a button by label, or nil.
func (m Message) Button(label string) *discordgo.Button {
	for _, b := range m.Buttons() {
		if b.Label == label {
			return b
		}
	}
	return nil
}

// Live reports whether the message has a component that can still be used.
func (m Message) Live() bool {
	for _, b := range m.Buttons() {
		if !b.Disabled && b.Style != discordgo.LinkButton {
			return true
		}
	}
	for _, sm := range m.Selects() {
		if !sm.Disabled {
			return true
		}
	}
	return false
}
