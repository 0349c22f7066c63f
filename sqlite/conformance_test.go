package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
	"github.com/passcodebot/passcodebot/storetest"
)

// TestConformance runs the suite every store passes (PostgreSQL's too).
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) func() storetest.Store {
		path := filepath.Join(t.TempDir(), "bot.db")
		return func() storetest.Store {
			db, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			return db
		}
	}, resetflow.ErrLimitReached)
}

// TestConsoleConformance runs the console store's suite (PostgreSQL's too):
// rollups, alerts, trail.
func TestConsoleConformance(t *testing.T) {
	storetest.RunConsole(t, func(t *testing.T) (storetest.Store, func(context.Context) (console.Store, error)) {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "bot.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db, func(ctx context.Context) (console.Store, error) { return db.Console(ctx) }
	})
}
