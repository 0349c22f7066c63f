// Package postgres is the durable state of the bot in PostgreSQL, for several
// replicas sharing one database: the audit trail, reset counters and resets in
// flight, chat account links, passcode messages still shown, conversations open
// and the leader lease. It keeps the semantics of package sqlite behind the same
// ports; the daily limit and one reset at a time per person are decided in the
// database, so they hold whichever replica asks.
package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// EnvURL is the environment variable with the connection string. It is never
// read from the configuration file: it usually carries a password.
const EnvURL = "PASSCODEBOT_POSTGRES_URL"

// ErrNotLeader is returned by the writes only the leader may make (beginning a
// reset, marking a passcode delivered) when this process no longer holds the lease.
var ErrNotLeader = errors.New("postgres: this replica is not the leader")

// DB is the bot's database. It is safe for concurrent use.
type DB struct {
	db    *sql.DB
	conn  *ctxConnector         // the lease opens a pool of its own on it
	fence atomic.Pointer[fence] // set while this process leads; checked by leader-only writes
	stmts stmtCache             // the store's statements, prepared on each connection
	// abandoned is set when the lease was lost: the database may be out of
	// reach, so Close does not wait for queries stuck on it.
	abandoned atomic.Bool
}

type fence struct {
	name, holder string
	token        int64
	valid        *atomic.Bool // nil: not leading yet
}

// Open connects to the database and applies the pending migrations (under a lock).
func Open(ctx context.Context, url string) (*DB, error) {
	d, err := Connect(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Connect connects without migrating (migrate -check uses it).
func Connect(ctx context.Context, url string) (*DB, error) {
	if strings.TrimSpace(url) == "" {
		return nil, fmt.Errorf("postgres: no connection string (set %s)", EnvURL)
	}
	dsn, pool, err := pqDSN(url, os.Getenv)
	if err != nil {
		return nil, err
	}
	conn, err := newConnector(dsn)
	if err != nil {
		// lib/pq's message names the setting; it quotes at most a value
		// that is not valid, never the whole string.
		return nil, fmt.Errorf("postgres: the connection string: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(pool.maxConns)
	db.SetMaxIdleConns(pool.maxConns)
	db.SetConnMaxLifetime(pool.maxLifetime)
	db.SetConnMaxIdleTime(pool.maxIdleTime)
	d := &DB{db: db, conn: conn}
	d.stmts.closed = pool.unprepared
	return d, nil
}

// Close closes the connections (at once, without waiting for stuck queries,
// after a lost lease).
func (d *DB) Close() error {
	if d.abandoned.Load() {
		go func() { d.closeStmts(); d.db.Close() }()
		return nil
	}
	d.closeStmts()
	return d.db.Close()
}

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

// Record appends an audit event.
func (d *DB) Record(ctx context.Context, e resetflow.Event) error {
	return d.RecordBatch(ctx, []resetflow.Event{e})
}

const insertEvents0 = `INSERT INTO events (time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail) VALUES `

// insertEvents inserts the events in one statement (the rows in order, so
// their ids grow in order), where pgx sent one statement each in a batch:
// one round trip either way.
func (d *DB) insertEvents(ctx context.Context, tx *sql.Tx, evs []resetflow.Event) error {
	const cols = 10
	for len(evs) > 0 {
		n := min(len(evs), maxParams/cols)
		args := make([]any, 0, n*cols)
		for _, e := range evs[:n] {
			args = append(args, ts(e.Time), e.Flow, e.Step, e.Platform, e.ChatUser, e.UserID, e.UserUPN, e.DeviceID, e.Outcome, e.Detail)
		}
		if _, err := d.txExec(ctx, tx, insertEvents0+values(n, cols), args...); err != nil {
			return err
		}
		evs = evs[n:]
	}
	return nil
}

// RecordBatch appends the events in one transaction: all of them or none.
func (d *DB) RecordBatch(ctx context.Context, evs []resetflow.Event) error {
	if len(evs) == 0 {
		return nil
	}
	err := d.inTx(ctx, func(tx *sql.Tx) error { return d.insertEvents(ctx, tx, evs) })
	if err != nil {
		return fmt.Errorf("postgres: record %s: %w", evs[0].Step, err)
	}
	return nil
}

// ResetsSince counts resets begun for the user since t.
func (d *DB) ResetsSince(ctx context.Context, userKey string, since time.Time) (int, error) {
	var n int
	err := d.queryRow(ctx, `SELECT count(*) FROM resets WHERE user_key = $1 AND started >= $2`, userKey, ts(since)).Scan(&n)
	return n, err
}

// BeginReset records a reset about to be requested, in one transaction with the
// daily limit: a transaction-scoped advisory lock on the user's key makes two
// processes asking at once take turns, so the limit is never passed. It returns
// resetflow.ErrLimitReached when the user has limit or more resets since since,
// and ErrNotLeader when this process leads no more.
func (d *DB) BeginReset(ctx context.Context, r resetflow.InFlight, since time.Time, limit int) error {
	r.Delivered = false
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	key := r.User.Key()
	err = d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := d.txExec(ctx, tx, `SELECT pg_advisory_xact_lock(hashtextextended('passcodebot.reset:' || $1, 0))`, key); err != nil {
			return err
		}
		if err := d.checkFence(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := d.txQueryRow(ctx, tx, `SELECT count(*) FROM resets WHERE user_key = $1 AND started >= $2`, key, ts(since)).Scan(&n); err != nil {
			return err
		}
		if n >= limit {
			return resetflow.ErrLimitReached
		}
		_, err := d.txExec(ctx, tx, `INSERT INTO resets (flow, user_key, started, data) VALUES ($1, $2, $3, $4)`, r.Flow, key, ts(r.Started), string(data))
		return err
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, resetflow.ErrLimitReached), errors.Is(err, ErrNotLeader):
		return err
	}
	return fmt.Errorf("postgres: begin reset: %w", err)
}

// checkFence fails with ErrNotLeader when this process was made a leader and its
// lease is no longer current in the database (someone else holds it, or it expired).
func (d *DB) checkFence(ctx context.Context, tx *sql.Tx) error {
	f := d.fence.Load()
	if f == nil {
		return nil // one process, no replicas
	}
	if f.valid == nil || !f.valid.Load() {
		return ErrNotLeader
	}
	var ok bool
	err := d.txQueryRow(ctx, tx, `SELECT EXISTS (SELECT 1 FROM leases WHERE name = $1 AND holder = $2 AND token = $3 AND expires > now())`,
		f.name, f.holder, f.token).Scan(&ok)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotLeader
	}
	return nil
}

// MarkDelivered records that the reset's result is about to be shown.
func (d *DB) MarkDelivered(ctx context.Context, flow string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.checkFence(ctx, tx); err != nil {
			return err
		}
		_, err := d.txExec(ctx, tx, `UPDATE resets SET delivered = TRUE, data = jsonb_set(data, '{Delivered}', 'true') WHERE flow = $1`, flow)
		return err
	})
}

