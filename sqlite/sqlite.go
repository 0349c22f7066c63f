// Package sqlite is the durable state of the bot in one SQLite file, through a
// pure-Go driver (no cgo): the audit trail, reset counters and resets in flight,
// and chat account links. It implements resetflow's Recorder, Store and Links.
package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/passcodebot/passcodebot/resetflow"
)

// DB is the bot's database. It is safe for concurrent use.
type DB struct {
	db *sql.DB
	w  *writer // every write goes through it

	countResets *sql.Stmt // ResetsSince's query, prepared: every reset asks it twice
}

// The schema is in migrations/ (see migrate.go).

// timeFormat sorts as text in time order.
const timeFormat = "2006-01-02T15:04:05.000000000Z"

func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// Open opens (and creates) the database file in WAL mode with full syncs:
// a recorded step survives a crash of the process or the machine.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	if _, err := migrateDB(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	if err := addDelivered(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	// A few connections: one writes (see writer), the others read. Each holds
	// its own page cache, so a burst of readers must not open one per request.
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	count, err := db.PrepareContext(ctx, `SELECT count(*) FROM resets WHERE user_id = ? AND started >= ?`)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return &DB{db: db, w: newWriter(db), countResets: count}, nil
}

// maxConns bounds the database's connections.
const maxConns = 6

// Close commits the writes already queued and closes the database.
func (d *DB) Close() error {
	d.w.close()
	d.countResets.Close()
	return d.db.Close()
}

// Writes is how many writes were queued: one per step's commit or other write.
func (d *DB) Writes() int64 { return d.w.writes.Load() }

// Commits is how many transactions were committed, each one sync of the WAL:
// writes queued while one commits share the next.
func (d *DB) Commits() int64 { return d.w.commits.Load() }

// Ping checks the file is reachable and writable enough to read.
func (d *DB) Ping(ctx context.Context) error { return d.db.PingContext(ctx) }

const insertEvent = `INSERT INTO events (time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func eventStatement(e resetflow.Event) statement {
	return statement{insertEvent, []any{ts(e.Time), e.Flow, e.Step, e.Platform, e.ChatUser, e.UserID, e.UserUPN, e.DeviceID, e.Outcome, e.Detail}}
}

// Record appends an audit event in its own transaction.
func (d *DB) Record(ctx context.Context, e resetflow.Event) error {
	return d.RecordBatch(ctx, []resetflow.Event{e})
}

// RecordBatch appends the events in one transaction: all of them or none.
func (d *DB) RecordBatch(ctx context.Context, evs []resetflow.Event) error {
	if len(evs) == 0 {
		return nil
	}
	stmts := make([]statement, len(evs))
	for i, e := range evs {
		stmts[i] = eventStatement(e)
	}
	if _, err := d.w.execAll(ctx, stmts...); err != nil {
		return fmt.Errorf("sqlite: record %s: %w", evs[0].Step, err)
	}
	return nil
}

// ResetsSince counts resets begun for the user since t.
func (d *DB) ResetsSince(ctx context.Context, userID string, since time.Time) (int, error) {
	var n int
	err := d.countResets.QueryRowContext(ctx, userID, ts(since)).Scan(&n)
	return n, err
}

// addDelivered brings a file made by an earlier version up to the schema.
func addDelivered(ctx context.Context, db *sql.DB) error {
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info('resets') WHERE name = 'delivered'`).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		if _, err := db.ExecContext(ctx, `ALTER TABLE resets ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0`); err != nil {
			return err
		}
	}
	return nil
}

// beginReset inserts the reset only while the user has fewer than limit resets
// since the given time. It is one statement: SQLite takes the write lock before
// it counts, so two connections (or processes) on one file cannot both pass.
const beginReset = `INSERT INTO resets (flow, user_id, started, data)
	SELECT ?, ?, ?, ? WHERE (SELECT count(*) FROM resets WHERE user_id = ? AND started >= ?) < ?`

// BeginReset records a reset about to be requested, unless the user already has
// limit resets since since (resetflow.ErrLimitReached).
func (d *DB) BeginReset(ctx context.Context, r resetflow.InFlight, since time.Time, limit int) error {
	st, err := beginStatement(r, since, limit)
	if err != nil {
		return err
	}
	n, err := d.w.execAll(ctx, st)
	if err != nil {
		return fmt.Errorf("sqlite: begin reset: %w", err)
	}
	if n == 0 {
		return resetflow.ErrLimitReached
	}
	return nil
}

