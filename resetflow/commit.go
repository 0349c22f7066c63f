package resetflow

// One commit per step: the audit events of a step and the state it changes in
// the Store and Conversations are written in one transaction (one disk sync)
// when the recorder keeps them in the same database, instead of one commit
// each. The promise does not change: everything in a Commit is committed
// before the step's effect is shown or acted on.

import (
	"context"
	"errors"
	"time"
)

// Commit is what one step writes durably before its effect: its audit events
// and the state it changes. The zero parts are left out.
type Commit struct {
	Events []Event
	// Opened is Conversations.ConversationOpened.
	Opened *OpenedConversation
	// Begin is Store.BeginReset. Over the limit, the reset is not recorded (the
	// rest of the commit is) and Commit returns ErrLimitReached.
	Begin *BeginReset
	// Delivered is Store.MarkDelivered of this flow.
	Delivered string
	// End is Store.EndReset.
	End *EndReset
	// Closed is Conversations.ConversationClosed of this flow.
	Closed string
}

// OpenedConversation is the argument list of Conversations.ConversationOpened.
type OpenedConversation struct {
	Flow   string
	To     Address
	Locale string
	At     time.Time
}

// BeginReset is the argument list of Store.BeginReset.
type BeginReset struct {
	Reset InFlight
	Since time.Time
	Limit int
}

// EndReset is the argument list of Store.EndReset.
type EndReset struct {
	Flow, Outcome string
}

// Committer is a Recorder whose database also holds the engine's Store and
// Conversations: it writes a whole Commit in one transaction, all of it or
// nothing (ErrLimitReached aside, see Commit.Begin). Recorders that wrap
// another one forward both methods.
type Committer interface {
	Commit(ctx context.Context, c Commit) error
	// Keeps reports whether port (the engine's Store or Conversations) writes
	// to the same database in the same transactions as Commit.
	Keeps(port any) bool
}

// committerOf is the engine's Committer, when its Recorder is one that keeps
// its Store and Conversations; nil otherwise (the writes go apart).
func committerOf(d Deps) Committer {
	c, ok := d.Recorder.(Committer)
	if !ok || !c.Keeps(d.Store) || (d.Conversations != nil && !c.Keeps(d.Conversations)) {
		return nil
	}
	return c
}

// together writes c in one transaction when the engine has a Committer; ok
// is false when it has none (and nothing was written): the caller then
// writes the parts apart, as the ports allow.
func (e *Engine) together(ctx context.Context, c Commit) (ok bool, err error) {
	cm := committerOf(e.d)
	if cm == nil {
		return false, nil
	}
	if e.d.Conversations == nil {
		c.Opened, c.Closed = nil, ""
	}
	err = cm.Commit(ctx, c)
	if err != nil && !errors.Is(err, ErrLimitReached) {
		step := ""
		if len(c.Events) > 0 {
			step = c.Events[0].Step
		}
		e.log.Error("audit commit failed", "step", step, "err", err)
	}
	return true, err
}

// ended records the event that ends a conversation already dropped from
// memory (cancelled, expired, refused) and forgets it in Conversations: one
// commit when the ports allow; otherwise the record, and the conversation
// forgotten without waiting, as endLocked does.
func (e *Engine) ended(ctx context.Context, flow string, ev Event) {
	if together, err := e.together(ctx, Commit{Events: []Event{ev}, Closed: flow}); together && err == nil {
		return
	}
	if err := e.d.Recorder.Record(ctx, ev); err != nil {
		e.log.Error("audit record failed", "flow", ev.Flow, "step", ev.Step, "err", err)
	}
	e.closedLocked(flow) // starts a goroutine; needs no lock
}
