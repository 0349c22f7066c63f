package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

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
