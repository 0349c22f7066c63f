package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func open(t *testing.T) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), pgtest.Database(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestMigrateOnceThenNothingPending(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	db, err := postgres.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := db.Pending(ctx)
	if err != nil || len(p) == 0 {
		t.Fatalf("pending on an empty database: %v %v", p, err)
	}
	done, err := db.Migrate(ctx)
	if err != nil || len(done) != len(p) {
		t.Fatalf("migrate: %v %v", done, err)
	}
	if p, err := db.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("pending after migrate: %v %v", p, err)
	}
}

// TestMigrateConcurrently: replicas starting together apply each migration
// once (the session lock holds on Migrate's one connection); the others find
// nothing to do.
func TestMigrateConcurrently(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	const n = 4
	applied := make(chan int, n)
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			db, err := postgres.Connect(ctx, url)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			done, err := db.Migrate(ctx)
			applied <- len(done)
			errs <- err
		}()
	}
	total := 0
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(applied)
	for k := range applied {
		total += k
	}
	all, _ := postgres.Migrations()
	if total != len(all) {
		t.Errorf("%d migrations applied by %d replicas, want each of the %d once", total, n, len(all))
	}
}