// EndReset records the final outcome of a reset.
func (d *DB) EndReset(ctx context.Context, flow, outcome string) error {
	_, err := d.exec(ctx, `UPDATE resets SET ended = now(), outcome = $2 WHERE flow = $1`, flow, outcome)
	return err
}

// InFlight lists resets begun and not ended, oldest first.
func (d *DB) InFlight(ctx context.Context) ([]resetflow.InFlight, error) {
	rows, err := d.query(ctx, `SELECT data FROM resets WHERE ended IS NULL ORDER BY started, flow`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.InFlight
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var r resetflow.InFlight
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("postgres: reset in flight: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// LinkedUser returns the directory user a chat account is linked to.
func (d *DB) LinkedUser(ctx context.Context, platform, chatUser string) (resetflow.User, bool, error) {
	var u resetflow.User
	err := d.queryRow(ctx, `SELECT user_id, user_upn, name FROM links WHERE platform = $1 AND chat_user = $2`, platform, chatUser).Scan(&u.ID, &u.UPN, &u.DisplayName)
	if errors.Is(err, errNoRows) {
		return resetflow.User{}, false, nil
	}
	if err != nil {
		return resetflow.User{}, false, err
	}
	return u, true, nil
}

// SetLink links a chat account to a directory user, replacing any earlier link.
func (d *DB) SetLink(ctx context.Context, platform, chatUser string, u resetflow.User) error {
	_, err := d.exec(ctx, `INSERT INTO links (platform, chat_user, user_id, user_upn, name, created) VALUES ($1, $2, $3, $4, $5, now())
		ON CONFLICT (platform, chat_user) DO UPDATE SET user_id = excluded.user_id, user_upn = excluded.user_upn, name = excluded.name, created = excluded.created`,
		platform, chatUser, u.ID, u.UPN, u.DisplayName)
	return err
}

// RemoveLink forgets a chat account's link.
func (d *DB) RemoveLink(ctx context.Context, platform, chatUser string) (bool, error) {
	res, err := d.exec(ctx, `DELETE FROM links WHERE platform = $1 AND chat_user = $2`, platform, chatUser)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// ShownSecret is a chat message that shows a temporary passcode (never the
// passcode itself). It is sqlite's type, so both stores have one method set.
type ShownSecret = sqlite.ShownSecret

// SecretShown remembers a passcode message until it is removed.
func (d *DB) SecretShown(ctx context.Context, s ShownSecret) error {
	_, err := d.exec(ctx, `INSERT INTO shown_secrets (platform, channel, message_id, locale, remove_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (platform, channel, message_id) DO UPDATE SET locale = excluded.locale, remove_at = excluded.remove_at`,
		s.Platform, s.Channel, s.MessageID, s.Locale, ts(s.RemoveAt))
	return err
}

// SecretRemoved forgets a passcode message that is gone from the chat.
func (d *DB) SecretRemoved(ctx context.Context, platform, channel, messageID string) error {
	_, err := d.exec(ctx, `DELETE FROM shown_secrets WHERE platform = $1 AND channel = $2 AND message_id = $3`, platform, channel, messageID)
	return err
}

// SecretsShown lists the passcode messages of a platform not yet removed.
func (d *DB) SecretsShown(ctx context.Context, platform string) ([]ShownSecret, error) {
	rows, err := d.query(ctx, `SELECT channel, message_id, locale, remove_at FROM shown_secrets WHERE platform = $1 ORDER BY remove_at, message_id`, platform)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ShownSecret
	for rows.Next() {
		sh := ShownSecret{Platform: platform}
		if err := rows.Scan(&sh.Channel, &sh.MessageID, &sh.Locale, &sh.RemoveAt); err != nil {
			return nil, err
		}
		sh.RemoveAt = sh.RemoveAt.UTC()
		out = append(out, sh)
	}
	return out, rows.Err()
}

// Filter selects audit events (sqlite's type). Empty fields match everything;
// User is a UPN (any case) or an object id.
type Filter = sqlite.Filter

// Events lists audit events in time order.
func (d *DB) Events(ctx context.Context, f Filter) ([]resetflow.Event, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.User != "" {
		p := arg(f.User)
		where = append(where, "(lower(user_upn) = lower("+p+") OR user_id = "+p+")")
	}
	if f.Device != "" {
		where = append(where, "device_id = "+arg(f.Device))
	}
	if f.Flow != "" {
		where = append(where, "flow = "+arg(f.Flow))
	}
	if f.Outcome != "" {
		where = append(where, "outcome = "+arg(f.Outcome))
	}
	if f.Step != "" {
		where = append(where, "step = "+arg(f.Step))
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= "+arg(ts(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, "time < "+arg(ts(f.Until)))
	}
	q := `SELECT time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time, id"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := d.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.Event
	for rows.Next() {
		var e resetflow.Event
		if err := rows.Scan(&e.Time, &e.Flow, &e.Step, &e.Platform, &e.ChatUser, &e.UserID, &e.UserUPN, &e.DeviceID, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = e.Time.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Prune deletes audit events and finished resets older than before. Open
// resets and links are kept. It returns how many events it deleted.
func (d *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	// The events and the console's rollups of them go in one transaction.
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		if err := d.txQueryRow(ctx, tx, pruneEvents, ts(before)).Scan(&n); err != nil {
			return err
		}
		_, err := d.txExec(ctx, tx, `DELETE FROM event_hours WHERE n <= 0`)
		return err
	})
	if err != nil {
		return 0, err
	}
	if _, err := d.exec(ctx, `DELETE FROM resets WHERE ended IS NOT NULL AND started < $1`, ts(before)); err != nil {
		return n, err
	}
	if _, err := d.exec(ctx, `DELETE FROM conversations WHERE opened < $1`, ts(before)); err != nil {
		return n, err
	}
	return n, nil
}

// ConversationOpened remembers an open conversation, so a leader that takes
// over after a crash or a failover can tell the person the bot restarted.
func (d *DB) ConversationOpened(ctx context.Context, flow string, to resetflow.Address, locale string, at time.Time) error {
	_, err := d.exec(ctx, `INSERT INTO conversations (flow, platform, chat_user, channel, locale, opened) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (flow) DO NOTHING`, flow, to.Platform, to.UserID, to.Channel, locale, ts(at))
	return err
}

// ConversationClosed forgets a conversation that ended.
func (d *DB) ConversationClosed(ctx context.Context, flow string) error {
	_, err := d.exec(ctx, `DELETE FROM conversations WHERE flow = $1`, flow)
	return err
}

// OpenConversation is a conversation a stopped process left open (sqlite's type).
type OpenConversation = sqlite.OpenConversation

// TakeConversations returns the conversations opened in [since, before) and
// forgets every conversation opened before before, in one transaction: each
// person is told once, and conversations opened since (by this leader) stay.
func (d *DB) TakeConversations(ctx context.Context, since, before time.Time) ([]OpenConversation, error) {
	var out []OpenConversation
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		rows, err := d.txQuery(ctx, tx, `DELETE FROM conversations WHERE opened < $1 RETURNING flow, platform, chat_user, channel, locale, opened`, ts(before))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c OpenConversation
			if err := rows.Scan(&c.Flow, &c.Address.Platform, &c.Address.UserID, &c.Address.Channel, &c.Locale, &c.Opened); err != nil {
				return err
			}
			if !c.Opened.Before(since) {
				c.Opened = c.Opened.UTC()
				out = append(out, c)
			}
		}
		return rows.Err()
	})
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Opened.Equal(out[j].Opened) {
			return out[i].Opened.Before(out[j].Opened)
		}
		return out[i].Flow < out[j].Flow
	})
	return out, err
}