// MarkDelivered records that the reset's result is being shown.
func (d *DB) MarkDelivered(ctx context.Context, flow string) error {
	if _, err := d.w.execAll(ctx, deliveredStatement(flow)); err != nil {
		return fmt.Errorf("sqlite: mark delivered: %w", err)
	}
	return nil
}

// EndReset records the final outcome of a reset.
func (d *DB) EndReset(ctx context.Context, flow, outcome string) error {
	_, err := d.w.execAll(ctx, endStatement(flow, outcome))
	return err
}

// InFlight lists resets begun and not ended.
func (d *DB) InFlight(ctx context.Context) ([]resetflow.InFlight, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT data, delivered FROM resets WHERE ended IS NULL ORDER BY started`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.InFlight
	for rows.Next() {
		var data string
		var delivered bool
		if err := rows.Scan(&data, &delivered); err != nil {
			return nil, err
		}
		var r resetflow.InFlight
		if err := json.Unmarshal([]byte(data), &r); err != nil {
			return nil, fmt.Errorf("sqlite: reset in flight: %w", err)
		}
		r.Delivered = delivered
		out = append(out, r)
	}
	return out, rows.Err()
}

// LinkedUser returns the directory user a chat account is linked to.
func (d *DB) LinkedUser(ctx context.Context, platform, chatUser string) (resetflow.User, bool, error) {
	var u resetflow.User
	err := d.db.QueryRowContext(ctx, `SELECT user_id, user_upn, name FROM links WHERE platform = ? AND chat_user = ?`, platform, chatUser).Scan(&u.ID, &u.UPN, &u.DisplayName)
	if errors.Is(err, sql.ErrNoRows) {
		return resetflow.User{}, false, nil
	}
	if err != nil {
		return resetflow.User{}, false, err
	}
	return u, true, nil
}

// SetLink links a chat account to a directory user, replacing any earlier link.
func (d *DB) SetLink(ctx context.Context, platform, chatUser string, u resetflow.User) error {
	_, err := d.w.exec(ctx, `INSERT INTO links (platform, chat_user, user_id, user_upn, name, created) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (platform, chat_user) DO UPDATE SET user_id = excluded.user_id, user_upn = excluded.user_upn, name = excluded.name, created = excluded.created`,
		platform, chatUser, u.ID, u.UPN, u.DisplayName, ts(time.Now()))
	return err
}

// RemoveLink forgets a chat account's link.
func (d *DB) RemoveLink(ctx context.Context, platform, chatUser string) (bool, error) {
	n, err := d.w.exec(ctx, `DELETE FROM links WHERE platform = ? AND chat_user = ?`, platform, chatUser)
	if err != nil {
		return false, err
	}
	return n > 0, nil
}

// ShownSecret is a chat message that shows a temporary passcode (never the
// passcode itself): where it is, and when it must be removed.
type ShownSecret struct {
	Platform, Channel, MessageID, Locale string
	RemoveAt                             time.Time
}

// SecretShown remembers a passcode message until it is removed, so a bot that
// restarts after a crash removes what the crashed one left on screen.
func (d *DB) SecretShown(ctx context.Context, s ShownSecret) error {
	_, err := d.w.exec(ctx, `INSERT OR REPLACE INTO shown_secrets (platform, channel, message_id, locale, remove_at) VALUES (?, ?, ?, ?, ?)`,
		s.Platform, s.Channel, s.MessageID, s.Locale, ts(s.RemoveAt))
	return err
}

// SecretRemoved forgets a passcode message that is gone from the chat.
func (d *DB) SecretRemoved(ctx context.Context, platform, channel, messageID string) error {
	_, err := d.w.exec(ctx, `DELETE FROM shown_secrets WHERE platform = ? AND channel = ? AND message_id = ?`, platform, channel, messageID)
	return err
}

// SecretsShown lists the passcode messages of a platform not yet removed.
func (d *DB) SecretsShown(ctx context.Context, platform string) ([]ShownSecret, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT channel, message_id, locale, remove_at FROM shown_secrets WHERE platform = ? ORDER BY remove_at`, platform)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []ShownSecret
	for rows.Next() {
		sh := ShownSecret{Platform: platform}
		var at string
		if err := rows.Scan(&sh.Channel, &sh.MessageID, &sh.Locale, &at); err != nil {
			return nil, err
		}
		sh.RemoveAt, _ = time.Parse(timeFormat, at)
		out = append(out, sh)
	}
	return out, rows.Err()
}

