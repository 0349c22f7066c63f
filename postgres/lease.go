package postgres

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// LeaseConfig tunes the leader lease. Zero values take the defaults.
type LeaseConfig struct {
	Name   string        // the lease's row; replicas of one bot share it (default "passcodebot")
	TTL    time.Duration // how long a renewal holds the lease (default 10s): a killed leader is replaced after at most this
	Renew  time.Duration // how often the leader renews (default 1s)
	Poll   time.Duration // how often a standby tries to take the lease (default 250ms)
	Margin time.Duration // how long before the lease's end the leader stops acting without a renewal (default TTL/5)
	Log    *slog.Logger
}

func (c *LeaseConfig) defaults() {
	if c.Name == "" {
		c.Name = "passcodebot"
	}
	if c.TTL <= 0 {
		c.TTL = 10 * time.Second
	}
	if c.Renew <= 0 {
		c.Renew = time.Second
	}
	if c.Poll <= 0 {
		c.Poll = 250 * time.Millisecond
	}
	if c.Margin <= 0 {
		c.Margin = c.TTL / 5
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
}

// Leadership is a held lease. Done closes when it is lost: the leader must then
// stop acting at once (it is not renewed, or someone else holds it).
type Leadership struct {
	d      *DB
	cfg    LeaseConfig
	holder string
	Token  int64 // the fencing token: it grows at every change of leader

	ctx    context.Context
	lose   context.CancelCauseFunc
	valid  atomic.Bool
	stop   chan struct{}
	exited chan struct{}
	once   sync.Once
}

// Context ends when the leadership is lost or released.
func (l *Leadership) Context() context.Context { return l.ctx }

// RequireLease makes the writes only a leader may do (BeginReset, MarkDelivered)
// fail with ErrNotLeader until this process holds the lease: a replica that
// does not lead never begins a reset, even by mistake.
func (d *DB) RequireLease() { d.fence.Store(&fence{}) }

// Acquire waits until this process holds the lease, or ctx ends. The lease
// is a row with an expiry in the database's clock and a fencing token; taking
// it over is one statement, so two standbys never both win. It uses a pool of
// its own, so a busy store never delays a renewal.
func (d *DB) Acquire(ctx context.Context, cfg LeaseConfig) (*Leadership, error) {
	cfg.defaults()
	// One connection, any one: the lease is a row, bound to no session.
	pool := sql.OpenDB(d.conn)
	pool.SetMaxOpenConns(1)
	pool.SetMaxIdleConns(1)
	holder := holderID()
	for {
		tok, ok, err := tryAcquire(ctx, pool, cfg, holder)
		if err != nil && ctx.Err() == nil {
			cfg.Log.Warn("standby: the leader lease can't be read; trying again", "err", err)
		}
		if ok {
			l := &Leadership{d: d, cfg: cfg, holder: holder, Token: tok, stop: make(chan struct{}), exited: make(chan struct{})}
			l.ctx, l.lose = context.WithCancelCause(context.Background())
			l.valid.Store(true)
			d.fence.Store(&fence{name: cfg.Name, holder: holder, token: tok, valid: &l.valid})
			go l.keep(pool, time.Now().Add(cfg.TTL-cfg.Margin))
			return l, nil
		}
		select {
		case <-ctx.Done():
			pool.Close()
			return nil, ctx.Err()
		case <-time.After(cfg.Poll):
		}
	}
}

func holderID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

func secs(d time.Duration) float64 { return d.Seconds() }

func tryAcquire(ctx context.Context, pool *sql.DB, cfg LeaseConfig, holder string) (int64, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.TTL-cfg.Margin)
	defer cancel()
	rows, err := pool.QueryContext(ctx, `INSERT INTO leases (name, holder, token, expires) VALUES ($1, $2, 1, now() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, token = leases.token + 1, expires = excluded.expires
		WHERE leases.expires <= now()
		RETURNING token`, cfg.Name, holder, secs(cfg.TTL))
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	var tok int64
	got := false
	for rows.Next() {
		if err := rows.Scan(&tok); err != nil {
			return 0, false, err
		}
		got = true
	}
	return tok, got, rows.Err()
}

// ErrLeaseLost is the cause of a Leadership's context when it was lost.
var ErrLeaseLost = errors.New("postgres: the leader lease was lost")

// keep renews the lease until it is released or lost. validUntil is when the
// leader must stop without a renewal: a renewal begun at t holds the lease in
// the database until at least t+TTL, so stopping at t+TTL-Margin (Margin for
// clock rate differences) means no two leaders ever act at once.
func (l *Leadership) keep(pool *sql.DB, validUntil time.Time) {
	defer close(l.exited)
	// Closing waits for a renewal stuck on a cut network; nobody needs to wait for that.
	defer func() { go pool.Close() }()
	deadline := time.NewTimer(time.Until(validUntil))
	defer deadline.Stop()
	type result struct {
		began time.Time
		ok    bool
		err   error
	}
	results := make(chan result, 1)
	renewing := false
	tick := time.NewTicker(l.cfg.Renew)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-deadline.C:
			l.lost("the lease was not renewed in time (database unreachable?)")
			return
		case r := <-results:
			renewing = false
			switch {
			case r.err != nil:
				l.cfg.Log.Warn("leader: renewing the lease failed; trying again", "err", r.err)
			case !r.ok:
				l.lost("another replica holds the lease")
				return
			default:
				validUntil = r.began.Add(l.cfg.TTL - l.cfg.Margin)
				deadline.Reset(time.Until(validUntil))
			}
		case <-tick.C:
			if renewing {
				continue
			}
			renewing = true
			began := time.Now()
			go func() {
				ctx, cancel := context.WithDeadline(context.Background(), validUntil)
				defer cancel()
				res, err := pool.ExecContext(ctx, `UPDATE leases SET expires = now() + make_interval(secs => $4)
					WHERE name = $1 AND holder = $2 AND token = $3 AND expires > now()`, l.cfg.Name, l.holder, l.Token, secs(l.cfg.TTL))
				var n int64
				if err == nil {
					n, err = res.RowsAffected()
				}
				results <- result{began: began, ok: err == nil && n == 1, err: err}
			}()
		}
	}
}

func (l *Leadership) lost(why string) {
	l.valid.Store(false)
	l.d.abandoned.Store(true)
	l.cfg.Log.Error("leader: lost the leader lease; stopping at once", "reason", why, "fence", l.Token)
	l.lose(ErrLeaseLost)
}

// Release gives the lease up (after the leader has stopped acting), so a
// standby takes over at its next poll instead of after the lease's expiry.
func (l *Leadership) Release(ctx context.Context) error {
	var err error
	l.once.Do(func() {
		held := l.valid.Swap(false)
		close(l.stop)
		<-l.exited
		l.lose(context.Canceled)
		if !held {
			err = ErrLeaseLost // nothing to give up, and the database may be out of reach
			return
		}
		ctx, cancel := context.WithTimeout(ctx, l.cfg.TTL-l.cfg.Margin)
		defer cancel()
		_, err = l.d.db.ExecContext(ctx, `UPDATE leases SET expires = now() WHERE name = $1 AND holder = $2 AND token = $3 AND expires > now()`, l.cfg.Name, l.holder, l.Token)
	})
	return err
}
