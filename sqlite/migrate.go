package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the schema's versions, embedded in the program.
func Migrations() ([]migrate.Migration, error) { return migrate.Load(migrationFiles, "migrations") }

const createVersions = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	applied TEXT NOT NULL
)`

func openFile(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty path")
	}
	q := url.Values{}
	// busy_timeout first: switching to WAL takes a lock another process may hold.
	for _, p := range []string{"busy_timeout(5000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	return db, nil
}

// Migrator applies or lists the schema migrations of a database file.
type Migrator struct {
	path string
	db   *sql.DB // nil while the file does not exist
}

// OpenUnmigrated opens the file without changing its schema (migrate -check);
// a file that does not exist is not created until Migrate.
func OpenUnmigrated(ctx context.Context, path string) (*Migrator, error) {
	m := &Migrator{path: path}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return m, nil
	}
	return m, m.open(ctx)
}

func (m *Migrator) open(ctx context.Context) error {
	db, err := openFile(m.path)
	if err != nil {
		return err
	}
	// A connection's set-up switches the file to WAL, which needs a lock that
	// another process starting on the same file may hold; SQLite can answer
	// that with SQLITE_BUSY at once, without its busy timeout. Try again a
	// while (each Ping makes a fresh connection).
	err = db.PingContext(ctx)
	for try := 0; err != nil && isBusy(err) && try < 50; try++ {
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
		err = db.PingContext(ctx)
	}
	if err != nil {
		db.Close()
		return fmt.Errorf("sqlite: %s: %w", m.path, err)
	}
	m.db = db
	return nil
}

// isBusy reports SQLite's "database is locked" (SQLITE_BUSY).
func isBusy(err error) bool {
	return strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked")
}

// Close closes the file.
func (m *Migrator) Close() error {
	if m.db == nil {
		return nil
	}
	return m.db.Close()
}

// Pending lists the migrations the file has not had yet. It changes nothing.
func (m *Migrator) Pending(ctx context.Context) ([]migrate.Migration, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	if m.db == nil {
		return all, nil
	}
	var n int
	if err := m.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return all, nil
	}
	applied, err := appliedVersions(ctx, m.db)
	if err != nil {
		return nil, err
	}
	return migrate.Pending(all, applied), nil
}

// Migrate applies the pending migrations, creating the file (private) if needed.
func (m *Migrator) Migrate(ctx context.Context) ([]migrate.Migration, error) {
	if m.db == nil {
		if err := createPrivate(m.path); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		if err := m.open(ctx); err != nil {
			return nil, err
		}
	}
	return migrateDB(ctx, m.db)
}

func appliedVersions(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	applied := map[int]bool{}
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		applied[v] = true
	}
	return applied, rows.Err()
}

// migrateDB applies the pending migrations in one BEGIN IMMEDIATE transaction:
// it takes the file's write lock first, so two processes starting on one file
// take turns and each migration runs once.
func migrateDB(ctx context.Context, db *sql.DB) ([]migrate.Migration, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return nil, fmt.Errorf("sqlite: migration lock: %w", err)
	}
	commit := false
	defer func() {
		if !commit {
			conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, createVersions); err != nil {
		return nil, err
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	pending := migrate.Pending(all, applied)
	for _, m := range pending {
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return nil, fmt.Errorf("sqlite: migration %s: %w", m, err)
		}
		if _, err := conn.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`, m.Version, m.Name); err != nil {
			return nil, err
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return nil, err
	}
	commit = true
	return pending, nil
}
