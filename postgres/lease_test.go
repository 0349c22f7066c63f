package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

var fast = postgres.LeaseConfig{TTL: 2 * time.Second, Renew: 200 * time.Millisecond, Poll: 50 * time.Millisecond}

func inflight(flow, user string) resetflow.InFlight {
	return resetflow.InFlight{Flow: flow, User: resetflow.User{ID: user, UPN: user + "@contoso.example"}, Started: time.Now()}
}

func openURL(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// acquireAsync tries to lead in the background.
func acquireAsync(db *postgres.DB, cfg postgres.LeaseConfig) (<-chan *postgres.Leadership, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan *postgres.Leadership, 1)
	go func() {
		l, err := db.Acquire(ctx, cfg)
		if err == nil {
			ch <- l
		}
		close(ch)
	}()
	return ch, cancel
}

func TestLeaseOneLeaderAndCleanHandover(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openURL(t, url), openURL(t, url)
	a.RequireLease()
	b.RequireLease()
	ctx := context.Background()
	if err := b.BeginReset(ctx, inflight("f0", "u0"), time.Now().Add(-time.Hour), 3); !errors.Is(err, postgres.ErrNotLeader) {
		t.Fatalf("a standby began a reset: %v", err)
	}
	la, err := a.Acquire(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	ch, cancel := acquireAsync(b, fast)
	defer cancel()
	// b stays a standby while a renews, for longer than a TTL.
	select {
	case <-ch:
		t.Fatal("a second leader while the first renews")
	case <-time.After(2 * fast.TTL):
	}
	if err := a.BeginReset(ctx, inflight("f1", "u1"), time.Now().Add(-time.Hour), 3); err != nil {
		t.Fatalf("the leader can't begin a reset: %v", err)
	}
	start := time.Now()
	if err := la.Release(ctx); err != nil {
		t.Fatal(err)
	}
	var lb *postgres.Leadership
	select {
	case lb = <-ch:
	case <-time.After(fast.TTL):
		t.Fatal("the standby did not lead after a release")
	}
	t.Logf("handover after a release: %v", time.Since(start))
	if lb.Token != la.Token+1 {
		t.Fatalf("fencing tokens: %d then %d", la.Token, lb.Token)
	}
	if err := a.BeginReset(ctx, inflight("f2", "u2"), time.Now().Add(-time.Hour), 3); !errors.Is(err, postgres.ErrNotLeader) {
		t.Fatalf("the old leader began a reset: %v", err)
	}
	if la.Context().Err() == nil {
		t.Fatal("a released leadership's context is still live")
	}
	lb.Release(ctx)
}

func TestLeaseTakenOverFencesTheOldLeader(t *testing.T) {
	url := pgtest.Database(t)
	a, b := openURL(t, url), openURL(t, url)
	ctx := context.Background()
	slow := fast
	slow.Renew = time.Hour // a leader that stalls: it never renews
	la, err := a.Acquire(ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	lb, err := b.Acquire(ctx, fast) // waits for the expiry
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Release(ctx)
	// Before a notices, the database refuses its leader-only writes.
	if err := a.MarkDelivered(ctx, "f"); !errors.Is(err, postgres.ErrNotLeader) {
		t.Fatalf("a deposed leader marked a delivery: %v", err)
	}
	if err := a.BeginReset(ctx, inflight("f1", "u1"), time.Now().Add(-time.Hour), 3); !errors.Is(err, postgres.ErrNotLeader) {
		t.Fatalf("a deposed leader began a reset: %v", err)
	}
	select {
	case <-la.Context().Done():
	case <-time.After(fast.TTL):
		t.Fatal("the stalled leader did not stop at its local deadline")
	}
}

func TestLeaseLostWhenTheDatabaseGoesAway(t *testing.T) {
	srv := pgtest.Start(t)
	url := srv.NewDatabase(t)
	a := openURL(t, url)
	ctx := context.Background()
	la, err := a.Acquire(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	select {
	case <-la.Context().Done():
		if took := time.Since(start); took > fast.TTL {
			t.Fatalf("stopped acting after %v, later than the TTL %v", took, fast.TTL)
		}
		t.Logf("leader stopped acting %v after the database went away", time.Since(start))
	case <-time.After(2 * fast.TTL):
		t.Fatal("the leader went on without its database")
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	b := openURL(t, url)
	lb, err := b.Acquire(ctx, fast)
	if err != nil {
		t.Fatal(err)
	}
	if lb.Token != la.Token+1 {
		t.Fatalf("tokens %d then %d", la.Token, lb.Token)
	}
	lb.Release(ctx)
}
