package postgres

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/postgres/pgtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// dropProxy forwards TCP to the server until Cut; then it reads and drops
// everything, both ways, closing nothing: a network that loses packets.
type dropProxy struct {
	ln  net.Listener
	cut atomic.Bool
	wg  sync.WaitGroup
}

func newDropProxy(t *testing.T, target string) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln}
	var conns []net.Conn
	var mu sync.Mutex
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		p.wg.Wait()
	})
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, s)
			go p.pipe(s, c)
		}
	}()
	return p
}

func (p *dropProxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		if p.cut.Load() {
			continue
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

// viaProxy opens the store through a dropProxy.
func viaProxy(t *testing.T) (*DB, *dropProxy) {
	t.Helper()
	base := pgtest.Database(t)
	u, _ := url.Parse(base)
	p := newDropProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	d, err := Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.abandoned.Store(true); d.Close() })
	return d, p
}

// within runs call with a context that ends after 300 ms and checks it
// returns the context's error soon after: lib/pq alone would wait for the
// server's reply to its cancel request, on a network that drops it.
func within(t *testing.T, what string, call func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- call(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: %v, want the context's error", what, err)
		}
		t.Logf("%s returned %v after the cut", what, time.Since(start).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		t.Fatalf("%s still waits on the cut network 20 s later", what)
	}
}

func TestContextEndsCallsOnACutNetwork(t *testing.T) {
	d, p := viaProxy(t)
	ctx := context.Background()
	r := resetflow.InFlight{Flow: "f1", User: resetflow.User{ID: "u1"}, Started: time.Now()}
	if err := d.BeginReset(ctx, r, time.Now().Add(-time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	p.cut.Store(true)
	within(t, "a query", func(ctx context.Context) error { _, err := d.InFlight(ctx); return err })
	within(t, "a transaction", func(ctx context.Context) error {
		return d.BeginReset(ctx, inflightFor("f2", "u2"), time.Now().Add(-time.Hour), 3)
	})
	within(t, "inTx", func(ctx context.Context) error {
		return d.inTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `SELECT 1`)
			return err
		})
	})
	within(t, "a ping on a new connection", func(ctx context.Context) error {
		c, err := d.db.Conn(ctx) // the pool's connections are gone: this one connects through the cut
		if err != nil {
			return err
		}
		defer c.Close()
		return c.PingContext(ctx)
	})
	// The network back, the store works again: the connections cut off are
	// not reused (their sockets' deadlines are past).
	p.cut.Store(false)
	ctx5, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for i := 0; i < 8; i++ { // more calls than the pool has connections
		if _, err := d.InFlight(ctx5); err != nil {
			t.Fatalf("after the cut, call %d: %v", i, err)
		}
	}
	if err := d.BeginReset(ctx5, inflightFor("f3", "u3"), time.Now().Add(-time.Hour), 3); err != nil {
		t.Fatalf("after the cut: %v", err)
	}
}

// TestContextEndsRowsOnACutNetwork: rows being read when the network goes
// keep their watch until closed.
func TestContextEndsRowsOnACutNetwork(t *testing.T) {
	d, p := viaProxy(t)
	within(t, "reading rows", func(ctx context.Context) error {
		rows, err := d.db.QueryContext(ctx, `SELECT i FROM generate_series(1, 5000000) i`)
		if err != nil {
			return err
		}
		defer rows.Close()
		p.cut.Store(true) // mid-reply
		for rows.Next() {
		}
		return errors.Join(rows.Err(), rows.Close(), ctx.Err())
	})
}

func inflightFor(flow, user string) resetflow.InFlight {
	return resetflow.InFlight{Flow: flow, User: resetflow.User{ID: user}, Started: time.Now()}
}
