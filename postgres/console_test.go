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
	"github.com/passcodebot/passcodebot/storetest"
)

// TestConsoleMigrationFillsRollups: a database with a trail recorded before
// migration 0003_console (no trigger yet) gets its rollups filled by the
// migration, once.
func TestConsoleMigrationFillsRollups(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	all, err := postgres.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The schema as it was before the console: migrations 1 and 2 only.
	if _, err := conn.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TIMESTAMPTZ NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		if m.Name == "console" {
			break
		}
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			t.Fatal(m, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			t.Fatal(err)
		}
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		for _, e := range storetest.FlowEvents(fmt.Sprint("old", i), day.Add(time.Duration(i)*time.Hour), time.Duration(i+1)*time.Second) {
			if _, err := conn.ExecContext(ctx, `INSERT INTO events (time, flow, step, platform, device_id, outcome) VALUES ($1, $2, $3, $4, $5, $6)`,
				e.Time, e.Flow, e.Step, e.Platform, e.DeviceID, e.Outcome); err != nil {
				t.Fatal(err)
			}
		}
	}
	db, err := postgres.Open(ctx, url) // applies 0003_console
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, _ := db.Console(ctx)
	counts, err := cs.Counts(ctx, day, day.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, c := range counts {
		got[fmt.Sprintf("%02d %s/%s/%s", c.Hour.Hour(), c.Step, c.Outcome, c.Chat)] += c.N
	}
	for h := 0; h < 3; h++ {
		for _, k := range []string{"request//slack", "eligibility/allow/slack", "confirm//slack", "result/done/slack"} {
			if got[fmt.Sprintf("%02d %s", h, k)] != 1 {
				t.Errorf("hour %d %s: %d, want 1 (all counts %v)", h, k, got[fmt.Sprintf("%02d %s", h, k)], got)
			}
		}
	}
	if len(got) != 15 {
		t.Errorf("counts %v, want 5 steps in each of 3 hours", got)
	}
	un, err := cs.Unlocks(ctx, day, day.AddDate(0, 0, 1))
	if err != nil || len(un) != 3 {
		t.Fatalf("unlocks %+v %v, want 3", un, err)
	}
	for _, u := range un {
		if d := u.Done.Sub(u.Confirmed); d < time.Second || d > 3*time.Second {
			t.Errorf("unlock %+v took %v", u, d)
		}
	}
	// Opening again migrates nothing: the counts stay.
	db2, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	cs2, _ := db2.Console(ctx)
	again, _ := cs2.Counts(ctx, day, day.AddDate(0, 0, 1))
	n := 0
	for _, c := range again {
		n += c.N
	}
	if n != 15 {
		t.Errorf("%d events counted after reopening, want 15: %+v", n, again)
	}
}
