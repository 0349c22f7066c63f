package postgres

import (
	"context"
	"database/sql/driver"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lib/pq"
)

// lib/pq answers a context that ends by sending the server a cancel request
// (over a new connection) and then waits for the server's reply on the
// query's connection: on a network that drops packets (a leader cut from the
// database) that wait lasts until TCP gives up, minutes, where pgx returned
// at once. So every call with a context is watched here: when the context
// ends first, the connection's socket gets a deadline in the past, the call
// returns at once with the context's error, and the connection is thrown
// away (database/sql asks IsValid before reusing one). A query's watch lasts
// until its rows are closed, a transaction's until it commits or rolls back.

// ctxConnector is lib/pq's connector with its connections watched.
type ctxConnector struct{ pq *pq.Connector }

func newConnector(dsn string) (*ctxConnector, error) {
	c, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	c.Dialer(slotDialer{})
	return &ctxConnector{pq: c}, nil
}

func (c *ctxConnector) Driver() driver.Driver { return c.pq.Driver() }

// Connect opens a connection; a context that ends while it connects ends the
// connecting too.
func (c *ctxConnector) Connect(ctx context.Context) (driver.Conn, error) {
	s := &socketSlot{}
	stop := context.AfterFunc(ctx, s.expire)
	dc, err := c.pq.Connect(context.WithValue(ctx, slotKey{}, s))
	if !stop() {
		if err == nil {
			dc.Close()
		}
		return nil, fmt.Errorf("%w (connecting: %v)", ctx.Err(), err)
	}
	if err != nil {
		return nil, err
	}
	conn, ok := dc.(pqConn)
	nc := s.get()
	if !ok || nc == nil {
		dc.Close()
		return nil, fmt.Errorf("postgres: lib/pq's connection (%T) can't be watched", dc)
	}
	return &ctxConn{pqConn: conn, socket: nc}, nil
}

// slotKey carries a socketSlot from Connect to the dialer.
type slotKey struct{}

// socketSlot is the socket a connection was dialled on (the last one, when
// lib/pq dials again: sslmode=prefer falling back, several hosts).
type socketSlot struct {
	mu      sync.Mutex
	conn    net.Conn
	expired bool
}

var past = time.Unix(1, 0)

func (s *socketSlot) set(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = c
	if s.expired {
		c.SetDeadline(past)
	}
}

func (s *socketSlot) get() net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

func (s *socketSlot) expire() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expired = true
	if s.conn != nil {
		s.conn.SetDeadline(past)
	}
}

// slotDialer is lib/pq's default dialer, telling Connect which socket it made.
// (lib/pq's cancel requests dial through it too, without a slot.)
type slotDialer struct{ d net.Dialer }

func (d slotDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d slotDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d slotDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, network, address)
	if err == nil {
		if s, ok := ctx.Value(slotKey{}).(*socketSlot); ok {
			s.set(c)
		}
	}
	return c, err
}

// pqConn is what lib/pq's connection implements and database/sql uses.
type pqConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.QueryerContext
	driver.ExecerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
	driver.NamedValueChecker
}

type ctxConn struct {
	pqConn
	socket net.Conn
	broken atomic.Bool // a watch fired: the socket's deadline is past
}

// watch arms the deadline for ctx; done disarms it and, when it fired,
// returns ctx's error wrapping err.
func (c *ctxConn) watch(ctx context.Context) (done func(err error) error) {
	if ctx.Done() == nil {
		return func(err error) error { return err }
	}
	stop := context.AfterFunc(ctx, func() {
		c.broken.Store(true)
		c.socket.SetDeadline(past)
	})
	var once sync.Once
	return func(err error) error {
		fired := false
		once.Do(func() { fired = !stop() })
		if fired && err != nil {
			return fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return err
	}
}

func (c *ctxConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if c.broken.Load() {
		return nil, driver.ErrBadConn
	}
	done := c.watch(ctx)
	rows, err := c.pqConn.QueryContext(ctx, query, args)
	if err != nil {
		return nil, done(err)
	}
	return &ctxRows{Rows: rows, done: done}, nil
}

func (c *ctxConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if c.broken.Load() {
		return nil, driver.ErrBadConn
	}
	done := c.watch(ctx)
	res, err := c.pqConn.ExecContext(ctx, query, args)
	return res, done(err)
}

func (c *ctxConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if c.broken.Load() {
		return nil, driver.ErrBadConn
	}
	done := c.watch(ctx)
	st, err := c.pqConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, done(err)
	}
	done(nil)
	ps, ok := st.(pqStmt)
	if !ok {
		st.Close()
		return nil, fmt.Errorf("postgres: lib/pq's statement (%T) can't be watched", st)
	}
	return &ctxStmt{pqStmt: ps, c: c}, nil
}

// pqStmt is what lib/pq's prepared statement implements and database/sql uses.
type pqStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// ctxStmt is a prepared statement whose executions are watched like the
// connection's calls.
type ctxStmt struct {
	pqStmt
	c *ctxConn
}

func (s *ctxStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if s.c.broken.Load() {
		return nil, driver.ErrBadConn
	}
	done := s.c.watch(ctx)
	res, err := s.pqStmt.ExecContext(ctx, args)
	return res, done(err)
}

func (s *ctxStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if s.c.broken.Load() {
		return nil, driver.ErrBadConn
	}
	done := s.c.watch(ctx)
	rows, err := s.pqStmt.QueryContext(ctx, args)
	if err != nil {
		return nil, done(err)
	}
	return &ctxRows{Rows: rows, done: done}, nil
}

func (c *ctxConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.broken.Load() {
		return nil, driver.ErrBadConn
	}
	done := c.watch(ctx)
	tx, err := c.pqConn.BeginTx(ctx, opts)
	if err != nil {
		return nil, done(err)
	}
	return &ctxTx{Tx: tx, done: done}, nil
}

func (c *ctxConn) Ping(ctx context.Context) error {
	if c.broken.Load() {
		return driver.ErrBadConn
	}
	done := c.watch(ctx)
	return done(c.pqConn.Ping(ctx))
}

func (c *ctxConn) ResetSession(ctx context.Context) error {
	if c.broken.Load() {
		return driver.ErrBadConn
	}
	return c.pqConn.ResetSession(ctx)
}

func (c *ctxConn) IsValid() bool { return !c.broken.Load() && c.pqConn.IsValid() }

// ctxRows keeps its query's watch until it is closed (closing reads what is
// left of the reply).
type ctxRows struct {
	driver.Rows
	done func(error) error
}

func (r *ctxRows) Close() error { return r.done(r.Rows.Close()) }

// ctxTx keeps its BEGIN's watch until it ends.
type ctxTx struct {
	driver.Tx
	done func(error) error
}

func (t *ctxTx) Commit() error   { return t.done(t.Tx.Commit()) }
func (t *ctxTx) Rollback() error { return t.done(t.Tx.Rollback()) }
