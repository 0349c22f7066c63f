package postgres

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

// ConsoleStore is the helpdesk console's view of the database, with the
// meaning of sqlite.ConsoleStore. Its tables, indexes and the trigger keeping
// the overview's rollups come with migration 0003_console.
type ConsoleStore struct{ d *DB }

var _ console.Store = (*ConsoleStore)(nil)

// Console returns the console's store. The migrations made its tables (and
// filled the rollups from the trail already recorded) when the database was opened.
func (d *DB) Console(ctx context.Context) (*ConsoleStore, error) { return &ConsoleStore{d: d}, nil }

// overviewSteps are the steps the overview counts (the trigger's list too).
const overviewSteps = `'request','devices_listed','eligibility','signin','confirm','result','cancel','expired','limit','reset_requested','delivery'`

// hourOf is the UTC hour, as a timestamptz, of a timestamptz column.
func hourOf(col string) string {
	return `date_trunc('hour', ` + col + ` AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`
}

// pruneEvents deletes the events before $1 and, in the same statement, lowers
// the rollups' counts and forgets the unlock times of the results it deletes
// (a migration can't hold a trigger on deleting; see 0003_console.sql).
var pruneEvents = `WITH gone AS (
		DELETE FROM events WHERE time < $1 RETURNING time, flow, step, platform, device_id, outcome
	), g AS (
		SELECT ` + hourOf("o.time") + ` AS hour, o.step, o.outcome, o.platform,
			CASE WHEN o.step IN ('eligibility', 'result', 'delivery') THEN coalesce(d.os, '') ELSE '' END AS os, count(*) AS n
		FROM gone o LEFT JOIN devices d ON d.device_id = o.device_id
		WHERE o.step IN (` + overviewSteps + `)
		GROUP BY 1, 2, 3, 4, 5
	), lowered AS (
		UPDATE event_hours h SET n = h.n - g.n FROM g
		WHERE h.hour = g.hour AND h.step = g.step AND h.outcome = g.outcome AND h.platform = g.platform AND h.os = g.os
		RETURNING 1
	), forgotten AS (
		DELETE FROM unlocks u USING gone o WHERE o.step = 'delivery' AND u.flow = o.flow RETURNING 1
	)
	SELECT count(*) FROM gone`

