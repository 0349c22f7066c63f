package app

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// TestRecentResetsFromTheAuditTrail: the App Home's list is the person's results
// of the last 30 days from the audit trail, with device names, never another's.
func TestRecentResetsFromTheAuditTrail(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(now)
	fl, err := fleet.Load(fleet.Demo(), clk, 0)
	if err != nil {
		t.Fatal(err)
	}
	alice := "alice@contoso.example"
	for _, ev := range []resetflow.Event{
		{Time: now.Add(-40 * 24 * time.Hour), Step: "result", UserUPN: alice, DeviceID: "dev-alice-lumia", Outcome: "done"},
		{Time: now.Add(-2 * time.Hour), Step: "result", UserUPN: alice, DeviceID: "dev-alice-pixel", Outcome: "done", Detail: ""},
		{Time: now.Add(-time.Hour), Step: "result", UserUPN: alice, DeviceID: "dev-alice-iphone", Outcome: "failed"},
		{Time: now.Add(-time.Hour), Step: "confirm", UserUPN: alice, DeviceID: "dev-alice-iphone"},
		{Time: now.Add(-time.Hour), Step: "result", UserUPN: "bob@contoso.example", DeviceID: "dev-bob-lumia635", Outcome: "done"},
	} {
		if err := db.Record(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	var st store = db
	got, err := recentResets(&st, fl, fl, clk)(ctx, alice)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Device != "Alice's Pixel 8" || !got[0].Done || got[1].Device != "Alice's iPhone" || got[1].Done {
		t.Fatalf("recent resets = %+v", got)
	}
	var none store
	if got, err := recentResets(&none, fl, fl, clk)(ctx, alice); err != nil || got != nil {
		t.Errorf("before the database is open: %v %v", got, err)
	}
}
