package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// The Socket Mode client of the adapter (issue 17). Its reader goroutine reads
// a frame, takes out only the envelope's type and id, writes the
// acknowledgement at once and hands the payload, still raw, to one ordered
// lane (a.decodes) that decodes it with slack-go's types and dispatches it as
// before (dedupe, per-person queues). slack-go's socketmode client decoded
// every envelope in full before the app could ack it (22 % of the bot's CPU
// at 1,000 employees, on one goroutine): under load the acks waited for the
// decoding of the envelopes before them.
//
// A connection lives until Slack closes it, asks for a new one (a disconnect
// envelope), or goes silent for longer than PingInterval (Slack pings every
// few seconds). A refresh opens the next connection, with a fresh URL from
// apps.connections.open, while the old one is still read; the old one is
// closed once the new one said hello, so nothing Slack sends meanwhile is
// lost. Slack redelivers what was not acknowledged (retry_attempt > 0); the
// dedupe by event id, click and trigger id drops the copies.

const (
	socketHandshake  = 10 * time.Second // the websocket handshake
	socketWriteLimit = 10 * time.Second // one ack or control frame
	socketReadLimit  = 4 << 20          // the largest frame taken (Slack's are far smaller)
	defaultPingGap   = 30 * time.Second // PingInterval's default, as slack-go's
)

// envelope is what the reader takes out of a frame: the rest of the payload
// stays raw until the decode lane.
type envelope struct {
	Type         string          `json:"type"`
	EnvelopeID   string          `json:"envelope_id"`
	Payload      json.RawMessage `json:"payload"`
	RetryAttempt int             `json:"retry_attempt"`
	RetryReason  string          `json:"retry_reason"`
	Reason       string          `json:"reason"` // disconnect
}

// link is one websocket connection to Slack and its reader.
type link struct {
	conn  *websocket.Conn
	wmu   sync.Mutex    // data frames are written one at a time
	hello chan struct{} // closed on Slack's hello
	up    time.Time     // when hello came; set before hello is closed
	// disconnect gets the reason of Slack's disconnect envelope (once).
	disconnect chan string
	done       chan struct{} // closed when the reader has returned
	err        error         // why the reader returned; read after done
	closeOnce  sync.Once
}

// stableFor is how long a Socket Mode connection must have been up for its
// loss to be replaced at once rather than after the backoff.
const stableFor = 30 * time.Second

// supervise keeps one Socket Mode connection open until ctx ends. A
// connection that fails to open is tried again after RestartBackoff,
// doubling up to 5 minutes; one that was up for at least stableFor is
// replaced at once, one that ended sooner counts as a failed open (a server
// that says hello and drops at once is not dialled in a tight loop). It
// returns early only when Slack refuses the app token.
func (a *Adapter) supervise(ctx context.Context) error {
	wait := a.cfg.RestartBackoff
	var cur *link
	defer func() {
		if cur != nil {
			cur.shut()
		}
		a.setConnected(false)
	}()
	backoff := func(why string, err error) error {
		a.setConnected(false)
		a.log.Warn(why, "retry_in", wait, "err", err)
		select {
		case <-a.clk.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait = min(wait*2, 5*time.Minute)
		return nil
	}
	// openFailed is what a failed connect means: the end (stopping, or the
	// app token refused), or a wait before the next try.
	openFailed := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if isAuthError(err) {
			return a.stop(fmt.Errorf("slack: Socket Mode: the app token was refused: %w", err))
		}
		return backoff("opening the Slack Socket Mode connection failed; retrying", err)
	}
	for {
		if cur == nil {
			l, err := a.connect(ctx)
			if err != nil {
				if err := openFailed(err); err != nil {
					return err
				}
				continue
			}
			cur = l
			a.log.Info("Slack Socket Mode connected")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-cur.done:
			err, up := cur.err, cur.up
			cur = nil
			if a.clk.Now().Sub(up) < stableFor {
				if err := backoff("the Slack Socket Mode connection ended soon after it opened; retrying", err); err != nil {
					return err
				}
				continue
			}
			a.log.Info("Slack Socket Mode connection lost; reconnecting", "err", err)
			a.setConnected(false)
			wait = a.cfg.RestartBackoff
		case reason := <-cur.disconnect:
			switch reason {
			case "refresh_requested", "warning":
				// Slack is about to close this one: open the next while it is still read.
				a.log.Debug("Slack asked for a new Socket Mode connection", "reason", reason)
				next, err := a.connect(ctx)
				cur.shut()
				cur = next
				if err != nil {
					if err := openFailed(err); err != nil {
						return err
					}
				}
			default:
				// link_disabled (Socket Mode turned off for the app), too_many_websockets, or
				// a reason this code does not know: reconnecting at once would only be refused.
				cur.shut()
				cur = nil
				if err := backoff("Slack closed the Socket Mode connection", fmt.Errorf("disconnect: %s", reason)); err != nil {
					return err
				}
			}
		}
	}
}

