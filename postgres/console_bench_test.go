package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/storetest"
)

// BenchmarkConsoleYear: the console's overview reads over a synthetic year of
// a 100,000-employee company (150,000 resets, 1,050,000 audit events, seeded in
// one statement so the trigger rolls them up), from the rollups, against the
// same counts grouped from the events themselves (the alternative to the
// trigger); and the cost of recording a reset's four events and its device.
//
//	PASSCODEBOT_REQUIRE_POSTGRES=1 go test -run '^$' -bench BenchmarkConsoleYear -benchtime 10x ./postgres/
func BenchmarkConsoleYear(b *testing.B) {
	ctx := context.Background()
	url := pgtest.Database(b)
	pdb, err := postgres.Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	defer pdb.Close()
	db, err := sql.Open("postgres", url) // for the seed and the grouped queries
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	end := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	start := end.AddDate(-1, 0, 0)
	t0 := time.Now()
	if _, err := db.ExecContext(ctx, `INSERT INTO devices (device_id, os)
		SELECT 'd' || i, (ARRAY['iOS','Android','Windows','macOS'])[1 + i % 4] FROM generate_series(1, 100000) i`); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO events (time, flow, step, platform, chat_user, user_upn, device_id, outcome)
		SELECT $1::timestamptz + (i * interval '210 seconds') + s.off * interval '1 second', 'f' || i, s.step,
			(ARRAY['slack','discord','teams'])[1 + i % 3], 'U' || (i % 100000), 'u' || (i % 100000) || '@contoso.example', 'd' || (1 + i % 100000),
			CASE WHEN s.step = 'eligibility' THEN 'allow' WHEN s.step = 'result' THEN 'done' WHEN s.step = 'delivery' THEN 'sent' ELSE '' END
		FROM generate_series(0, 149999) i,
			(VALUES ('request', 0), ('devices_listed', 1), ('eligibility', 2), ('signin', 30), ('confirm', 60), ('result', 65), ('delivery', 66)) AS s(step, off)`, start); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded 1,050,000 events (rolled up by the trigger) in %v", time.Since(t0).Round(time.Millisecond))
	cs, _ := pdb.Console(ctx)

	b.Run("rollups", func(b *testing.B) {
		for b.Loop() {
			c, err := cs.Counts(ctx, start, end)
			if err != nil || len(c) == 0 {
				b.Fatal(err)
			}
			u, err := cs.Unlocks(ctx, start, end)
			if err != nil || len(u) != 150000 {
				b.Fatal(len(u), err)
			}
			if _, err := cs.ByDeviceOS(ctx, start, end); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("counts", func(b *testing.B) {
		for b.Loop() {
			if c, err := cs.Counts(ctx, start, end); err != nil || len(c) == 0 {
				b.Fatal(err)
			}
		}
	})
	b.Run("unlocks", func(b *testing.B) {
		for b.Loop() {
			if _, err := cs.Unlocks(ctx, start, end); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("by-os", func(b *testing.B) {
		for b.Loop() {
			if _, err := cs.ByDeviceOS(ctx, start, end); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("grouped-events", func(b *testing.B) {
		for b.Loop() {
			var n int
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT date_trunc('hour', time), step, outcome, platform, count(*) FROM events
				WHERE time >= $1 AND time < $2 GROUP BY 1, 2, 3, 4) g`, start, end).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM events r JOIN events c ON c.flow = r.flow AND c.step = 'confirm'
				WHERE r.step = 'result' AND r.outcome = 'done' AND r.time >= $1 AND r.time < $2`, start, end).Scan(&n); err != nil {
				b.Fatal(err)
			}
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT d.os, e.step, e.outcome, count(*) FROM events e LEFT JOIN devices d ON d.device_id = e.device_id
				WHERE e.step IN ('eligibility', 'result') AND e.time >= $1 AND e.time < $2 GROUP BY 1, 2, 3) g`, start, end).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
	})
	i := 0
	b.Run("record-reset", func(b *testing.B) {
		for b.Loop() {
			i++
			f := fmt.Sprint("bench", i)
			if err := cs.RecordWithDevices(ctx, storetest.FlowEvents(f, end.Add(time.Duration(i)*time.Second), 5*time.Second),
				[]resetflow.Device{{ID: "d-" + f, OS: "iOS"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
