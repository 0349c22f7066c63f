// Package storetest is the conformance suite of resetflow.Store: every store
// (in memory, SQLite, PostgreSQL) runs it, so they agree on what the engine
// relies on, above all the daily limit checked and counted in one atomic step.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Open returns two stores on one database (two connections, as two processes
// would have), empty. Stores without a database may return the same store twice.
type Open func(t *testing.T) (a, b resetflow.Store)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// Run runs the suite.
func Run(t *testing.T, open Open) {
	t.Run("limit", func(t *testing.T) { testLimit(t, open) })
	t.Run("limit raced by two handles", func(t *testing.T) { testLimitRace(t, open) })
	t.Run("limit raced by two handles in commits", func(t *testing.T) { testCommitLimitRace(t, open) })
	t.Run("delivered and ended", func(t *testing.T) { testDelivered(t, open) })
}

func inflight(flow, user string, at time.Time) resetflow.InFlight {
	return resetflow.InFlight{Flow: flow, Address: resetflow.Address{Platform: "slack", UserID: "U" + user, Channel: "D" + user}, Locale: "ja",
		User: resetflow.User{ID: user, UPN: user + "@x"}, Device: resetflow.Device{ID: "d-" + flow, Name: "Phone", Mode: resetflow.ModeAOSP},
		Outcome: resetflow.OutcomeAndroidTemporary, Started: at}
}

// testLimit: BeginReset refuses (ErrLimitReached, nothing recorded) once the
// user has limit resets since the given time; older ones and other users' do not count.
func testLimit(t *testing.T, open Open) {
	ctx := context.Background()
	s, _ := open(t)
	since := t0.Add(-24 * time.Hour)
	if err := s.BeginReset(ctx, inflight("old", "u1", since.Add(-time.Minute)), since.Add(-time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := s.BeginReset(ctx, inflight(fmt.Sprint("f", i), "u1", t0.Add(time.Duration(i)*time.Minute)), since, 3); err != nil {
			t.Fatalf("reset %d of 3: %v", i+1, err)
		}
	}
	if err := s.BeginReset(ctx, inflight("f4", "u1", t0.Add(time.Hour)), since, 3); !errors.Is(err, resetflow.ErrLimitReached) {
		t.Fatalf("fourth reset: %v, want ErrLimitReached", err)
	}
	if n, err := s.ResetsSince(ctx, "u1", since); err != nil || n != 3 {
		t.Errorf("ResetsSince = %d, %v; want 3 (the refused one recorded nothing)", n, err)
	}
	list, _ := s.InFlight(ctx)
	for _, r := range list {
		if r.Flow == "f4" {
			t.Errorf("the refused reset is in flight")
		}
	}
	if err := s.BeginReset(ctx, inflight("g", "u2", t0), since, 3); err != nil {
		t.Errorf("another user: %v", err)
	}
	// A day later the window has moved past them.
	if err := s.BeginReset(ctx, inflight("f5", "u1", t0.Add(25*time.Hour)), t0.Add(time.Hour+time.Second), 3); err != nil {
		t.Errorf("a day later: %v", err)
	}
}

// testLimitRace: many BeginResets for one user on two handles at once record
// exactly the limit.
func testLimitRace(t *testing.T, open Open) {
	a, b := open(t)
	raceLimit(t, []func(resetflow.InFlight, time.Time, int) error{
		func(r resetflow.InFlight, since time.Time, limit int) error {
			return a.BeginReset(context.Background(), r, since, limit)
		},
		func(r resetflow.InFlight, since time.Time, limit int) error {
			return b.BeginReset(context.Background(), r, since, limit)
		},
	})
}

// testCommitLimitRace: the same, each reset begun in a resetflow.Commit with
// its confirmation, for stores that are Committers (the others skip).
func testCommitLimitRace(t *testing.T, open Open) {
	a, b := open(t)
	var begin []func(resetflow.InFlight, time.Time, int) error
	for _, s := range []resetflow.Store{a, b} {
		c, ok := s.(resetflow.Committer)
		if !ok {
			t.Skip("not a Committer")
		}
		begin = append(begin, func(r resetflow.InFlight, since time.Time, limit int) error {
			ev := resetflow.Event{Time: r.Started, Flow: r.Flow, Step: string(resetflow.StepConfirm), UserID: r.User.ID}
			return c.Commit(context.Background(), resetflow.Commit{Events: []resetflow.Event{ev},
				Begin: &resetflow.BeginReset{Reset: r, Since: since, Limit: limit}})
		})
	}
	raceLimit(t, begin)
}

func raceLimit(t *testing.T, begin []func(r resetflow.InFlight, since time.Time, limit int) error) {
	const limit, tries = 3, 30
	for round := range 3 {
		user := fmt.Sprint("r", round)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		start := make(chan struct{})
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				err := begin[i%2](inflight(fmt.Sprint(user, "-", i), user, t0), t0.Add(-24*time.Hour), limit)
				if err != nil && !errors.Is(err, resetflow.ErrLimitReached) {
					t.Errorf("begin reset: %v", err)
				}
				if err == nil {
					mu.Lock()
					ok++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok != limit {
			t.Fatalf("round %d: %d resets begun against a limit of %d", round, ok, limit)
		}
	}
}

// testDelivered: a reset marked delivered is listed with Delivered set (by the
// other handle too), and an ended one is not listed.
func testDelivered(t *testing.T, open Open) {
	ctx := context.Background()
	a, b := open(t)
	for _, f := range []string{"x", "y", "z"} {
		if err := a.BeginReset(ctx, inflight(f, "u-"+f, t0), t0.Add(-time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.MarkDelivered(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if err := a.MarkDelivered(ctx, "x"); err != nil {
		t.Errorf("marking twice: %v", err)
	}
	if err := a.EndReset(ctx, "z", "done"); err != nil {
		t.Fatal(err)
	}
	list, err := b.InFlight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]resetflow.InFlight{}
	for _, r := range list {
		got[r.Flow] = r
	}
	want := inflight("x", "u-x", t0)
	if len(got) != 2 || !got["x"].Delivered || got["y"].Delivered {
		t.Fatalf("in flight %+v; want x (delivered) and y", list)
	}
	if x := got["x"]; x.Address != want.Address || x.Locale != "ja" || x.User != want.User || x.Device.Mode != want.Device.Mode ||
		x.Outcome != want.Outcome || !x.Started.Equal(t0) {
		t.Errorf("in flight x = %+v; want %+v", x, want)
	}
}
