package metrics

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// TestWrappedRecorderStillCommits: the program's recorder, metrics around the
// console's tap around SQLite, is a resetflow.Committer that keeps the SQLite
// store's writes (so the engine commits once per step) and counts the events
// it commits, those of a commit over the daily limit included.
func TestWrappedRecorderStillCommits(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "bot.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cs, err := db.Console(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := New(nil, nil)
	rec := m.Recorder((&console.Tap{Store: cs}).Recorder(db))
	c, ok := rec.(resetflow.Committer)
	if !ok || !c.Keeps(db) || c.Keeps(resetflow.NewMemoryStore()) {
		t.Fatalf("the wrapped recorder does not commit with its store (committer %v)", ok)
	}
	u := resetflow.User{ID: "u1", UPN: "u1@x"}
	now := time.Now()
	begin := func(flow string) *resetflow.BeginReset {
		return &resetflow.BeginReset{Reset: resetflow.InFlight{Flow: flow, User: u, Started: now}, Since: now.Add(-time.Hour), Limit: 1}
	}
	ev := func(flow string) []resetflow.Event {
		return []resetflow.Event{{Time: now, Flow: flow, Step: string(resetflow.StepConfirm), Platform: "slack", UserID: u.ID}}
	}
	if err := c.Commit(ctx, resetflow.Commit{Events: ev("a"), Begin: begin("a")}); err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(ctx, resetflow.Commit{Events: ev("b"), Begin: begin("b")}); !errors.Is(err, resetflow.ErrLimitReached) {
		t.Fatalf("over the limit: %v", err)
	}
	if n, _ := db.ResetsSince(ctx, u.Key(), now.Add(-time.Hour)); n != 1 {
		t.Fatalf("%d resets begun, want 1", n)
	}
	if out := scrape(t, m); !strings.Contains(out, `passcodebot_conversation_steps_total{outcome="",step="confirm"} 2`) {
		t.Errorf("confirmations not counted:\n%s", out)
	}
	// A recorder that does not commit is not made one by the wrapper.
	if c, ok := m.Recorder(nopRec{}).(resetflow.Committer); ok && c.Keeps(db) {
		t.Fatal("a wrapper of a plain recorder claims to keep the store")
	}
}
