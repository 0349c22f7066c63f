package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
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
CREATE INDEX IF NOT EXISTS events_flow ON events(flow, step);
CREATE INDEX IF NOT EXISTS events_user_id ON events(user_id, time);
CREATE INDEX IF NOT EXISTS events_chat_user ON events(chat_user, time);
CREATE TABLE IF NOT EXISTS event_hours (
	hour     TEXT NOT NULL,
	step     TEXT NOT NULL,
	outcome  TEXT NOT NULL,
	platform TEXT NOT NULL,
	os       TEXT NOT NULL,
	n        INTEGER NOT NULL,
	PRIMARY KEY (hour, step, outcome, platform, os)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS shown_unlocks (
	flow     TEXT PRIMARY KEY,
	shown_ms INTEGER NOT NULL, -- Unix milliseconds of the delivery "sent"
	ms       INTEGER NOT NULL  -- confirmation to the result shown in chat
);
CREATE INDEX IF NOT EXISTS shown_unlocks_shown ON shown_unlocks(shown_ms, ms);
` + consoleTriggers

// consoleTriggers keep the rollups. The first console (before the engine
// recorded deliveries) had triggers events_count, events_uncount and
// events_unlock and a table unlocks timed to the result "done"; those
// triggers are replaced (dropping a trigger loses no data) and the table
// unlocks is left as it was, no longer read or written.
const consoleTriggers = `
DROP TRIGGER IF EXISTS events_count;
DROP TRIGGER IF EXISTS events_uncount;
DROP TRIGGER IF EXISTS events_unlock;
CREATE TRIGGER IF NOT EXISTS events_count2 AFTER INSERT ON events WHEN NEW.step IN (` + overviewSteps + `)
BEGIN
	INSERT INTO event_hours (hour, step, outcome, platform, os, n)
	VALUES (substr(NEW.time, 1, 13), NEW.step, NEW.outcome, NEW.platform, ` + osOfNew + `, 1)
	ON CONFLICT (hour, step, outcome, platform, os) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS events_uncount2 AFTER DELETE ON events WHEN OLD.step IN (` + overviewSteps + `)
BEGIN
	UPDATE event_hours SET n = n - 1 WHERE hour = substr(OLD.time, 1, 13) AND step = OLD.step AND outcome = OLD.outcome
		AND platform = OLD.platform AND os = ` + osOfOld + `;
	DELETE FROM event_hours WHERE n <= 0;
	DELETE FROM shown_unlocks WHERE OLD.step = 'delivery' AND flow = OLD.flow;
END;
CREATE TRIGGER IF NOT EXISTS events_shown AFTER INSERT ON events WHEN NEW.step = 'delivery' AND NEW.outcome = 'sent' AND NEW.flow <> ''
BEGIN
	INSERT OR IGNORE INTO shown_unlocks (flow, shown_ms, ms)
	SELECT NEW.flow, CAST(round((julianday(NEW.time) - 2440587.5) * 86400000) AS INTEGER), CAST(round((julianday(NEW.time) - julianday(c.time)) * 86400000) AS INTEGER)
	FROM events c WHERE c.flow = NEW.flow AND c.step = 'confirm' LIMIT 1;
END;
`

// The overview reads rollups kept by triggers in the same transaction as each
// audit event: counts by hour, step, outcome, chat platform and (for
// eligibility, result and delivery) the device's OS; and the time to unlock
// of each completed reset: confirmation to the result shown in chat (delivery
// "sent"). A year of a 100,000-employee company is then tens of thousands of
// rows to read instead of a million events to group.
const (
	osOfNew = `CASE WHEN NEW.step IN ('eligibility', 'result', 'delivery') THEN coalesce((SELECT os FROM devices WHERE device_id = NEW.device_id), '') ELSE '' END`
	osOfOld = `CASE WHEN OLD.step IN ('eligibility', 'result', 'delivery') THEN coalesce((SELECT os FROM devices WHERE device_id = OLD.device_id), '') ELSE '' END`
)

// backfillHours fills the hourly counts of the given steps from the events
// already recorded; backfillShown fills the unlock times.
const (
	backfillHours = `
INSERT INTO event_hours (hour, step, outcome, platform, os, n)
SELECT substr(e.time, 1, 13), e.step, e.outcome, e.platform,
	CASE WHEN e.step IN ('eligibility', 'result', 'delivery') THEN coalesce(d.os, '') ELSE '' END, count(*)
FROM events e LEFT JOIN devices d ON d.device_id = e.device_id
WHERE e.step IN (%s)
GROUP BY 1, 2, 3, 4, 5;
`
	backfillShown = `
INSERT OR IGNORE INTO shown_unlocks (flow, shown_ms, ms)
SELECT r.flow, CAST(round((julianday(r.time) - 2440587.5) * 86400000) AS INTEGER), CAST(round((julianday(r.time) - julianday(c.time)) * 86400000) AS INTEGER)
FROM events r JOIN events c ON c.flow = r.flow AND c.step = 'confirm'
WHERE r.step = 'delivery' AND r.outcome = 'sent' AND r.flow <> '';
`
)

// ConsoleStore is the helpdesk console's view of the database.
type ConsoleStore struct{ d *DB }

var _ console.Store = (*ConsoleStore)(nil)

// Console creates the console's tables, indexes and triggers and returns its
// store. The rollups are filled from the events already recorded, in the same
// transaction as the triggers are created (no event is counted twice or
// missed): all of them when the console is first turned on for a database
// with a trail; when a database has the first console's rollups (which did
// not count deliveries), the delivery counts and the unlock times only.
func (d *DB) Console(ctx context.Context) (*ConsoleStore, error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: console schema: %w", err)
	}
	defer tx.Rollback()
	exists := func(name string) (bool, error) {
		var n int
		err := tx.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?`, name).Scan(&n)
		return n > 0, err
	}
	hadHours, err1 := exists("event_hours")
	hadShown, err2 := exists("shown_unlocks")
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("sqlite: console schema: %w", err)
	}
	if _, err := tx.ExecContext(ctx, consoleSchema); err != nil {
		return nil, fmt.Errorf("sqlite: console schema: %w", err)
	}
	var fill []string
	switch {
	case !hadHours:
		fill = []string{fmt.Sprintf(backfillHours, overviewSteps), backfillShown}
	case !hadShown:
		fill = []string{fmt.Sprintf(backfillHours, `'delivery'`), backfillShown}
	}
	for _, q := range fill {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("sqlite: console rollups: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: console schema: %w", err)
	}
	return &ConsoleStore{d: d}, nil
}

