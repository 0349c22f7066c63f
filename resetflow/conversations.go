package resetflow

import (
	"context"
	"time"
)

// opened tells Conversations that a conversation opened.
func (e *Engine) opened(ctx context.Context, c *conversation, at time.Time) {
	if e.d.Conversations == nil {
		return
	}
	if err := e.d.Conversations.ConversationOpened(ctx, c.flow, c.addr, c.locale, at); err != nil {
		e.log.Warn("remembering an open conversation failed; a failover would not tell this person", "flow", c.flow, "err", err)
	}
}

// closedLocked tells Conversations, without waiting, that a conversation ended. e.mu is held.
func (e *Engine) closedLocked(flow string) {
	if e.d.Conversations == nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.d.Conversations.ConversationClosed(ctx, flow); err != nil {
			e.log.Warn("forgetting an ended conversation failed", "flow", flow, "err", err)
		}
	}()
}
