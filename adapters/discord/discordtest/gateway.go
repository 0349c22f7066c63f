package discordtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"github.com/gorilla/websocket"
)

// gwConn is one gateway websocket. Frames to the client go through an outbox
// drained by a writer goroutine, so the fake never blocks on a slow client
// while it holds its lock.
type gwConn struct {
	id    int
	ws    *websocket.Conn
	mode  ConnMode
	ready bool

	mu     sync.Mutex
	outbox [][]byte
	wake   chan struct{}
	done   chan struct{}
}

func (c *gwConn) send(frame []byte) {
	c.mu.Lock()
	c.outbox = append(c.outbox, frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *gwConn) writer() {
	for {
		c.mu.Lock()
		batch := c.outbox
		c.outbox = nil
		c.mu.Unlock()
		for _, f := range batch {
			if err := c.ws.WriteMessage(websocket.TextMessage, f); err != nil {
				return
			}
		}
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
	}
}

type frame struct {
	Op   int             `json:"op"`
	Data json.RawMessage `json:"d"`
	Seq  int64           `json:"s,omitempty"`
	Type string          `json:"t,omitempty"`
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// QueueConnModes sets how the next connections are treated, one mode each;
// connections beyond the queue are normal.
func (s *Server) QueueConnModes(modes ...ConnMode) {
	s.mu.Lock()
	s.modes = append(s.modes, modes...)
	s.mu.Unlock()
}

// outLocked sends a frame to c and logs it. s.mu is held.
func (s *Server) outLocked(c *gwConn, op int, typ string, seq int64, data any) {
	raw, _ := json.Marshal(data)
	f, _ := json.Marshal(frame{Op: op, Data: raw, Seq: seq, Type: typ})
	s.gwlog = append(s.gwlog, GatewayOp{Conn: c.id, Op: op, Type: typ, Seq: seq, Data: raw})
	s.bump()
	c.send(f)
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ws.Close()
		return
	}
	s.nextConn++
	c := &gwConn{id: s.nextConn, ws: ws, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if len(s.modes) > 0 {
		c.mode, s.modes = s.modes[0], s.modes[1:]
	}
	s.conns[c.id] = c
	s.bump()
	s.mu.Unlock()
	go c.writer()
	defer func() {
		close(c.done)
		ws.Close()
		s.mu.Lock()
		delete(s.conns, c.id)
		if s.current == c {
			s.current = nil
		}
		s.bump()
		s.mu.Unlock()
	}()

	if c.mode != ConnNoHello {
		s.mu.Lock()
		s.outLocked(c, 10, "", 0, map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()})
		s.mu.Unlock()
	}
	for {
		_, raw, err := ws.ReadMessage()
		if err != nil {
			return
		}
		var f frame
		if err := json.Unmarshal(raw, &f); err != nil {
			return
		}
		s.mu.Lock()
		s.gwlog = append(s.gwlog, GatewayOp{Conn: c.id, In: true, Op: f.Op, Seq: f.Seq, Data: f.Data})
		switch f.Op {
		case 1: // heartbeat
			s.heartbeat++
			if c.mode != ConnNoHeartbeatAck {
				s.outLocked(c, 11, "", 0, nil)
			}
		case 2: // identify
			var id discordgo.Identify
			json.Unmarshal(f.Data, &id)
			s.identify = append(s.identify, id)
			s.identifyLocked(c, id)
		case 6: // resume
			var rs resume
			json.Unmarshal(f.Data, &rs)
			s.resumes = append(s.resumes, rs)
			s.resumeLocked(c, rs)
		}
		s.bump()
		s.mu.Unlock()
	}
}

func (s *Server) identifyLocked(c *gwConn, id discordgo.Identify) {
	if id.Token != "Bot "+s.opts.Token && id.Token != s.opts.Token {
		c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
		c.ws.Close()
		return
	}
	switch c.mode {
	case ConnNoReady:
		return
	case ConnReconnectDuringOpen:
		s.outLocked(c, 7, "", 0, nil)
		return
	case ConnInvalidSessionDuringOpen:
		c.mode = ConnNormal
		s.outLocked(c, 9, "", 0, false)
		return
	}
	s.sessions++
	s.session = &gwSession{id: fmt.Sprintf("fake-session-%d", s.sessions)}
	s.current = c
	c.ready = true
	s.session.seq++
	s.outLocked(c, 0, "READY", s.session.seq, map[string]any{
		"v": 9, "session_id": s.session.id, "resume_gateway_url": s.GatewayURL(),
		"user":        s.userJSON(s.users[s.opts.BotID]),
		"application": map[string]any{"id": s.opts.AppID, "flags": 0},
		"guilds":      []any{}, "private_channels": []any{}, "shard": []int{0, 1},
	})
}

func (s *Server) resumeLocked(c *gwConn, rs resume) {
	if rs.Token != "Bot "+s.opts.Token && rs.Token != s.opts.Token {
		c.ws.Close()
		return
	}
	if s.session == nil || rs.SessionID != s.session.id || c.mode == ConnInvalidSessionDuringOpen {
		c.mode = ConnNormal
		s.outLocked(c, 9, "", 0, false)
		return
	}
	s.current = c
	c.ready = true
	// Replay what the client missed, then RESUMED.
	for _, e := range s.session.events {
		if e.Seq > rs.Seq {
			s.outLocked(c, 0, e.Type, e.Seq, e.Data)
		}
	}
	s.session.seq++
	s.outLocked(c, 0, "RESUMED", s.session.seq, map[string]any{})
}

// dispatchLocked sends an event on the session: now if a connection is ready,
// else at the client's RESUME. s.mu is held.
func (s *Server) dispatchLocked(typ string, data any) {
	if s.session == nil {
		return
	}
	raw, _ := json.Marshal(data)
	s.session.seq++
	e := GatewayOp{Op: 0, Type: typ, Seq: s.session.seq, Data: raw}
	s.session.events = append(s.session.events, e)
	if c := s.current; c != nil && c.ready {
		s.outLocked(c, 0, typ, e.Seq, json.RawMessage(raw))
	}
}

// Dispatch sends an event (MESSAGE_CREATE, INTERACTION_CREATE, ...) to the bot.
func (s *Server) Dispatch(typ string, data any) {
	s.mu.Lock()
	s.dispatchLocked(typ, data)
	s.bump()
	s.mu.Unlock()
}

// SendReconnect sends op 7 on the current connection and, as Discord does,
// sends nothing more on it: events from now on wait for the client's RESUME.
func (s *Server) SendReconnect() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.current; c != nil {
		s.outLocked(c, 7, "", 0, nil)
		c.ready = false
		s.current = nil
	}
}

