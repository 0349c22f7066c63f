package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// BenchmarkStoreCalls: the store's calls on the hot path, on the loopback
// server (the driver's cost per call and per statement; issue 17 moved the
// store from pgx to lib/pq). Only the public API, so the same file measures
// either driver.
//
//	PASSCODEBOT_REQUIRE_POSTGRES=1 go test -run '^$' -bench BenchmarkStoreCalls ./postgres/
func BenchmarkStoreCalls(b *testing.B) {
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.Database(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	u := resetflow.User{ID: "u1", UPN: "u1@contoso.example", DisplayName: "U One"}
	if err := db.SetLink(ctx, "slack", "U1", u); err != nil {
		b.Fatal(err)
	}
	b.Run("linked-user", func(b *testing.B) { // one query
		for b.Loop() {
			if _, ok, err := db.LinkedUser(ctx, "slack", "U1"); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	i := 0
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	b.Run("commit-confirm", func(b *testing.B) { // "Reset passcode": lock, count, reset and an event in one transaction
		for b.Loop() {
			i++
			f := fmt.Sprint("flow", i)
			r := resetflow.InFlight{Flow: f, User: resetflow.User{ID: f}, Started: at}
			err := db.Commit(ctx, resetflow.Commit{
				Events: []resetflow.Event{{Time: at, Flow: f, Step: "confirm", Platform: "slack"}},
				Begin:  &resetflow.BeginReset{Reset: r, Since: at.Add(-24 * time.Hour), Limit: 3},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("commit-result", func(b *testing.B) { // the result: an event, the delivered mark, the end, the close
		for b.Loop() {
			i++
			f := fmt.Sprint("flow", i)
			err := db.Commit(ctx, resetflow.Commit{
				Events:    []resetflow.Event{{Time: at, Flow: f, Step: "result", Platform: "slack", Outcome: "done"}},
				Delivered: f, End: &resetflow.EndReset{Flow: f, Outcome: "done"}, Closed: f,
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
