package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
)

// consoleSchema is what the helpdesk console adds: the state of helpdesk alerts
// (taken, resolved), the operating system of devices named in the trail, and
// indexes for the overview's queries over a year of events.
const consoleSchema = `
CREATE TABLE IF NOT EXISTS alerts (
	id          TEXT PRIMARY KEY,
	time        TEXT NOT NULL,
	kind        TEXT NOT NULL,
	platform    TEXT NOT NULL DEFAULT '',
	chat_user   TEXT NOT NULL DEFAULT '',
	user_upn    TEXT NOT NULL DEFAULT '',
	user_id     TEXT NOT NULL DEFAULT '',
	device_id   TEXT NOT NULL DEFAULT '',
	device_name TEXT NOT NULL DEFAULT '',
	device_os   TEXT NOT NULL DEFAULT '',
	detail      TEXT NOT NULL DEFAULT '',
	taken_by    TEXT NOT NULL DEFAULT '',
	taken_via   TEXT NOT NULL DEFAULT '',
	taken_at    TEXT NOT NULL DEFAULT '',
	resolved_by TEXT NOT NULL DEFAULT '',
	resolved_at TEXT NOT NULL DEFAULT '',
	note        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS alerts_time ON alerts(time);
CREATE INDEX IF NOT EXISTS alerts_open ON alerts(resolved_at, time);
CREATE TABLE IF NOT EXISTS devices (
	device_id TEXT PRIMARY KEY,
	os        TEXT NOT NULL DEFAULT '',
	mode      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_step_time ON events(step, time, outcome, platform);
CREATE INDEX IF NOT EXISTS events_flow ON events(flow, step);
CREATE INDEX IF NOT EXISTS events_user_id ON events(user_id, time);
CREATE INDEX IF NOT EXISTS events_chat_user ON events(chat_user, time);
`

// ConsoleStore is the helpdesk console's view of the database.
type ConsoleStore struct{ d *DB }

var _ console.Store = (*ConsoleStore)(nil)

// Console creates the console's tables and indexes (once) and returns its store.
func (d *DB) Console(ctx context.Context) (*ConsoleStore, error) {
	if _, err := d.db.ExecContext(ctx, consoleSchema); err != nil {
		return nil, fmt.Errorf("sqlite: console schema: %w", err)
	}
	return &ConsoleStore{d: d}, nil
}

// overviewSteps are the steps the overview counts.
const overviewSteps = `'request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested'`

// Counts implements console.Store.
func (s *ConsoleStore) Counts(ctx context.Context, since, until time.Time) ([]console.Count, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT substr(time, 1, 13), step, outcome, platform, count(*) FROM events
		WHERE step IN (`+overviewSteps+`) AND time >= ? AND time < ?
		GROUP BY substr(time, 1, 13), step, outcome, platform`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.Count
	for rows.Next() {
		var c console.Count
		var hour string
		if err := rows.Scan(&hour, &c.Step, &c.Outcome, &c.Chat, &c.N); err != nil {
			return nil, err
		}
		c.Hour, _ = time.Parse("2006-01-02T15", hour)
		out = append(out, c)
	}
	return out, rows.Err()
}

// Unlocks implements console.Store.
func (s *ConsoleStore) Unlocks(ctx context.Context, since, until time.Time) ([]console.Unlock, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT c.time, r.time FROM events r
		JOIN events c ON c.flow = r.flow AND c.step = 'confirm'
		WHERE r.step = 'result' AND r.outcome = 'done' AND r.time >= ? AND r.time < ? AND r.flow <> ''`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.Unlock
	for rows.Next() {
		var c, r string
		if err := rows.Scan(&c, &r); err != nil {
			return nil, err
		}
		var u console.Unlock
		u.Confirmed, _ = time.Parse(timeFormat, c)
		u.Done, _ = time.Parse(timeFormat, r)
		out = append(out, u)
	}
	return out, rows.Err()
}

// ByDeviceOS implements console.Store.
func (s *ConsoleStore) ByDeviceOS(ctx context.Context, since, until time.Time) ([]console.OSCount, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT coalesce(d.os, ''), e.step, e.outcome, count(*) FROM events e
		LEFT JOIN devices d ON d.device_id = e.device_id
		WHERE e.step IN ('eligibility', 'result') AND e.time >= ? AND e.time < ?
		GROUP BY coalesce(d.os, ''), e.step, e.outcome`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.OSCount
	for rows.Next() {
		var c console.OSCount
		if err := rows.Scan(&c.OS, &c.Step, &c.Outcome, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Trail implements console.Store.
func (s *ConsoleStore) Trail(ctx context.Context, q console.TrailQuery) ([]resetflow.Event, error) {
	var where []string
	var args []any
	if q.Person != "" {
		where = append(where, "(user_upn = ? OR lower(user_upn) = lower(?) OR user_id = ? OR chat_user = ?)")
		args = append(args, q.Person, q.Person, q.Person, q.Person)
	}
	if q.Device != "" {
		where = append(where, "device_id = ?")
		args = append(args, q.Device)
	}
	if q.Flow != "" {
		where = append(where, "flow = ?")
		args = append(args, q.Flow)
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, ts(q.Since))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, ts(q.Until))
	}
	query := `SELECT id, time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	// The newest events when there are more than the limit, shown in time order.
	query = `SELECT * FROM (` + query + ` ORDER BY time DESC, id DESC`
	if q.Limit > 0 {
		query += fmt.Sprintf(" LIMIT %d", q.Limit)
	}
	query += `) ORDER BY time, id`
	rows, err := s.d.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []resetflow.Event
	for rows.Next() {
		var e resetflow.Event
		var t string
		var id int64
		if err := rows.Scan(&id, &t, &e.Flow, &e.Step, &e.Platform, &e.ChatUser, &e.UserID, &e.UserUPN, &e.DeviceID, &e.Outcome, &e.Detail); err != nil {
			return nil, err
		}
		e.Time, _ = time.Parse(timeFormat, t)
		out = append(out, e)
	}
	return out, rows.Err()
}

