package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/storetest"
)

// TestDailyLimitAcrossProcesses: two handles on one file (as two processes on
// one database) race to begin resets for one user; never more than the limit
// are recorded, and every refusal is ErrLimitReached.
func TestDailyLimitAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "bot.db")
	var dbs [2]*DB
	for i := range dbs {
		db, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	const limit, tries = 3, 40
	u := resetflow.User{ID: "u1", UPN: "a@x"}
	for round := 0; round < 5; round++ {
		user := u
		user.ID = fmt.Sprintf("u%d", round)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ok, ref int
			start   = make(chan struct{})
		)
		for i := 0; i < tries; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := resetflow.InFlight{Flow: fmt.Sprintf("f%d-%d", round, i), User: user, Started: t0.Add(time.Duration(i) * time.Millisecond)}
				err := dbs[i%2].BeginReset(ctx, r, t0.Add(-24*time.Hour), limit)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, resetflow.ErrLimitReached):
					ref++
				default:
					t.Errorf("begin reset: %v", err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if ok != limit || ref != tries-limit {
			t.Fatalf("round %d: %d begun, %d refused; want %d and %d", round, ok, ref, limit, tries-limit)
		}
		for _, db := range dbs {
			if n, err := db.ResetsSince(ctx, user.Key(), t0.Add(-24*time.Hour)); err != nil || n != limit {
				t.Fatalf("round %d: counted %d (%v), want %d", round, n, err, limit)
			}
		}
	}
	// Resets older than the window do not count.
	r := resetflow.InFlight{Flow: "late", User: resetflow.User{ID: "u0"}, Started: t0.Add(25 * time.Hour)}
	if err := dbs[1].BeginReset(ctx, r, t0.Add(time.Hour), limit); err != nil {
		t.Fatalf("a day later: %v", err)
	}
}

// TestMarkDeliveredSurvivesReopen: a reset marked delivered is listed as such
// after a restart, so the engine does not show its passcode again.
func TestMarkDeliveredSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	db, p := open(t)
	for _, f := range []string{"a", "b"} {
		if err := db.BeginReset(ctx, resetflow.InFlight{Flow: f, User: resetflow.User{ID: "u"}, Started: t0}, t0.Add(-time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.MarkDelivered(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.InFlight(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("in flight: %+v %v", got, err)
	}
	for _, r := range got {
		if r.Delivered != (r.Flow == "a") {
			t.Errorf("%s: delivered=%v", r.Flow, r.Delivered)
		}
	}
}

// TestMigrateAddsDelivered: a file made before the delivered column opens and gains it.
func TestMigrateAddsDelivered(t *testing.T) {
	ctx := context.Background()
	db, p := open(t)
	if _, err := db.db.Exec(`ALTER TABLE resets DROP COLUMN delivered`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if err := db2.BeginReset(ctx, resetflow.InFlight{Flow: "x", User: resetflow.User{ID: "u"}, Started: t0}, t0.Add(-time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	if err := db2.MarkDelivered(ctx, "x"); err != nil {
		t.Fatal(err)
	}
}

// TestKeptAlertsSurviveReopen: alerts kept at stop are read back after a
// restart, in order and whole; keeping none forgets them.
func TestKeptAlertsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	db, p := open(t)
	dev := &resetflow.Device{ID: "d1", Name: "Phone"}
	in := []resetflow.Alert{
		{ID: "a1", Kind: resetflow.AlertDeliveryFailed, Time: t0, Platform: "slack", ChatUser: "U1", User: resetflow.User{ID: "u1", UPN: "a@x"}, Device: dev, Detail: "delivery=failed"},
		{ID: "a2", Kind: resetflow.AlertsFolded, Time: t0.Add(time.Minute), Repeats: 40, Since: t0},
	}
	if err := db.KeepAlerts(ctx, "slack", in); err != nil {
		t.Fatal(err)
	}
	if err := db.KeepAlerts(ctx, "discord", in[:1]); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.KeptAlerts(ctx, "slack")
	if err != nil || len(got) != 2 || got[0].ID != "a1" || got[0].Device.ID != "d1" || got[0].User.UPN != "a@x" ||
		got[1].Repeats != 40 || !got[1].Since.Equal(t0) || got[1].Kind != resetflow.AlertsFolded {
		t.Fatalf("kept after reopen: %+v %v", got, err)
	}
	if err := db2.KeepAlerts(ctx, "slack", nil); err != nil {
		t.Fatal(err)
	}
	if got, _ := db2.KeptAlerts(ctx, "slack"); len(got) != 0 {
		t.Errorf("kept after clearing: %+v", got)
	}
	if got, _ := db2.KeptAlerts(ctx, "discord"); len(got) != 1 {
		t.Errorf("another channel's alerts were touched: %+v", got)
	}
}

// TestStoreConformance: the Store suite, with two handles on one file.
func TestStoreConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) (resetflow.Store, resetflow.Store) {
		p := filepath.Join(t.TempDir(), "bot.db")
		var out [2]resetflow.Store
		for i := range out {
			db, err := Open(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			out[i] = db
		}
		return out[0], out[1]
	})
}