// KeepAlerts replaces the helpdesk alerts kept for a channel: those it had not
// delivered when the bot stopped (bot.AlertStore). Alerts carry no secret.
func (d *DB) KeepAlerts(ctx context.Context, channel string, alerts []resetflow.Alert) error {
	stmts := []statement{{`DELETE FROM kept_alerts WHERE channel = ?`, []any{channel}}}
	for i, al := range alerts {
		data, err := json.Marshal(al)
		if err != nil {
			return err
		}
		stmts = append(stmts, statement{`INSERT INTO kept_alerts (channel, seq, data) VALUES (?, ?, ?)`, []any{channel, i, string(data)}})
	}
	if _, err := d.w.execAll(ctx, stmts...); err != nil {
		return fmt.Errorf("sqlite: keep alerts: %w", err)
	}
	return nil
}

// KeptAlerts returns the helpdesk alerts kept for a channel, oldest first.
func (d *DB) KeptAlerts(ctx context.Context, channel string) ([]resetflow.Alert, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT data FROM kept_alerts WHERE channel = ? ORDER BY seq`, channel)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.Alert
	for rows.Next() {
		var data string
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var al resetflow.Alert
		if err := json.Unmarshal([]byte(data), &al); err != nil {
			return nil, fmt.Errorf("sqlite: kept alert: %w", err)
		}
		out = append(out, al)
	}
	return out, rows.Err()
}

// Filter selects audit events. Empty fields match everything.
type Filter struct {
	User    string // UPN or object id
	Device  string
	Flow    string
	Outcome string
	Step    string
	Since   time.Time
	Until   time.Time
	Limit   int
}

// Events lists audit events in time order.
func (d *DB) Events(ctx context.Context, f Filter) ([]resetflow.Event, error) {
	var c conds
	c.add(f.User != "", "(user_upn = ? COLLATE NOCASE OR user_id = ?)", f.User, f.User)
	c.add(f.Device != "", "device_id = ?", f.Device)
	c.add(f.Flow != "", "flow = ?", f.Flow)
	c.add(f.Outcome != "", "outcome = ?", f.Outcome)
	c.add(f.Step != "", "step = ?", f.Step)
	c.add(!f.Since.IsZero(), "time >= ?", ts(f.Since))
	c.add(!f.Until.IsZero(), "time < ?", ts(f.Until))
	args := c.args
	q := `SELECT time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail FROM events` + c.where()
	q += " ORDER BY time, id"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.Event
	for rows.Next() {
		var e resetflow.Event
		var t string
		if err := rows.Scan(&t, &e.Flow, &e.Step, &e.Platform, &e.ChatUser, &e.UserID, &e.UserUPN, &e.DeviceID, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.Time, _ = time.Parse(timeFormat, t)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Prune deletes audit events and finished resets older than before. Open
// resets and links are kept. It returns how many events it deleted.
func (d *DB) Prune(ctx context.Context, before time.Time) (int64, error) {
	n, err := d.w.exec(ctx, `DELETE FROM events WHERE time < ?`, ts(before))
	if err != nil {
		return 0, err
	}
	if _, err := d.w.exec(ctx, `DELETE FROM resets WHERE ended IS NOT NULL AND started < ?`, ts(before)); err != nil {
		return n, err
	}
	return n, nil
}

// conds builds a WHERE clause from the filters that are set.
type conds struct {
	parts []string
	args  []any
}

// add adds cond with its arguments when on.
func (c *conds) add(on bool, cond string, args ...any) {
	if on {
		c.parts = append(c.parts, cond)
		c.args = append(c.args, args...)
	}
}

// where is " WHERE a AND b", or "" without conditions.
func (c *conds) where() string {
	if len(c.parts) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(c.parts, " AND ")
}
