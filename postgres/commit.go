package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Keeps reports whether port is this database: its Store and Conversations
// writes then share Commit's transactions (resetflow.Committer).
func (d *DB) Keeps(port any) bool {
	p, ok := port.(*DB)
	return ok && p == d
}

// Commit writes a step's events and state in one transaction, with the same
// statements, locks and fence checks as the methods it stands for. Over the
// daily limit the reset is not recorded, the rest is, and it returns
// resetflow.ErrLimitReached; ErrNotLeader when this process leads no more.
func (d *DB) Commit(ctx context.Context, c resetflow.Commit) error {
	var data []byte
	if c.Begin != nil {
		r := c.Begin.Reset
		r.Delivered = false
		var err error
		if data, err = json.Marshal(r); err != nil {
			return err
		}
	}
	limited := false
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		limited = false
		if b := c.Begin; b != nil {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('passcodebot.reset:' || $1, 0))`, b.Reset.User.Key()); err != nil {
				return err
			}
		}
		if c.Begin != nil || c.Delivered != "" {
			if err := d.checkFence(ctx, tx); err != nil {
				return err
			}
		}
		batch := &pgx.Batch{}
		if b := c.Begin; b != nil {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM resets WHERE user_key = $1 AND started >= $2`, b.Reset.User.Key(), b.Since.UTC()).Scan(&n); err != nil {
				return err
			}
			if limited = n >= b.Limit; !limited {
				batch.Queue(`INSERT INTO resets (flow, user_key, started, data) VALUES ($1, $2, $3, $4)`, b.Reset.Flow, b.Reset.User.Key(), b.Reset.Started.UTC(), data)
			}
		}
		for _, e := range c.Events {
			batch.Queue(insertEvent, e.Time.UTC(), e.Flow, e.Step, e.Platform, e.ChatUser, e.UserID, e.UserUPN, e.DeviceID, e.Outcome, e.Detail)
		}
		if o := c.Opened; o != nil {
			batch.Queue(`INSERT INTO conversations (flow, platform, chat_user, channel, locale, opened) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (flow) DO NOTHING`, o.Flow, o.To.Platform, o.To.UserID, o.To.Channel, o.Locale, o.At.UTC())
		}
		if c.Delivered != "" {
			batch.Queue(`UPDATE resets SET delivered = TRUE, data = jsonb_set(data, '{Delivered}', 'true') WHERE flow = $1`, c.Delivered)
		}
		if c.End != nil {
			batch.Queue(`UPDATE resets SET ended = now(), outcome = $2 WHERE flow = $1`, c.End.Flow, c.End.Outcome)
		}
		if c.Closed != "" {
			batch.Queue(`DELETE FROM conversations WHERE flow = $1`, c.Closed)
		}
		if batch.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, batch).Close()
	})
	switch {
	case errors.Is(err, ErrNotLeader):
		return err
	case err != nil:
		return fmt.Errorf("postgres: commit: %w", err)
	case limited:
		return resetflow.ErrLimitReached
	}
	return nil
}