// connect asks apps.connections.open for a fresh URL, dials it and waits for
// Slack's hello. The reader runs from the dial on.
func (a *Adapter) connect(ctx context.Context) (*link, error) {
	_, wsURL, err := a.api.StartSocketModeContext(ctx)
	if err != nil {
		return nil, err
	}
	d := websocket.Dialer{Proxy: http.ProxyFromEnvironment, HandshakeTimeout: socketHandshake}
	conn, res, err := d.DialContext(ctx, wsURL, http.Header{"Origin": {"https://api.slack.com"}})
	if res != nil && res.Body != nil {
		res.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("slack: Socket Mode: dialing the websocket: %w", err)
	}
	conn.SetReadLimit(socketReadLimit)
	l := &link{conn: conn, hello: make(chan struct{}), disconnect: make(chan string, 1), done: make(chan struct{})}
	go a.read(l)
	select {
	case <-l.hello:
		return l, nil
	case <-l.done:
		select {
		case <-l.hello:
			// It said hello and ended since: a connection that was up, and is
			// lost (the supervisor sees done and decides how soon to replace it).
			return l, nil
		default:
		}
		_ = conn.Close()
		return nil, fmt.Errorf("slack: Socket Mode: the connection ended before hello: %w", l.err)
	case <-ctx.Done():
		l.shut()
		return nil, ctx.Err()
	}
}

// pingGap is how long a connection may be silent before it is dropped.
func (a *Adapter) pingGap() time.Duration {
	if a.cfg.PingInterval > 0 {
		return a.cfg.PingInterval
	}
	return defaultPingGap
}

// read is the link's reader: frame, ack, hand over; nothing else happens here.
func (a *Adapter) read(l *link) {
	defer close(l.done)
	gap := a.pingGap()
	alive := func() { _ = l.conn.SetReadDeadline(time.Now().Add(gap)) }
	alive()
	l.conn.SetPingHandler(func(data string) error {
		alive()
		err := l.conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(socketWriteLimit))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	var hello bool
	for {
		_, data, err := l.conn.ReadMessage()
		if err != nil {
			l.err = err
			return
		}
		alive()
		var env envelope
		if err := json.Unmarshal(data, &env); err != nil {
			a.log.Debug("ignored a Socket Mode frame that is not JSON", "err", err)
			continue
		}
		switch env.Type {
		case "hello":
			if !hello {
				hello = true
				l.up = a.clk.Now()
				// Healthy before anything read after hello is handled.
				a.setConnected(true)
				close(l.hello)
			}
			continue
		case "disconnect":
			select {
			case l.disconnect <- env.Reason:
			default:
			}
			continue
		}
		if env.EnvelopeID != "" {
			if err := l.ack(env.EnvelopeID); err != nil {
				// Slack delivers it again; the copy is dropped by the dedupe.
				a.log.Warn("acknowledging a Slack envelope failed", "err", err)
			}
		}
		if env.RetryAttempt > 0 {
			a.log.Debug("Slack redelivered an envelope", "type", env.Type, "retry_attempt", env.RetryAttempt, "retry_reason", env.RetryReason)
		}
		switch env.Type {
		case "events_api", "interactive", "slash_commands":
			typ, payload := env.Type, env.Payload
			a.decodes.Do("socket", func() { a.dispatch(typ, payload) })
		default:
			a.log.Debug("ignored a Socket Mode envelope", "type", env.Type)
		}
	}
}

// ack writes the acknowledgement of one envelope.
func (l *link) ack(id string) error {
	quoted, err := json.Marshal(id)
	if err != nil {
		return err
	}
	msg := make([]byte, 0, len(quoted)+16)
	msg = append(msg, `{"envelope_id":`...)
	msg = append(msg, quoted...)
	msg = append(msg, '}')
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_ = l.conn.SetWriteDeadline(time.Now().Add(socketWriteLimit))
	return l.conn.WriteMessage(websocket.TextMessage, msg)
}

// shut closes the link with a normal close frame and waits for its reader.
func (l *link) shut() {
	l.closeOnce.Do(func() {
		_ = l.conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		_ = l.conn.Close()
	})
	<-l.done
}

// dispatch decodes a payload with slack-go's types and takes it as the HTTP
// endpoints do. It runs in the decode lane, one envelope at a time in the
// order they arrived, so a person's inputs reach their queue in order.
func (a *Adapter) dispatch(typ string, payload json.RawMessage) {
	select {
	case <-a.life.Done():
		return
	default:
	}
	switch typ {
	case "events_api":
		if cb, ok := parseMessageCallback(payload); ok {
			a.onMessage(cb.EventID, cb.Event)
			return
		}
		ev, err := slackevents.ParseEvent(payload, slackevents.OptionNoVerifyToken())
		if err != nil {
			a.log.Debug("ignored a Slack event the client could not parse", "err", err)
			return
		}
		a.onEvent(ev)
	case "interactive":
		cb, err := parseClick(payload)
		if err != nil {
			a.log.Debug("ignored a Slack interaction the client could not parse", "err", err)
			return
		}
		a.onInteraction(cb, payload)
	case "slash_commands":
		var cmd slackgo.SlashCommand
		if err := json.Unmarshal(payload, &cmd); err != nil {
			a.log.Debug("ignored a slash command the client could not parse", "err", err)
			return
		}
		a.onCommand(cmd)
	}
}
