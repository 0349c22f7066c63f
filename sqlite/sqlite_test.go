package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

func open(t *testing.T) (*DB, string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bot.db")
	db, err := Open(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, p
}

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func TestStateSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	db, p := open(t)
	r := resetflow.InFlight{Flow: "f1", Address: resetflow.Address{Platform: "slack", UserID: "U1", Channel: "D1"}, Locale: "ja",
		User: resetflow.User{ID: "u1", UPN: "a@x"}, Device: resetflow.Device{ID: "d1", Name: "Phone", Mode: resetflow.ModeAOSP},
		Outcome: resetflow.OutcomeAndroidTemporary, Started: t0}
	if err := db.BeginReset(ctx, r, t0.Add(-24*time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	if err := db.SetLink(ctx, "discord", "D42", resetflow.User{ID: "u1", UPN: "a@x", DisplayName: "A"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Record(ctx, resetflow.Event{Time: t0, Flow: "f1", Step: "confirm", UserUPN: "a@x", DeviceID: "d1"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.InFlight(ctx)
	if err != nil || len(got) != 1 || got[0].Address != r.Address || got[0].Device.Mode != resetflow.ModeAOSP || got[0].Locale != "ja" || !got[0].Started.Equal(t0) {
		t.Fatalf("in flight after reopen: %+v %v", got, err)
	}
	if n, _ := db2.ResetsSince(ctx, "u1", t0.Add(-time.Hour)); n != 1 {
		t.Errorf("count %d", n)
	}
	if n, _ := db2.ResetsSince(ctx, "u1", t0.Add(time.Second)); n != 0 {
		t.Errorf("count after %d", n)
	}
	if u, ok, _ := db2.LinkedUser(ctx, "discord", "D42"); !ok || u.UPN != "a@x" {
		t.Errorf("link lost: %v %v", u, ok)
	}
	if err := db2.EndReset(ctx, "f1", "done"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db2.InFlight(ctx); len(got) != 0 {
		t.Errorf("ended reset still in flight")
	}
	if had, _ := db2.RemoveLink(ctx, "discord", "D42"); !had {
		t.Errorf("remove: no link")
	}
	if had, _ := db2.RemoveLink(ctx, "discord", "D42"); had {
		t.Errorf("removed twice")
	}
}

func TestEventsFilterAndPrune(t *testing.T) {
	ctx := context.Background()
	db, _ := open(t)
	for i, e := range []resetflow.Event{
		{Step: "request", UserUPN: "Alice@x", UserID: "u1"},
		{Step: "result", UserUPN: "alice@x", UserID: "u1", DeviceID: "d1", Outcome: "done"},
		{Step: "result", UserUPN: "bob@x", UserID: "u2", DeviceID: "d2", Outcome: "failed"},
	} {
		e.Time = t0.Add(time.Duration(i) * 24 * time.Hour)
		e.Flow = "f"
		if err := db.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		f    Filter
		want int
	}{
		{Filter{}, 3},
		{Filter{User: "alice@x"}, 2},
		{Filter{User: "u2"}, 1},
		{Filter{Device: "d1"}, 1},
		{Filter{Outcome: "failed"}, 1},
		{Filter{Since: t0.Add(time.Hour)}, 2},
		{Filter{Until: t0.Add(time.Hour)}, 1},
		{Filter{Step: "result", Limit: 1}, 1},
	}
	for _, tt := range tests {
		got, err := db.Events(ctx, tt.f)
		if err != nil || len(got) != tt.want {
			t.Errorf("Events(%+v) = %d, %v; want %d", tt.f, len(got), err, tt.want)
		}
	}
	n, err := db.Prune(ctx, t0.Add(36*time.Hour))
	if err != nil || n != 2 {
		t.Errorf("pruned %d, %v", n, err)
	}
	if got, _ := db.Events(ctx, Filter{}); len(got) != 1 || got[0].UserUPN != "bob@x" {
		t.Errorf("after prune: %+v", got)
	}
}

// TestUnwritableFileFails: a database that cannot be written makes Record fail,
// which makes the engine refuse to reset.
func TestUnwritableFileFails(t *testing.T) {
	if os.Getuid() == 0 {
		// root ignores file modes; make the write fail another way: a read-only handle.
		db, p := open(t)
		db.Close()
		ro, err := Open(context.Background(), p+"?mode=ro")
		if err == nil {
			defer ro.Close()
			if err := ro.Record(context.Background(), resetflow.Event{Time: t0, Step: "x"}); err == nil {
				t.Fatal("record on a read-only database succeeded")
			}
		}
		return
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if _, err := Open(context.Background(), filepath.Join(dir, "x.db")); err == nil {
		t.Fatal("opened a database in a read-only directory")
	}
}

func TestNoSecretColumns(t *testing.T) {
	// The schema has no place for a passcode: the InFlight JSON carries none either.
	db, _ := open(t)
	r := resetflow.InFlight{Flow: "f", User: resetflow.User{ID: "u"}, Started: t0}
	db.BeginReset(context.Background(), r, t0.Add(-24*time.Hour), 3)
	var data string
	db.db.QueryRow(`SELECT data FROM resets`).Scan(&data)
	if strings.Contains(strings.ToLower(data), "passcode\"") {
		t.Errorf("reset data has a passcode field: %s", data)
	}
}

func TestShownSecretsSurviveReopen(t *testing.T) {
	ctx := context.Background()
	db, p := open(t)
	a := ShownSecret{Platform: "slack", Channel: "D1", MessageID: "1.2", Locale: "ja", RemoveAt: t0.Add(10 * time.Minute)}
	b := ShownSecret{Platform: "slack", Channel: "D2", MessageID: "3.4", Locale: "en", RemoveAt: t0.Add(5 * time.Minute)}
	for _, s := range []ShownSecret{a, b, {Platform: "discord", Channel: "9", MessageID: "8", RemoveAt: t0}} {
		if err := db.SecretShown(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	db.SecretRemoved(ctx, "slack", "D9", "nope")
	db.Close()
	db2, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	got, err := db2.SecretsShown(ctx, "slack")
	if err != nil || len(got) != 2 || got[0] != b || got[1] != a {
		t.Fatalf("shown after reopen: %+v %v; want [b a] by time", got, err)
	}
	db2.SecretRemoved(ctx, "slack", "D2", "3.4")
	if got, _ := db2.SecretsShown(ctx, "slack"); len(got) != 1 || got[0] != a {
		t.Errorf("after removal: %+v", got)
	}
}
