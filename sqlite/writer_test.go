package sqlite

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestConcurrentWritesAllCommit: many writers at once never see SQLITE_BUSY;
// every write is committed when it returns.
func TestConcurrentWritesAllCommit(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	const n = 200
	writes0, commits0 := db.Writes(), db.Commits()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			if err := db.Record(ctx, resetflow.Event{Time: t0, Flow: fmt.Sprint(i), Step: "request"}); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("record: %v", err)
	}
	got, err := db.Events(ctx, Filter{})
	if err != nil || len(got) != n {
		t.Fatalf("%d events, %v; want %d", len(got), err, n)
	}
	// The counters /metrics shows: every write counted once, and the commits
	// (one WAL sync each) no more than the writes.
	if w, c := db.Writes()-writes0, db.Commits()-commits0; w != n || c < 1 || c > n {
		t.Errorf("%d writes and %d commits counted; want %d writes in 1 to %d commits", w, c, n, n)
	}
}

// TestBatchFailureIsolated: a write that fails in a shared transaction fails
// alone; the others of its batch are committed.
func TestBatchFailureIsolated(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if err := db.BeginReset(ctx, resetflow.InFlight{Flow: "dup", User: resetflow.User{ID: "u"}, Started: t0}, t0.Add(-24*time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	mk := func(q string, args ...any) *write {
		return &write{stmts: []statement{{q, args}}, done: make(chan struct{})}
	}
	batch := []*write{
		mk(`INSERT INTO events (time, step) VALUES (?, ?)`, ts(t0), "a"),
		mk(`INSERT INTO resets (flow, user_id, started, data) VALUES (?, ?, ?, ?)`, "dup", "u", ts(t0), "{}"),
		mk(`INSERT INTO events (time, step) VALUES (?, ?)`, ts(t0), "b"),
	}
	db.w.commit(batch)
	if batch[0].err != nil || batch[2].err != nil || batch[1].err == nil {
		t.Fatalf("errors %v, %v, %v; want only the duplicate to fail", batch[0].err, batch[1].err, batch[2].err)
	}
	if batch[0].rows != 1 || batch[2].rows != 1 {
		t.Errorf("rows affected %d, %d; want 1, 1", batch[0].rows, batch[2].rows)
	}
	got, _ := db.Events(ctx, Filter{})
	if len(got) != 2 {
		t.Errorf("%d events committed, want 2", len(got))
	}
}

// TestWritesAfterCloseFail: a closed database refuses writes instead of hanging.
func TestWritesAfterCloseFail(t *testing.T) {
	db, _ := open(t)
	db.Close()
	if err := db.Record(context.Background(), resetflow.Event{Time: t0, Step: "x"}); err == nil {
		t.Fatal("record after close succeeded")
	}
}
