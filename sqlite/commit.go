package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// The statements of the Store's and Conversations' writes, so that Commit
// writes exactly what the methods write, in one transaction.

func beginStatement(r resetflow.InFlight, since time.Time, limit int) (statement, error) {
	r.Delivered = false
	data, err := json.Marshal(r)
	if err != nil {
		return statement{}, err
	}
	return statement{beginReset, []any{r.Flow, r.User.Key(), ts(r.Started), string(data), r.User.Key(), ts(since), limit}}, nil
}

func deliveredStatement(flow string) statement {
	return statement{`UPDATE resets SET delivered = 1 WHERE flow = ?`, []any{flow}}
}

func endStatement(flow, outcome string) statement {
	return statement{`UPDATE resets SET ended = ?, outcome = ? WHERE flow = ?`, []any{ts(time.Now()), outcome, flow}}
}

func openedStatement(flow string, to resetflow.Address, locale string, at time.Time) statement {
	return statement{`INSERT OR IGNORE INTO conversations (flow, platform, chat_user, channel, locale, opened) VALUES (?, ?, ?, ?, ?, ?)`,
		[]any{flow, to.Platform, to.UserID, to.Channel, locale, ts(at)}}
}

func closedStatement(flow string) statement {
	return statement{`DELETE FROM conversations WHERE flow = ?`, []any{flow}}
}

// Keeps reports whether port is this database: its Store and Conversations
// writes then share Commit's transactions (resetflow.Committer).
func (d *DB) Keeps(port any) bool {
	p, ok := port.(*DB)
	return ok && p == d
}

// Commit writes a step's events and state in one transaction: one WAL sync
// (shared with the writes queued meanwhile) instead of one per part. Over the
// daily limit the reset is not recorded, the rest is, and it returns
// resetflow.ErrLimitReached.
func (d *DB) Commit(ctx context.Context, c resetflow.Commit) error {
	stmts := make([]statement, 0, len(c.Events)+5)
	for _, e := range c.Events {
		stmts = append(stmts, eventStatement(e))
	}
	if o := c.Opened; o != nil {
		stmts = append(stmts, openedStatement(o.Flow, o.To, o.Locale, o.At))
	}
	if c.Delivered != "" {
		stmts = append(stmts, deliveredStatement(c.Delivered))
	}
	if c.End != nil {
		stmts = append(stmts, endStatement(c.End.Flow, c.End.Outcome))
	}
	if c.Closed != "" {
		stmts = append(stmts, closedStatement(c.Closed))
	}
	if b := c.Begin; b != nil {
		// Last: the rows the write reports are its.
		st, err := beginStatement(b.Reset, b.Since, b.Limit)
		if err != nil {
			return err
		}
		stmts = append(stmts, st)
	}
	if len(stmts) == 0 {
		return nil
	}
	n, err := d.w.execAll(ctx, stmts...)
	if err != nil {
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	if c.Begin != nil && n == 0 {
		return resetflow.ErrLimitReached
	}
	return nil
}
