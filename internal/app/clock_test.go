package app

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

var clockStart = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// TestPruneRunsOnTheInjectedClock: the audit retention prunes at start and
// again a day later by the clock it is given, so a test moves time instead of
// waiting for it.
func TestPruneRunsOnTheInjectedClock(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk := clock.NewFake(clockStart)
	for _, age := range []time.Duration{40 * 24 * time.Hour, 29*24*time.Hour + 12*time.Hour} { // before the start
		if err := db.Record(ctx, resetflow.Event{Time: clockStart.Add(-age), Step: "result", Detail: "age"}); err != nil {
			t.Fatal(err)
		}
	}
	left := func() int {
		t.Helper()
		evs, err := db.Events(ctx, sqlite.Filter{Step: "result"})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	done := make(chan struct{})
	go func() { prune(ctx, clk, db, 30, slog.New(slog.NewTextHandler(io.Discard, nil))); close(done) }()
	clk.WaitForTimers(1) // the first prune is done; prune waits a day
	if n := left(); n != 1 {
		t.Fatalf("%d events left after the first prune; want 1 (the 29½-day-old one)", n)
	}
	clk.Advance(24 * time.Hour)
	clk.WaitForTimers(1) // the second prune is done
	if n := left(); n != 0 {
		t.Fatalf("%d events left a day later; want 0 (the 29½-day-old one is now 30½ days old)", n)
	}
	cancel()
	<-done
}

// TestUnlinkRecordsTheInjectedTime: the unlink subcommand stamps its audit
// event with the clock it is given.
func TestUnlinkRecordsTheInjectedTime(t *testing.T) {
	ctx := context.Background()
	dbPath, cfg := auditConfig(t, func(db *sqlite.DB) error {
		return db.SetLink(ctx, "discord", "123456789012345678", resetflow.User{ID: "u1", UPN: "alice@contoso.example"})
	})
	var stdout, stderr bytes.Buffer
	if code := unlink(ctx, clock.NewFake(clockStart), []string{"-config", cfg, "123456789012345678"}, &stdout, &stderr, nil); code != ExitOK {
		t.Fatalf("unlink = %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "no longer linked") {
		t.Errorf("unlink said %q", stdout.String())
	}
	db, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	evs, err := db.Events(ctx, sqlite.Filter{Step: "unlink"})
	if err != nil || len(evs) != 1 || !evs[0].Time.Equal(clockStart) {
		t.Fatalf("unlink events %+v, %v; want one at %s", evs, err, clockStart)
	}
}

// TestAuditSinceIsRelativeToTheInjectedClock: "-since 1h" counts back from
// the clock the subcommand is given.
func TestAuditSinceIsRelativeToTheInjectedClock(t *testing.T) {
	ctx := context.Background()
	_, cfg := auditConfig(t, func(db *sqlite.DB) error {
		return db.RecordBatch(ctx, []resetflow.Event{
			{Time: clockStart.Add(-2 * time.Hour), Step: "result", Detail: "two-hours-old"},
			{Time: clockStart.Add(-30 * time.Minute), Step: "result", Detail: "half-hour-old"},
		})
	})
	var stdout, stderr bytes.Buffer
	if code := audit(ctx, clock.NewFake(clockStart), []string{"-config", cfg, "-since", "1h", "-format", "csv"}, &stdout, &stderr, nil); code != ExitOK {
		t.Fatalf("audit = %d: %s", code, stderr.String())
	}
	if out := stdout.String(); !strings.Contains(out, "half-hour-old") || strings.Contains(out, "two-hours-old") {
		t.Fatalf("audit -since 1h at %s printed:\n%s", clockStart, out)
	}
}

// auditConfig makes an audit database, fills it with fill, and writes a
// configuration file naming it; it returns both paths.
func auditConfig(t *testing.T, fill func(*sqlite.DB) error) (dbPath, cfgPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "audit.db")
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := fill(db); err != nil {
		t.Fatal(err)
	}
	db.Close()
	cfgPath = filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte("audit: {file: '"+dbPath+"'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dbPath, cfgPath
}
