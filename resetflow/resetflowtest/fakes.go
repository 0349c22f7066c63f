// Package resetflowtest is the engine's test kit: hand-written fakes of its
// outbound ports (a chat that records what the engine says and lets a test wait
// for a message without sleeping, a helpdesk that records alerts), and Start,
// which stands up an engine on a fake clock with the demo fleet.
package resetflowtest

import (
	"bytes"
	"context"
	"sync"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Sent is one message the engine sent.
type Sent struct {
	To resetflow.Address
	M  resetflow.Message
}

// Chat is a resetflow.Messenger that records every message.
type Chat struct {
	mu   sync.Mutex
	cond *sync.Cond
	msgs []Sent
}

// NewChat returns an empty chat.
func NewChat() *Chat {
	c := &Chat{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Send implements resetflow.Messenger.
func (c *Chat) Send(_ context.Context, to resetflow.Address, m resetflow.Message) error {
	c.mu.Lock()
	c.msgs = append(c.msgs, Sent{to, m})
	c.cond.Broadcast()
	c.mu.Unlock()
	return nil
}

// All returns every message so far.
func (c *Chat) All() []Sent {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sent(nil), c.msgs...)
}

// Last returns the latest message, to anyone; ok is false when there is none.
func (c *Chat) Last() (resetflow.Message, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) == 0 {
		return resetflow.Message{}, false
	}
	return c.msgs[len(c.msgs)-1].M, true
}

// WaitFrom blocks until a message after the first n, to the chat user, satisfies
// ok, and returns it. The test's own timeout catches one that never comes.
func (c *Chat) WaitFrom(n int, user string, ok func(resetflow.Message) bool) resetflow.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := n; ; {
		for ; i < len(c.msgs); i++ {
			if c.msgs[i].To.UserID == user && ok(c.msgs[i].M) {
				return c.msgs[i].M
			}
		}
		c.cond.Wait()
	}
}

// Alerts is a resetflow.Alerter that records every alert.
type Alerts struct {
	mu   sync.Mutex
	list []resetflow.Alert
}

// Alert implements resetflow.Alerter.
func (a *Alerts) Alert(_ context.Context, al resetflow.Alert) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.list = append(a.list, al)
}

// All returns the alerts so far.
func (a *Alerts) All() []resetflow.Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]resetflow.Alert(nil), a.list...)
}

// Kinds returns the kinds of the alerts so far, in order.
func (a *Alerts) Kinds() []resetflow.AlertKind {
	var ks []resetflow.AlertKind
	for _, al := range a.All() {
		ks = append(ks, al.Kind)
	}
	return ks
}

// Buffer is a log destination a test can read while the code under test writes.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced at every write
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	return s.b.Write(p)
}

func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Wait blocks until match accepts what has been written so far, or ctx ends;
// it returns the text match saw last and whether match accepted it.
func (s *Buffer) Wait(ctx context.Context, match func(string) bool) (string, bool) {
	for {
		s.mu.Lock()
		text := s.b.String()
		if s.changed == nil {
			s.changed = make(chan struct{})
		}
		changed := s.changed
		s.mu.Unlock()
		if match(text) {
			return text, true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return text, false
		}
	}
}
