package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// inTx runs fn in a transaction at the database's default isolation (READ
// COMMITTED), as pgx.BeginFunc did: committed when fn returns nil, rolled back
// when it fails (fn's error is returned) or ctx ends. There is no retry: at
// READ COMMITTED the store's transactions meet no serialization failure, and
// the advisory locks they take are always taken one at a time, in one order
// (a deadlock, 40P01, would be returned like any error, as before).
func (d *DB) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return runTx(ctx, d.db, fn)
}

// beginner is a pool (*sql.DB) or one of its connections (*sql.Conn).
type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// runTx is inTx on b.
func runTx(ctx context.Context, b beginner, fn func(*sql.Tx) error) error {
	tx, err := b.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ts is a time as the store writes it: UTC, truncated to PostgreSQL's
// microseconds as pgx's binary encoding did (the server rounds the text form
// lib/pq sends, which could move a time half a microsecond later).
func ts(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// values writes the VALUES list of a multi-row INSERT of rows rows of cols
// parameters each: ($1, $2), ($3, $4), ...
func values(rows, cols int) string {
	var b strings.Builder
	n := 0
	for r := 0; r < rows; r++ {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := 0; c < cols; c++ {
			if c > 0 {
				b.WriteString(", ")
			}
			n++
			fmt.Fprintf(&b, "$%d", n)
		}
		b.WriteByte(')')
	}
	return b.String()
}

// maxParams is PostgreSQL's limit of parameters in one statement.
const maxParams = 65535

// errNoRows is database/sql's "no row" (pgx.ErrNoRows before).
var errNoRows = sql.ErrNoRows
