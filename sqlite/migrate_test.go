package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/passcodebot/passcodebot/internal/migrate"
)

func TestMigrationsFreshFileCheckThenApply(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "new.db")
	m, err := OpenUnmigrated(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	all, _ := Migrations()
	p, err := m.Pending(ctx)
	if err != nil || len(p) != len(all) {
		t.Fatalf("pending on no file: %v %v", migrate.Names(p), err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatal("checking created the file")
	}
	done, err := m.Migrate(ctx)
	if err != nil || len(done) != len(all) {
		t.Fatalf("migrate: %v %v", migrate.Names(done), err)
	}
	if p, err := m.Pending(ctx); err != nil || len(p) != 0 {
		t.Fatalf("pending after migrate: %v %v", migrate.Names(p), err)
	}
	if done, err := m.Migrate(ctx); err != nil || len(done) != 0 {
		t.Fatalf("migrating twice ran %v %v", migrate.Names(done), err)
	}
}

// A database made before versioned migrations adopts them, its data kept.
func TestMigrationsAdoptAnOlderDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	db, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := Migrations()
	if _, err := db.ExecContext(ctx, all[0].SQL); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO links (platform, chat_user, user_id, user_upn, created) VALUES ('discord', '1', 'u', 'u@x', 'now')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	m, err := OpenUnmigrated(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if p, _ := m.Pending(ctx); len(p) != len(all) {
		t.Fatalf("pending: %v", migrate.Names(p))
	}
	if _, err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM links`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("links after migrating: %d %v", n, err)
	}
}

// Two processes starting on one file take turns: each migration runs once.
func TestMigrationsUnderALock(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "race.db")
	if err := createPrivate(path); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	ran := make([]int, 4)
	errs := make([]error, 4)
	for i := range ran {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := OpenUnmigrated(ctx, path)
			if err != nil {
				errs[i] = err
				return
			}
			defer m.Close()
			done, err := m.Migrate(ctx)
			ran[i], errs[i] = len(done), err
		}()
	}
	wg.Wait()
	total := 0
	for i := range ran {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += ran[i]
	}
	all, _ := Migrations()
	if total != len(all) {
		t.Fatalf("%d migrations ran in all, want %d (each once)", total, len(all))
	}
}
