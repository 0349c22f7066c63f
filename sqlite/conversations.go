package sqlite

import (
	"context"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// OpenConversation is a conversation a stopped process left open.
type OpenConversation struct {
	Flow    string
	Address resetflow.Address
	Locale  string
	Opened  time.Time
}

// ConversationOpened remembers an open conversation, so a bot that restarts
// after a crash can tell the person it restarted.
func (d *DB) ConversationOpened(ctx context.Context, flow string, to resetflow.Address, locale string, at time.Time) error {
	_, err := d.w.execAll(ctx, openedStatement(flow, to, locale, at))
	return err
}

// ConversationClosed forgets a conversation that ended.
func (d *DB) ConversationClosed(ctx context.Context, flow string) error {
	_, err := d.w.execAll(ctx, closedStatement(flow))
	return err
}

// TakeConversations returns the conversations opened in [since, before),
// oldest first, and forgets every conversation opened before before: each
// person is told once, and conversations opened since stay.
func (d *DB) TakeConversations(ctx context.Context, since, before time.Time) ([]OpenConversation, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT flow, platform, chat_user, channel, locale, opened FROM conversations WHERE opened < ? ORDER BY opened, flow`, ts(before))
	if err != nil {
		return nil, err
	}
	var out, all []OpenConversation
	for rows.Next() {
		var c OpenConversation
		var at string
		if err := rows.Scan(&c.Flow, &c.Address.Platform, &c.Address.UserID, &c.Address.Channel, &c.Locale, &at); err != nil {
			rows.Close()
			return nil, err
		}
		c.Opened, _ = time.Parse(timeFormat, at)
		all = append(all, c)
		if !c.Opened.Before(since) {
			out = append(out, c)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	stmts := make([]statement, len(all))
	for i, c := range all {
		stmts[i] = statement{`DELETE FROM conversations WHERE flow = ?`, []any{c.Flow}}
	}
	if len(stmts) > 0 {
		if _, err := d.w.execAll(ctx, stmts...); err != nil {
			return nil, err
		}
	}
	return out, nil
}