// SendInvalidSession sends op 9 on the current connection.
func (s *Server) SendInvalidSession(resumable bool) { s.sendOp(9, resumable) }

func (s *Server) sendOp(op int, d any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.current != nil {
		s.outLocked(s.current, op, "", 0, d)
	}
}

// DropConnection closes the current gateway connection abruptly, as a network fault would.
func (s *Server) DropConnection() {
	s.mu.Lock()
	c := s.current
	s.mu.Unlock()
	if c != nil {
		c.ws.Close()
	}
}

// Ready reports whether a connection has identified or resumed and is live.
func (s *Server) Ready() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.current != nil && s.current.ready
}

// WaitReady waits until a connection is ready.
func (s *Server) WaitReady(t testing.TB) {
	t.Helper()
	s.WaitFor(t, "a ready gateway connection", s.Ready)
}

// Connections counts gateway websockets opened so far.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextConn
}

// OpenConnections counts gateway websockets open now.
func (s *Server) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Identifies returns the IDENTIFY payloads received.
func (s *Server) Identifies() []discordgo.Identify {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.identify)
}

// Resumes returns the session ids of the RESUMEs received.
func (s *Server) Resumes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.resumes {
		out = append(out, r.SessionID)
	}
	return out
}

// SessionID is the current gateway session's id.
func (s *Server) SessionID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.session == nil {
		return ""
	}
	return s.session.id
}

// Heartbeats counts heartbeats received.
func (s *Server) Heartbeats() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.heartbeat
}

// GatewayLog returns every gateway frame so far.
func (s *Server) GatewayLog() []GatewayOp {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.gwlog)
}

// --- what people do ---

// UserSays makes the user write text in their DM with the bot; it returns the message id.
func (s *Server) UserSays(u User, text string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	cid := s.dmLocked(u.ID)
	m := &Message{ID: s.snowflakeAt(s.opts.Now()), ChannelID: cid, AuthorID: u.ID, Content: text, Versions: []string{text}, Via: "user"}
	s.users[u.ID] = u
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	s.dispatchLocked("MESSAGE_CREATE", s.messageJSON(m))
	s.bump()
	return m.ID
}

// InteractionOption changes an interaction the test sends.
type InteractionOption func(*interactionOpts)

type interactionOpts struct {
	locale        string
	at            time.Time
	guildID       string
	allowDisabled bool
	context       *discordgo.InteractionContextType
}

// Locale sets the user's client locale (default "en-US").
func Locale(l string) InteractionOption { return func(o *interactionOpts) { o.locale = l } }

// At dates the interaction's id, for stale interactions.
func At(t time.Time) InteractionOption { return func(o *interactionOpts) { o.at = t } }

// InGuild sends the interaction from a guild: Member instead of User.
func InGuild(guildID string) InteractionOption {
	return func(o *interactionOpts) { o.guildID = guildID }
}

// Context sets the interaction context (bot DM, guild, private channel).
func Context(c discordgo.InteractionContextType) InteractionOption {
	return func(o *interactionOpts) { o.context = &c }
}