func optTS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ts(t)
}

func parseOpt(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(timeFormat, s)
	return t
}

// SaveAlert implements console.Store. An alert saved twice stays as first saved.
func (s *ConsoleStore) SaveAlert(ctx context.Context, a console.Alert) error {
	_, err := s.d.w.exec(ctx, `INSERT INTO alerts (id, time, kind, platform, chat_user, user_upn, user_id, device_id, device_name, device_os, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		a.ID, ts(a.Time), a.Kind, a.Platform, a.ChatUser, a.UserUPN, a.UserID, a.DeviceID, a.DeviceName, a.DeviceOS, a.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: save alert: %w", err)
	}
	return nil
}

const alertColumns = `id, time, kind, platform, chat_user, user_upn, user_id, device_id, device_name, device_os, detail,
	taken_by, taken_via, taken_at, resolved_by, resolved_at, note`

func scanAlert(sc interface{ Scan(...any) error }) (console.Alert, error) {
	var a console.Alert
	var t, taken, resolved string
	err := sc.Scan(&a.ID, &t, &a.Kind, &a.Platform, &a.ChatUser, &a.UserUPN, &a.UserID, &a.DeviceID, &a.DeviceName, &a.DeviceOS, &a.Detail,
		&a.TakenBy, &a.TakenVia, &taken, &a.ResolvedBy, &resolved, &a.Note)
	a.Time, a.TakenAt, a.ResolvedAt = parseOpt(t), parseOpt(taken), parseOpt(resolved)
	return a, err
}

// Alerts implements console.Store.
func (s *ConsoleStore) Alerts(ctx context.Context, f console.AlertFilter) ([]console.Alert, error) {
	var where []string
	var args []any
	if f.OpenOnly {
		where = append(where, "resolved_at = ''")
	}
	if f.Kind != "" {
		where = append(where, "kind = ?")
		args = append(args, f.Kind)
	}
	if f.ID != "" {
		where = append(where, "id = ?")
		args = append(args, f.ID)
	}
	q := `SELECT ` + alertColumns + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, rowid DESC"
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	rows, err := s.d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlertKinds implements console.Store.
func (s *ConsoleStore) AlertKinds(ctx context.Context, since, until time.Time) ([]console.KindCount, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT kind, device_os, count(*) FROM alerts WHERE time >= ? AND time < ? GROUP BY kind, device_os`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.KindCount
	for rows.Next() {
		var k console.KindCount
		if err := rows.Scan(&k.Kind, &k.OS, &k.N); err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

func (s *ConsoleStore) alert(ctx context.Context, id string) (console.Alert, bool, error) {
	a, err := scanAlert(s.d.db.QueryRowContext(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return console.Alert{}, false, nil
	}
	return a, err == nil, err
}

// TakeAlert implements console.Store: the first taker wins, in one statement.
func (s *ConsoleStore) TakeAlert(ctx context.Context, id, who, via string, at time.Time) (console.Alert, bool, bool, error) {
	n, err := s.d.w.exec(ctx, `UPDATE alerts SET taken_by = ?, taken_via = ?, taken_at = ? WHERE id = ? AND taken_by = ''`, who, via, ts(at), id)
	if err != nil {
		return console.Alert{}, false, false, fmt.Errorf("sqlite: take alert: %w", err)
	}
	a, found, err := s.alert(ctx, id)
	return a, n > 0, found, err
}

// ResolveAlert implements console.Store. Resolving also takes an untaken alert.
func (s *ConsoleStore) ResolveAlert(ctx context.Context, id, who, note string, at time.Time) (bool, error) {
	n, err := s.d.w.execAll(ctx,
		statement{`UPDATE alerts SET taken_by = ?, taken_via = 'console', taken_at = ? WHERE id = ? AND taken_by = '' AND resolved_at = ''`, []any{who, ts(at), id}},
		statement{`UPDATE alerts SET resolved_by = ?, resolved_at = ?, note = ? WHERE id = ? AND resolved_at = ''`, []any{who, ts(at), note, id}})
	if err != nil {
		return false, fmt.Errorf("sqlite: resolve alert: %w", err)
	}
	return n > 0, nil
}

// RecordWithDevices implements console.Store.
func (s *ConsoleStore) RecordWithDevices(ctx context.Context, evs []resetflow.Event, devices []resetflow.Device) error {
	stmts := make([]statement, 0, len(evs)+len(devices))
	for _, e := range evs {
		stmts = append(stmts, eventStatement(e))
	}
	for _, d := range devices {
		stmts = append(stmts, statement{`INSERT INTO devices (device_id, os, mode) VALUES (?, ?, ?)
			ON CONFLICT (device_id) DO UPDATE SET os = excluded.os, mode = excluded.mode`, []any{d.ID, d.OS, string(d.Mode)}})
	}
	if len(stmts) == 0 {
		return nil
	}
	if _, err := s.d.w.execAll(ctx, stmts...); err != nil {
		step := ""
		if len(evs) > 0 {
			step = evs[0].Step
		}
		return fmt.Errorf("sqlite: record %s: %w", step, err)
	}
	return nil
}
