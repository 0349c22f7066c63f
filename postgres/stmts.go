package postgres

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// The store's statements are prepared once per connection and then only
// executed, as pgx's statement cache did: lib/pq alone has the server parse
// and plan every statement each time, which doubled the time of a one-row
// query on loopback (BenchmarkStoreCalls). database/sql prepares a cached
// statement on each connection the first time it runs there.

// maxStmts bounds the cache: the filters of Events and Trail and the row
// counts of the multi-row inserts make a bounded but not small set; beyond
// it statements run unprepared.
const maxStmts = 512

type stmtCache struct {
	mu      sync.Mutex
	m       map[string]*sql.Stmt
	pending map[string]bool // being prepared for a transaction (txStmt)
	closed  bool
}

// stmt returns the prepared statement for q, or nil to run it unprepared
// (the cache is full, or preparing failed: running it says why).
func (d *DB) stmt(ctx context.Context, q string) *sql.Stmt {
	c := &d.stmts
	c.mu.Lock()
	st, ok := c.m[q]
	full := c.closed || len(c.m) >= maxStmts
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := d.db.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		st.Close()
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	if prev, ok := c.m[q]; ok { // prepared meanwhile by another call
		st.Close()
		return prev
	}
	c.m[q] = st
	return st
}

func (d *DB) closeStmts() {
	d.stmts.mu.Lock()
	defer d.stmts.mu.Unlock()
	for _, st := range d.stmts.m {
		st.Close()
	}
	d.stmts.m, d.stmts.closed = nil, true
}

func (d *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := d.stmt(ctx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return d.db.ExecContext(ctx, q, args...)
}

func (d *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return d.db.QueryContext(ctx, q, args...)
}

func (d *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if st := d.stmt(ctx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return d.db.QueryRowContext(ctx, q, args...)
}

// txStmt is q's prepared statement in tx (prepared on tx's connection if it
// is not yet), or nil. A statement not in the cache yet runs unprepared this
// time and is prepared in the background: preparing it here would take a
// second connection while tx holds one, and a pool whose connections are all
// in transactions doing that would wait on itself.
func (d *DB) txStmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	c := &d.stmts
	c.mu.Lock()
	st, ok := c.m[q]
	start := !ok && len(c.m)+len(c.pending) < maxStmts && !c.pending[q]
	if start {
		if c.pending == nil {
			c.pending = map[string]bool{}
		}
		c.pending[q] = true
	}
	c.mu.Unlock()
	if start {
		go func() {
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			d.stmt(pctx, q)
			c.mu.Lock()
			delete(c.pending, q)
			c.mu.Unlock()
		}()
	}
	if st == nil {
		return nil
	}
	return tx.StmtContext(ctx, st)
}

func (d *DB) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := d.txStmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

func (d *DB) txQuery(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	if st := d.txStmt(ctx, tx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

func (d *DB) txQueryRow(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	if st := d.txStmt(ctx, tx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}
