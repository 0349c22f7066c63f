package postgres

import (
	"context"
	"database/sql"
	"embed"
	"fmt"

	"github.com/passcodebot/passcodebot/internal/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations are the schema's versions, embedded in the program.
func Migrations() ([]migrate.Migration, error) { return migrate.Load(migrationFiles, "migrations") }

// migrationLock is the advisory lock key replicas starting at once take turns on.
const migrationLock = 0x70617373636f6465 // "passcode"

const createVersions = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version INTEGER PRIMARY KEY,
	name    TEXT NOT NULL,
	applied TIMESTAMPTZ NOT NULL DEFAULT now()
)`

// Pending lists the migrations the database has not had yet. It changes nothing.
func (d *DB) Pending(ctx context.Context) ([]migrate.Migration, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	var exists bool
	if err := d.db.QueryRowContext(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !exists {
		return all, nil
	}
	applied, err := appliedVersions(ctx, d.db)
	if err != nil {
		return nil, err
	}
	return migrate.Pending(all, applied), nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func appliedVersions(ctx context.Context, q querier) (map[int]bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT version FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
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

// Migrate applies the pending migrations, each in its own transaction, under a
// session advisory lock on one connection: replicas starting together apply each
// migration once, the others wait and then find nothing to do. It returns what it applied.
func (d *DB) Migrate(ctx context.Context) ([]migrate.Migration, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	// The session lock lives on this one connection (sql.Conn): every statement
	// below, the migrations' transactions included, runs on it.
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, int64(migrationLock)); err != nil {
		return nil, fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrationLock))
	if _, err := conn.ExecContext(ctx, createVersions); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	applied, err := appliedVersions(ctx, conn)
	if err != nil {
		return nil, err
	}
	var done []migrate.Migration
	for _, m := range migrate.Pending(all, applied) {
		err := runTx(ctx, conn, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name)
			return err
		})
		if err != nil {
			return done, fmt.Errorf("postgres: migration %s: %w", m, err)
		}
		done = append(done, m)
	}
	return done, nil
}
