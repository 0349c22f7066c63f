package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

var errClosed = errors.New("sqlite: database closed")

// writer is the database's only writer. SQLite lets one connection write at a
// time; concurrent writers on several connections wait on the file lock with
// busy_timeout's sleeps, and under load fail with SQLITE_BUSY after it. Here
// writes queue instead, and the writes that queued while one commit was being
// synced are committed together in the next transaction: one fsync for all of
// them (group commit). Each write still returns only once it is committed.
type writer struct {
	db    *sql.DB
	queue chan *write
	exit  chan struct{}
	stmts map[string]*sql.Stmt // prepared once; used by the writer's goroutine only
	// writes counts the writes queued; commits the transactions committed,
	// each one WAL sync (the writes queued meanwhile share it).
	writes, commits atomic.Int64

	mu     sync.RWMutex // held for reading while a write is being queued
	closed bool
}

// write is one or more statements committed together; rows is the last one's.
type write struct {
	stmts []statement
	rows  int64
	err   error
	done  chan struct{}
}

type statement struct {
	query string
	args  []any
}

func newWriter(db *sql.DB) *writer {
	w := &writer{db: db, queue: make(chan *write, maxBatch), exit: make(chan struct{}), stmts: map[string]*sql.Stmt{}}
	go w.run()
	return w
}

// exec runs one write statement and returns the rows it affected, once committed.
func (w *writer) exec(ctx context.Context, query string, args ...any) (int64, error) {
	return w.execAll(ctx, statement{query, args})
}

// execAll runs the statements in one transaction, once committed.
func (w *writer) execAll(ctx context.Context, stmts ...statement) (int64, error) {
	wr := &write{stmts: stmts, done: make(chan struct{})}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return 0, errClosed
	}
	select {
	case w.queue <- wr:
		w.writes.Add(1)
	case <-ctx.Done():
		w.mu.RUnlock()
		return 0, ctx.Err()
	}
	w.mu.RUnlock()
	select {
	case <-wr.done:
		return wr.rows, wr.err
	case <-ctx.Done():
		// The write may still be committed; the caller treats it as failed.
		return 0, ctx.Err()
	}
}

// close commits what is queued and stops the writer.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.exit
}

func (w *writer) run() {
	defer close(w.exit)
	defer func() {
		for _, s := range w.stmts {
			s.Close()
		}
	}()
	for first := range w.queue {
		batch := []*write{first}
	more:
		for len(batch) < maxBatch {
			select {
			case wr, ok := <-w.queue:
				if !ok {
					break more
				}
				batch = append(batch, wr)
			default:
				break more
			}
		}
		w.commit(batch)
		for _, wr := range batch {
			close(wr.done)
		}
	}
}

// commit writes a batch in one transaction. Should anything in it fail, the
// transaction is rolled back and each write is tried on its own, so a write
// fails only for its own reason.
func (w *writer) commit(batch []*write) {
	ctx := context.Background()
	if len(batch) > 1 {
		if w.commitTogether(ctx, batch) == nil {
			w.commits.Add(1)
			return
		}
	}
	for _, wr := range batch {
		wr.rows, wr.err = 0, nil
		if len(wr.stmts) > 1 {
			if wr.err = w.commitTogether(ctx, []*write{wr}); wr.err == nil {
				w.commits.Add(1)
			}
			continue
		}
		st, err := w.stmt(ctx, wr.stmts[0].query)
		if err != nil {
			wr.err = err
			continue
		}
		res, err := st.ExecContext(ctx, wr.stmts[0].args...)
		if err != nil {
			wr.err = err
			continue
		}
		wr.rows, _ = res.RowsAffected()
		w.commits.Add(1)
	}
}

func (w *writer) commitTogether(ctx context.Context, batch []*write) error {
	// Prepare before the transaction holds a connection: preparing needs one too.
	var prepared []*sql.Stmt
	for _, wr := range batch {
		for _, q := range wr.stmts {
			st, err := w.stmt(ctx, q.query)
			if err != nil {
				return err
			}
			prepared = append(prepared, st)
		}
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	k := 0
	for _, wr := range batch {
		for _, q := range wr.stmts {
			res, err := tx.StmtContext(ctx, prepared[k]).ExecContext(ctx, q.args...)
			k++
			if err != nil {
				_ = tx.Rollback()
				return err
			}
			wr.rows, _ = res.RowsAffected()
		}
	}
	return tx.Commit()
}

// stmt returns the query prepared (database/sql prepares it again on each
// connection it runs on, once): parsing SQL is a good part of a small write.
func (w *writer) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.db.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}