// overviewSteps are the steps the overview counts.
const overviewSteps = `'request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested','delivery'`

// The overview reads tens of thousands of rollup rows for a year; the driver
// allocates for every value of every row, so Counts and Unlocks fetch one text
// per hour (or one in all) with the rows joined by group_concat, and parse it
// here without allocating per value.

// Counts implements console.Store.
func (s *ConsoleStore) Counts(ctx context.Context, since, until time.Time) ([]console.Count, error) {
	// One row per hour in the table's order: no sort. Rows that differ only by
	// device OS come as separate counts of the same key.
	rows, err := s.d.db.QueryContext(ctx, `SELECT hour, group_concat(step || '|' || outcome || '|' || platform || '|' || n, ';')
		FROM event_hours WHERE hour >= ? AND hour < ? GROUP BY hour`, hourKey(since), hourKey(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	intern := map[string]string{}
	str := func(b string) string {
		if v, ok := intern[b]; ok {
			return v
		}
		intern[b] = b
		return b
	}
	var out []console.Count
	var hour, list sql.RawBytes
	for rows.Next() {
		if err := rows.Scan(&hour, &list); err != nil {
			return nil, err
		}
		h, err := time.Parse("2006-01-02T15", string(hour))
		if err != nil {
			return nil, fmt.Errorf("sqlite: rollup hour %q: %w", hour, err)
		}
		for rest := string(list); rest != ""; {
			var item string
			item, rest, _ = strings.Cut(rest, ";")
			step, item, _ := strings.Cut(item, "|")
			outcome, item, _ := strings.Cut(item, "|")
			platform, num, _ := strings.Cut(item, "|")
			n, err := strconv.Atoi(num)
			if err != nil {
				return nil, fmt.Errorf("sqlite: rollup count %q: %w", num, err)
			}
			out = append(out, console.Count{Hour: h, Step: str(step), Outcome: str(outcome), Chat: str(platform), N: n})
		}
	}
	return out, rows.Err()
}

// hourKey is the rollup's hour of t; a period that starts or ends inside an
// hour is rounded out to whole hours (periods are whole days in practice).
func hourKey(t time.Time) string { return t.UTC().Format("2006-01-02T15") }

// Unlocks implements console.Store.
func (s *ConsoleStore) Unlocks(ctx context.Context, since, until time.Time) ([]console.Unlock, error) {
	var list sql.NullString
	err := s.d.db.QueryRowContext(ctx, `SELECT group_concat(shown_ms || ',' || ms, ';') FROM shown_unlocks WHERE shown_ms >= ? AND shown_ms < ?`,
		since.UnixMilli(), until.UnixMilli()).Scan(&list)
	if err != nil {
		return nil, err
	}
	out := make([]console.Unlock, 0, strings.Count(list.String, ";")+1)
	for rest := list.String; rest != ""; {
		var item string
		item, rest, _ = strings.Cut(rest, ";")
		a, b, _ := strings.Cut(item, ",")
		done, err1 := strconv.ParseInt(a, 10, 64)
		ms, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("sqlite: unlock time %q", item)
		}
		d := time.UnixMilli(done).UTC()
		out = append(out, console.Unlock{Confirmed: d.Add(-time.Duration(ms) * time.Millisecond), Done: d})
	}
	return out, nil
}

// ByDeviceOS implements console.Store.
func (s *ConsoleStore) ByDeviceOS(ctx context.Context, since, until time.Time) ([]console.OSCount, error) {
	rows, err := s.d.db.QueryContext(ctx, `SELECT os, step, outcome, sum(n) FROM event_hours
		WHERE step IN ('eligibility', 'result', 'delivery') AND hour >= ? AND hour < ?
		GROUP BY os, step, outcome`, hourKey(since), hourKey(until))
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
	var c conds
	c.add(q.Person != "", "(user_upn = ? OR user_upn = ? OR user_id = ? OR chat_user = ?)", q.Person, strings.ToLower(q.Person), q.Person, q.Person)
	c.add(q.Device != "", "device_id = ?", q.Device)
	c.add(q.Flow != "", "flow = ?", q.Flow)
	c.add(!q.Since.IsZero(), "time >= ?", ts(q.Since))
	c.add(!q.Until.IsZero(), "time < ?", ts(q.Until))
	args := c.args
	query := `SELECT id, time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail FROM events` + c.where()
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
	var c conds
	c.add(f.OpenOnly, "resolved_at = ''")
	c.add(f.Kind != "", "kind = ?", f.Kind)
	c.add(f.ID != "", "id = ?", f.ID)
	args := c.args
	q := `SELECT ` + alertColumns + ` FROM alerts` + c.where()
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
	rows, err := s.d.db.QueryContext(ctx, `SELECT kind, device_os, platform, count(*) FROM alerts WHERE time >= ? AND time < ? GROUP BY kind, device_os, platform`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.KindCount
	for rows.Next() {
		var k console.KindCount
		if err := rows.Scan(&k.Kind, &k.OS, &k.Chat, &k.N); err != nil {
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
	// Devices first: the rollup trigger reads the device's OS as the event goes in.
	stmts := make([]statement, 0, len(evs)+len(devices))
	for _, d := range devices {
		stmts = append(stmts, statement{`INSERT INTO devices (device_id, os, mode) VALUES (?, ?, ?)
			ON CONFLICT (device_id) DO UPDATE SET os = excluded.os, mode = excluded.mode`, []any{d.ID, d.OS, string(d.Mode)}})
	}
	for _, e := range evs {
		stmts = append(stmts, eventStatement(e))
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