// Counts implements console.Store. A period that starts or ends inside an hour
// is rounded out to whole hours, as in SQLite. A year is a few hundred thousand
// rollup rows: the hour comes as epoch seconds (no time parsing per row), and
// the step, outcome and platform names are shared between rows. Rows that
// differ only by device OS come as separate counts of the same key.
func (s *ConsoleStore) Counts(ctx context.Context, since, until time.Time) ([]console.Count, error) {
	rows, err := s.d.query(ctx, `SELECT extract(epoch FROM hour)::bigint, step, outcome, platform, n FROM event_hours
		WHERE hour >= `+hourOf("$1::timestamptz")+` AND hour < `+hourOf("$2::timestamptz")+` AND n > 0`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	intern := map[string]string{}
	str := func(v string) string {
		if w, ok := intern[v]; ok {
			return w
		}
		intern[v] = v
		return v
	}
	var out []console.Count
	var hour, n int64
	var step, outcome, chat string
	for rows.Next() {
		if err := rows.Scan(&hour, &step, &outcome, &chat, &n); err != nil {
			return nil, fmt.Errorf("postgres: rollup row: %w", err)
		}
		out = append(out, console.Count{Hour: time.Unix(hour, 0).UTC(), Step: str(step), Outcome: str(outcome), Chat: str(chat), N: int(n)})
	}
	return out, rows.Err()
}

// Unlocks implements console.Store (as epoch milliseconds, as SQLite keeps them).
func (s *ConsoleStore) Unlocks(ctx context.Context, since, until time.Time) ([]console.Unlock, error) {
	rows, err := s.d.query(ctx, `SELECT (extract(epoch FROM confirmed) * 1000)::bigint, (extract(epoch FROM done) * 1000)::bigint
		FROM unlocks WHERE done >= $1 AND done < $2`, ts(since), ts(until))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []console.Unlock
	for rows.Next() {
		var c, d int64
		if err := rows.Scan(&c, &d); err != nil {
			return nil, fmt.Errorf("postgres: unlock row: %w", err)
		}
		out = append(out, console.Unlock{Confirmed: time.UnixMilli(c).UTC(), Done: time.UnixMilli(d).UTC()})
	}
	return out, rows.Err()
}

// ByDeviceOS implements console.Store.
func (s *ConsoleStore) ByDeviceOS(ctx context.Context, since, until time.Time) ([]console.OSCount, error) {
	rows, err := s.d.query(ctx, `SELECT os, step, outcome, sum(n) FROM event_hours
		WHERE step IN ('eligibility', 'result', 'delivery') AND hour >= `+hourOf("$1::timestamptz")+` AND hour < `+hourOf("$2::timestamptz")+`
		GROUP BY os, step, outcome HAVING sum(n) > 0`, ts(since), ts(until))
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

// Trail implements console.Store: the newest q.Limit matching events, in time order.
func (s *ConsoleStore) Trail(ctx context.Context, q console.TrailQuery) ([]resetflow.Event, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if q.Person != "" {
		p := arg(q.Person)
		where = append(where, "(user_upn = "+p+" OR user_upn = "+arg(strings.ToLower(q.Person))+" OR user_id = "+p+" OR chat_user = "+p+")")
	}
	if q.Device != "" {
		where = append(where, "device_id = "+arg(q.Device))
	}
	if q.Flow != "" {
		where = append(where, "flow = "+arg(q.Flow))
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= "+arg(ts(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < "+arg(ts(q.Until)))
	}
	query := `SELECT id, time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail FROM events`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY time DESC, id DESC"
	if q.Limit > 0 {
		query += " LIMIT " + arg(q.Limit)
	}
	query = `SELECT time, flow, step, platform, chat_user, user_id, user_upn, device_id, outcome, detail FROM (` + query + `) newest ORDER BY time, id`
	rows, err := s.d.query(ctx, query, args...)
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

// SaveAlert implements console.Store. An alert saved twice stays as first saved.
func (s *ConsoleStore) SaveAlert(ctx context.Context, a console.Alert) error {
	_, err := s.d.exec(ctx, `INSERT INTO alerts (id, time, kind, platform, chat_user, user_upn, user_id, device_id, device_name, device_os, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING`,
		a.ID, ts(a.Time), a.Kind, a.Platform, a.ChatUser, a.UserUPN, a.UserID, a.DeviceID, a.DeviceName, a.DeviceOS, a.Detail)
	if err != nil {
		return fmt.Errorf("postgres: save alert: %w", err)
	}
	return nil
}

const alertColumns = `id, time, kind, platform, chat_user, user_upn, user_id, device_id, device_name, device_os, detail,
	taken_by, taken_via, taken_at, resolved_by, resolved_at, note`

func scanAlert(sc interface{ Scan(...any) error }) (console.Alert, error) {
	var a console.Alert
	var taken, resolved *time.Time
	err := sc.Scan(&a.ID, &a.Time, &a.Kind, &a.Platform, &a.ChatUser, &a.UserUPN, &a.UserID, &a.DeviceID, &a.DeviceName, &a.DeviceOS, &a.Detail,
		&a.TakenBy, &a.TakenVia, &taken, &a.ResolvedBy, &resolved, &a.Note)
	a.Time = a.Time.UTC()
	if taken != nil {
		a.TakenAt = taken.UTC()
	}
	if resolved != nil {
		a.ResolvedAt = resolved.UTC()
	}
	return a, err
}

// optTime is NULL for the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// Alerts implements console.Store.
func (s *ConsoleStore) Alerts(ctx context.Context, f console.AlertFilter) ([]console.Alert, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.OpenOnly {
		where = append(where, "resolved_at IS NULL")
	}
	if f.Kind != "" {
		where = append(where, "kind = "+arg(f.Kind))
	}
	if f.ID != "" {
		where = append(where, "id = "+arg(f.ID))
	}
	q := `SELECT ` + alertColumns + ` FROM alerts`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, seq DESC"
	if f.Limit > 0 {
		q += " LIMIT " + arg(f.Limit)
	}
	rows, err := s.d.query(ctx, q, args...)
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
	rows, err := s.d.query(ctx, `SELECT kind, device_os, platform, count(*) FROM alerts WHERE time >= $1 AND time < $2
		GROUP BY kind, device_os, platform`, ts(since), ts(until))
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

// TakeAlert implements console.Store: the first taker wins, in one statement
// (a concurrent taker's UPDATE waits for the row and then finds it taken).
func (s *ConsoleStore) TakeAlert(ctx context.Context, id, who, via string, at time.Time) (console.Alert, bool, bool, error) {
	a, err := scanAlert(s.d.queryRow(ctx, `UPDATE alerts SET taken_by = $2, taken_via = $3, taken_at = $4
		WHERE id = $1 AND taken_by = '' RETURNING `+alertColumns, id, who, via, ts(at)))
	if err == nil {
		return a, true, true, nil
	}
	if !errors.Is(err, errNoRows) {
		return console.Alert{}, false, false, fmt.Errorf("postgres: take alert: %w", err)
	}
	// Taken before, or unknown: read it as it now is (a new statement sees the other taker's commit).
	a, err = scanAlert(s.d.queryRow(ctx, `SELECT `+alertColumns+` FROM alerts WHERE id = $1`, id))
	if errors.Is(err, errNoRows) {
		return console.Alert{}, false, false, nil
	}
	if err != nil {
		return console.Alert{}, false, false, fmt.Errorf("postgres: take alert: %w", err)
	}
	return a, false, true, nil
}

// ResolveAlert implements console.Store. Resolving also takes an untaken alert
// (the SET's right-hand sides read the row as it was).
func (s *ConsoleStore) ResolveAlert(ctx context.Context, id, who, note string, at time.Time) (bool, error) {
	res, err := s.d.exec(ctx, `UPDATE alerts SET
			taken_by  = CASE WHEN taken_by = '' THEN $2 ELSE taken_by END,
			taken_via = CASE WHEN taken_by = '' THEN 'console' ELSE taken_via END,
			taken_at  = CASE WHEN taken_by = '' THEN $4 ELSE taken_at END,
			resolved_by = $2, resolved_at = $4, note = $3
		WHERE id = $1 AND resolved_at IS NULL`, id, who, note, ts(at))
	if err != nil {
		return false, fmt.Errorf("postgres: resolve alert: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RecordWithDevices implements console.Store: one transaction, the devices
// first (the rollup trigger reads the device's OS as the event goes in).
func (s *ConsoleStore) RecordWithDevices(ctx context.Context, evs []resetflow.Event, devices []resetflow.Device) error {
	if len(evs) == 0 && len(devices) == 0 {
		return nil
	}
	// pgx sent a batch; here the devices in one statement (the last of a
	// device listed twice wins, as when each was upserted in turn), then the
	// events in one.
	var ds []resetflow.Device
	at := map[string]int{}
	for _, d := range devices {
		if i, ok := at[d.ID]; ok {
			ds[i] = d
			continue
		}
		at[d.ID] = len(ds)
		ds = append(ds, d)
	}
	err := s.d.inTx(ctx, func(tx *sql.Tx) error {
		const cols = 3
		for rest := ds; len(rest) > 0; {
			n := min(len(rest), maxParams/cols)
			args := make([]any, 0, n*cols)
			for _, d := range rest[:n] {
				args = append(args, d.ID, d.OS, string(d.Mode))
			}
			if _, err := s.d.txExec(ctx, tx, `INSERT INTO devices (device_id, os, mode) VALUES `+values(n, cols)+`
				ON CONFLICT (device_id) DO UPDATE SET os = excluded.os, mode = excluded.mode`, args...); err != nil {
				return err
			}
			rest = rest[n:]
		}
		return s.d.insertEvents(ctx, tx, evs)
	})
	if err != nil {
		step := ""
		if len(evs) > 0 {
			step = evs[0].Step
		}
		return fmt.Errorf("postgres: record %s: %w", step, err)
	}
	return nil
}