// AllowDisabled sends a click even on a disabled or missing component, as a
// client whose screen has not caught up yet does (double clicks).
func AllowDisabled() InteractionOption { return func(o *interactionOpts) { o.allowDisabled = true } }

func (s *Server) interactionLocked(u User, typ discordgo.InteractionType, channelID string, o interactionOpts, data map[string]any, msg *Message) (*Interaction, map[string]any) {
	at := o.at
	if at.IsZero() {
		at = s.opts.Now()
	}
	in := &Interaction{ID: s.snowflakeAt(at), Token: "aW50ZXJhY3Rpb24" + randomToken(), Type: typ, UserID: u.ID, ChannelID: channelID, Dispatched: time.Now()}
	if msg != nil {
		in.MessageID = msg.ID
	}
	s.users[u.ID] = u
	s.interactions[in.ID] = in
	s.byToken[in.Token] = in.ID
	locale := o.locale
	if locale == "" {
		locale = "en-US"
	}
	ctx := discordgo.InteractionContextBotDM
	if o.guildID != "" {
		ctx = discordgo.InteractionContextGuild
	}
	if o.context != nil {
		ctx = *o.context
	}
	p := map[string]any{
		"id": in.ID, "application_id": s.opts.AppID, "type": typ, "data": data, "channel_id": channelID,
		"token": in.Token, "version": 1, "locale": locale, "context": ctx,
		"authorizing_integration_owners": map[string]string{"0": "0"},
		"app_permissions":                "0",
	}
	if o.guildID != "" {
		p["guild_id"] = o.guildID
		p["guild_locale"] = "en-US"
		p["member"] = map[string]any{"user": s.userJSON(u), "roles": []string{}, "nick": u.Username}
	} else {
		p["user"] = s.userJSON(u)
	}
	if msg != nil {
		p["message"] = s.messageJSON(msg)
	}
	return in, p
}

// Command makes the user run a slash command in their DM with the bot; it returns the interaction id.
func (s *Server) Command(u User, name string, opts ...InteractionOption) string {
	var o interactionOpts
	for _, f := range opts {
		f(&o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cid := s.dmLocked(u.ID)
	if o.guildID != "" {
		cid = s.snowflakeAt(s.opts.Now())
		s.channels[cid] = &Channel{ID: cid, Type: discordgo.ChannelTypeGuildText, GuildID: o.guildID}
	}
	var cmdID string
	for _, c := range s.commands {
		if c.Name == name {
			cmdID = c.ID
		}
	}
	in, p := s.interactionLocked(u, discordgo.InteractionApplicationCommand, cid, o, map[string]any{"id": cmdID, "name": name, "type": discordgo.ChatApplicationCommand}, nil)
	s.dispatchLocked("INTERACTION_CREATE", p)
	s.bump()
	return in.ID
}

// Click makes the user press a button of a message; it returns the interaction
// id. Unless AllowDisabled is given, pressing a missing or disabled button is
// an error, as Discord's client would not send it.
func (s *Server) Click(u User, messageID, customID string, opts ...InteractionOption) (string, error) {
	return s.component(u, messageID, customID, nil, opts)
}

// Select makes the user pick values of a string select menu.
func (s *Server) Select(u User, messageID, customID string, values []string, opts ...InteractionOption) (string, error) {
	return s.component(u, messageID, customID, values, opts)
}

func (s *Server) component(u User, messageID, customID string, values []string, opts []InteractionOption) (string, error) {
	var o interactionOpts
	for _, f := range opts {
		f(&o)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.messages[messageID]
	if !ok || m.Deleted {
		return "", fmt.Errorf("discordtest: no message %s", messageID)
	}
	found, disabled := false, false
	ctype := discordgo.ButtonComponent
	for _, b := range m.Buttons() {
		if b.CustomID == customID {
			found, disabled = true, b.Disabled
		}
	}
	for _, sm := range m.Selects() {
		if sm.CustomID == customID {
			found, disabled, ctype = true, sm.Disabled, discordgo.SelectMenuComponent
		}
	}
	if !o.allowDisabled && (!found || disabled) {
		return "", fmt.Errorf("discordtest: message %s has no usable component %q (found %v, disabled %v)", messageID, customID, found, disabled)
	}
	data := map[string]any{"custom_id": customID, "component_type": ctype}
	if values != nil {
		data["values"] = values
		data["component_type"] = discordgo.SelectMenuComponent
	}
	if o.guildID == "" {
		if c := s.channels[m.ChannelID]; c != nil && c.GuildID != "" {
			o.guildID = c.GuildID
		}
	}
	in, p := s.interactionLocked(u, discordgo.InteractionMessageComponent, m.ChannelID, o, data, m)
	in.CustomID, in.Values = customID, values
	s.dispatchLocked("INTERACTION_CREATE", p)
	s.bump()
	return in.ID, nil
}
