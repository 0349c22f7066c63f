package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		limited = false
		if b := c.Begin; b != nil {
			if _, err := d.txExec(ctx, tx, `SELECT pg_advisory_xact_lock(hashtextextended('passcodebot.reset:' || $1, 0))`, b.Reset.User.Key()); err != nil {
				return err
			}
		}
		if c.Begin != nil || c.Delivered != "" {
			if err := d.checkFence(ctx, tx); err != nil {
				return err
			}
		}
		// pgx sent the writes below as one batch, one round trip; lib/pq has
		// no pipelining, so here they are one statement (one round trip)
		// each, in the same order, the events in one statement of many rows.
		exec := func(q string, args ...any) error {
			_, err := d.txExec(ctx, tx, q, args...)
			return err
		}
		if b := c.Begin; b != nil {
			var n int
			if err := d.txQueryRow(ctx, tx, `SELECT count(*) FROM resets WHERE user_key = $1 AND started >= $2`, b.Reset.User.Key(), ts(b.Since)).Scan(&n); err != nil {
				return err
			}
			if limited = n >= b.Limit; !limited {
				if err := exec(`INSERT INTO resets (flow, user_key, started, data) VALUES ($1, $2, $3, $4)`, b.Reset.Flow, b.Reset.User.Key(), ts(b.Reset.Started), string(data)); err != nil {
					return err
				}
			}
		}
		if len(c.Events) > 0 {
			if err := d.insertEvents(ctx, tx, c.Events); err != nil {
				return err
			}
		}
		if o := c.Opened; o != nil {
			if err := exec(`INSERT INTO conversations (flow, platform, chat_user, channel, locale, opened) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (flow) DO NOTHING`, o.Flow, o.To.Platform, o.To.UserID, o.To.Channel, o.Locale, ts(o.At)); err != nil {
				return err
			}
		}
		if c.Delivered != "" {
			if err := exec(`UPDATE resets SET delivered = TRUE, data = jsonb_set(data, '{Delivered}', 'true') WHERE flow = $1`, c.Delivered); err != nil {
				return err
			}
		}
		if c.End != nil {
			if err := exec(`UPDATE resets SET ended = now(), outcome = $2 WHERE flow = $1`, c.End.Flow, c.End.Outcome); err != nil {
				return err
			}
		}
		if c.Closed != "" {
			return exec(`DELETE FROM conversations WHERE flow = $1`, c.Closed)
		}
		return nil
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
