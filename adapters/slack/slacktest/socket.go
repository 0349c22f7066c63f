package slacktest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

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
	return c.conn.WriteControl(websocket.PingMessage, []byte("slacktest"), time.Now().Add(5*time.Second))
}

func (c *wsConn) close() {
	c.once.Do(func() {
		close(c.done)
		_ = c.conn.Close() // abrupt: no close frame
	})
}

// socketState is the fake's Socket Mode bookkeeping beyond connections and acks.
type socketState struct {
	ticketSeq int
	tickets   map[string]bool // websocket URL ticket -> used
	hold      chan struct{}   // when set, apps.connections.open waits for it to close
	held      int             // apps.connections.open calls waiting now
	pongs     int
	closes    []int // close codes of the close frames the bot sent
}

// ticketLocked issues the ticket of a new websocket URL. s.mu is held.
func (s *Server) ticketLocked() string {
	if s.sm.tickets == nil {
		s.sm.tickets = map[string]bool{}
	}
	s.sm.ticketSeq++
	t := fmt.Sprintf("t%d", s.sm.ticketSeq)
	s.sm.tickets[t] = false
	return t
}

// HoldConnectionsOpen makes apps.connections.open wait (before it answers)
// until release is called: a test can act while the bot is between two
// connections. Held reports how many calls wait.
func (s *Server) HoldConnectionsOpen() (release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := make(chan struct{})
	s.sm.hold = h
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.sm.hold == h {
				s.sm.hold = nil
			}
			s.mu.Unlock()
			close(h)
		})
	}
}

// Held counts the apps.connections.open calls waiting for HoldConnectionsOpen's release.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm.held
}

func (s *Server) waitOpenHold() {
	s.mu.Lock()
	h := s.sm.hold
	if h == nil {
		s.mu.Unlock()
		return
	}
	s.sm.held++
	s.changedLocked()
	s.mu.Unlock()
	<-h
	s.mu.Lock()
	s.sm.held--
	s.changedLocked()
	s.mu.Unlock()
}

// Pongs counts the websocket pongs the bot sent.
func (s *Server) Pongs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sm.pongs
}

// Closes lists the close codes of the close frames the bot sent, in order.
func (s *Server) Closes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.sm.closes...)
}

func (s *Server) socket(w http.ResponseWriter, r *http.Request) {
	// Like Slack's, a websocket URL from apps.connections.open takes one connection.
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	used, issued := s.sm.tickets[ticket]
	if issued && !used {
		s.sm.tickets[ticket] = true
	}
	s.mu.Unlock()
	if !issued || used {
		http.Error(w, "this websocket URL is not valid (ask apps.connections.open for a new one)", http.StatusForbidden)
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{conn: conn, done: make(chan struct{})}
	conn.SetPongHandler(func(string) error {
		s.mu.Lock()
		s.sm.pongs++
		s.changedLocked()
		s.mu.Unlock()
		return nil
	})
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
		"debug_info": map[string]any{"host": "slacktest"}, "connection_info": map[string]any{"app_id": "A0FAKE"}}); err != nil {
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
			if ce, ok := err.(*websocket.CloseError); ok {
				s.sm.closes = append(s.sm.closes, ce.Code)
			}
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
		return errors.New("slacktest: not connected")
	}
	return c.ping()
}

func (s *Server) current() *wsConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Disconnect asks the client to reconnect, as Slack does before it rotates a connection.
func (s *Server) Disconnect() error { return s.DisconnectWith("refresh_requested") }

// DisconnectWith sends a disconnect envelope with reason: warning,
// refresh_requested, link_disabled (Socket Mode turned off for the app),
// too_many_websockets.
func (s *Server) DisconnectWith(reason string) error {
	c := s.current()
	if c == nil {
		return errors.New("slacktest: not connected")
	}
	return c.write(map[string]any{"type": "disconnect", "reason": reason, "debug_info": map[string]any{"host": "slacktest"}})
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
		return errors.New("slacktest: not connected")
	}
	s.mu.Lock()
	s.sent[e.EnvelopeID] = time.Now()
	s.mu.Unlock()
	return c.write(e)
}
