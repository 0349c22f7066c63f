package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
)

// flowEvents is one completed reset at t: its result comes confirmToDone after
// the confirmation and is shown in chat a second later.
func flowEvents(flow string, t time.Time, confirmToDone time.Duration) []resetflow.Event {
	return flowDelivered(flow, t, confirmToDone, "sent")
}

// flowDelivered is a reset done confirmToDone after the confirmation whose
// delivery, a second later, had the outcome delivery.
func flowDelivered(flow string, t time.Time, confirmToDone time.Duration, delivery string) []resetflow.Event {
	b := resetflow.Event{Flow: flow, Platform: "slack", ChatUser: "U1", UserUPN: "alice@contoso.example", UserID: "u1", DeviceID: "d-" + flow}
	at := func(d time.Duration, step, outcome string) resetflow.Event {
		e := b
		e.Time, e.Step, e.Outcome = t.Add(d), step, outcome
		return e
	}
	return []resetflow.Event{at(0, "request", ""), at(time.Second, "eligibility", "allow"), at(time.Minute, "confirm", ""),
		at(time.Minute+confirmToDone, "result", "done"), at(time.Minute+confirmToDone+time.Second, "delivery", delivery)}
}

// rawCounts groups the events themselves, as the rollups must.
func rawCounts(t *testing.T, db *DB, since, until time.Time) map[string]int {
	t.Helper()
	rows, err := db.db.Query(`SELECT step, outcome, platform, count(*) FROM events WHERE step IN (`+overviewSteps+`) AND time >= ? AND time < ? GROUP BY 1, 2, 3`, ts(since), ts(until))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var s, o, p string
		var n int
		rows.Scan(&s, &o, &p, &n)
		out[s+"/"+o+"/"+p] = n
	}
	return out
}

func rolled(t *testing.T, cs *ConsoleStore, since, until time.Time) map[string]int {
	t.Helper()
	counts, err := cs.Counts(context.Background(), since, until)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range counts {
		out[c.Step+"/"+c.Outcome+"/"+c.Chat] += c.N
	}
	return out
}

// TestConsoleRollups: the overview's rollups agree with the events they
// summarise: filled from a trail that existed before the console, kept by the
// triggers on every insert, and shrunk by the retention's prune.
func TestConsoleRollups(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ { // before the console was turned on
		if err := db.RecordBatch(ctx, flowEvents(fmt.Sprintf("old%d", i), day.Add(time.Duration(i)*time.Hour), time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := db.Console(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // with the console: through its recorder, naming the device's OS
		f := fmt.Sprintf("new%d", i)
		if err := cs.RecordWithDevices(ctx, flowEvents(f, day.AddDate(0, 0, 10+i), 10*time.Second), []resetflow.Device{{ID: "d-" + f, OS: "iOS"}}); err != nil {
			t.Fatal(err)
		}
	}
	since, until := day.AddDate(0, 0, -1), day.AddDate(0, 1, 0)
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) {
		t.Errorf("rollups %v; events say %v", got, want)
	}
	// A second Console() neither doubles the backfill nor fails.
	if cs, err = db.Console(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rolled(t, cs, since, until)["request//slack"]; got != 10 {
		t.Errorf("requests after reopening: %d, want 10", got)
	}
	os, _ := cs.ByDeviceOS(ctx, since, until)
	byOS := map[string]int{}
	for _, c := range os {
		byOS[c.OS+"/"+c.Step+"/"+c.Outcome] += c.N
	}
	if byOS["iOS/result/done"] != 5 || byOS["iOS/eligibility/allow"] != 5 || byOS["/result/done"] != 5 || byOS["iOS/delivery/sent"] != 5 || byOS["/delivery/sent"] != 5 {
		t.Errorf("by OS %v; want 5 iOS (devices known) and 5 unknown (recorded before)", byOS)
	}
	un, _ := cs.Unlocks(ctx, since, until)
	var took []time.Duration
	for _, u := range un {
		took = append(took, u.Done.Sub(u.Confirmed))
	}
	slices.Sort(took)
	// Confirmation to the result shown: a second after the result.
	if want := []time.Duration{2e9, 3e9, 4e9, 5e9, 6e9, 11e9, 11e9, 11e9, 11e9, 11e9}; !slices.Equal(took, want) {
		t.Errorf("unlock times %v, want %v", took, want)
	}
	// Retention: the old flows go, and with them their counts and unlock times.
	if _, err := db.Prune(ctx, day.AddDate(0, 0, 5)); err != nil {
		t.Fatal(err)
	}
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) || got["request//slack"] != 5 {
		t.Errorf("after pruning: rollups %v; events say %v", got, want)
	}
	if un, _ = cs.Unlocks(ctx, since, until); len(un) != 5 {
		t.Errorf("%d unlock times after pruning, want 5", len(un))
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestConsoleAlerts: an alert is taken once (the first taker wins), resolving
// closes it with its note, and the open list and the filters see that.
func TestConsoleAlerts(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	cs, err := db.Console(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range []string{"contact_support", "reset_failed", "contact_support"} {
		if err := cs.SaveAlert(ctx, console.Alert{ID: fmt.Sprint("a", i), Time: t0.Add(time.Duration(i) * time.Minute), Kind: k, DeviceOS: "iOS"}); err != nil {
			t.Fatal(err)
		}
	}
	cs.SaveAlert(ctx, console.Alert{ID: "a0", Time: t0, Kind: "changed"}) // saved twice: kept as first saved
	_, took, found, err := cs.TakeAlert(ctx, "a0", "slack:U1", "slack", t0.Add(time.Hour))
	if err != nil || !took || !found {
		t.Fatalf("first take: %v %v %v", took, found, err)
	}
	a, took, _, _ := cs.TakeAlert(ctx, "a0", "helen", "console", t0.Add(2*time.Hour))
	if took || a.TakenBy != "slack:U1" || a.TakenVia != "slack" || !a.TakenAt.Equal(t0.Add(time.Hour)) || a.Kind != "contact_support" {
		t.Errorf("second take: took=%v %+v", took, a)
	}
	if _, _, found, _ := cs.TakeAlert(ctx, "nope", "h", "console", t0); found {
		t.Errorf("an unknown alert was found")
	}
	if ok, _ := cs.ResolveAlert(ctx, "a1", "helen", "called the user", t0.Add(3*time.Hour)); !ok {
		t.Fatal("resolve failed")
	}
	if ok, _ := cs.ResolveAlert(ctx, "a1", "helen", "again", t0.Add(4*time.Hour)); ok {
		t.Errorf("resolved twice")
	}
	open, _ := cs.Alerts(ctx, console.AlertFilter{OpenOnly: true})
	var ids []string
	for _, a := range open {
		ids = append(ids, a.ID)
	}
	if strings.Join(ids, ",") != "a2,a0" {
		t.Errorf("open alerts %v, want a2,a0 (newest first)", ids)
	}
	if l, _ := cs.Alerts(ctx, console.AlertFilter{OpenOnly: true, Kind: "reset_failed"}); len(l) != 0 {
		t.Errorf("a resolved alert is open: %+v", l)
	}
	r, _ := cs.Alerts(ctx, console.AlertFilter{ID: "a1"})
	if r[0].ResolvedBy != "helen" || r[0].Note != "called the user" || r[0].TakenBy != "helen" || r[0].Open() {
		t.Errorf("resolved alert %+v (resolving takes an untaken alert too)", r[0])
	}
	kinds, _ := cs.AlertKinds(ctx, t0, t0.Add(time.Hour))
	if len(kinds) != 2 {
		t.Errorf("kinds %+v", kinds)
	}
}

// unlockTimes are the store's unlock times in the period, sorted.
func unlockTimes(t *testing.T, cs *ConsoleStore, since, until time.Time) []time.Duration {
	t.Helper()
	un, err := cs.Unlocks(context.Background(), since, until)
	if err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for _, u := range un {
		took = append(took, u.Done.Sub(u.Confirmed))
	}
	slices.Sort(took)
	return took
}

// TestConsoleUnlocksShown: a reset whose result was not shown in chat
// (delivery missing or failed) has no time to unlock, and the time of one
// that was shown ends at its delivery, not at its result.
func TestConsoleUnlocksShown(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	cs, err := db.Console(ctx)
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	for i, d := range []string{"sent", "missing", "failed", "sent"} {
		if err := cs.RecordWithDevices(ctx, flowDelivered(fmt.Sprint("f", i), day.Add(time.Duration(i)*time.Minute), 4*time.Second, d), nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := unlockTimes(t, cs, day, day.Add(time.Hour)), []time.Duration{5e9, 5e9}; !slices.Equal(got, want) {
		t.Errorf("unlock times %v, want %v (the two shown, confirmation to delivery)", got, want)
	}
	counts := rolled(t, cs, day, day.Add(time.Hour))
	if counts["result/done/slack"] != 4 || counts["delivery/sent/slack"] != 2 || counts["delivery/missing/slack"] != 1 || counts["delivery/failed/slack"] != 1 {
		t.Errorf("counts %v", counts)
	}
}

// TestConsoleUpgradeFromV1: a database with the first console's rollups
// (which neither counted deliveries nor timed unlocks to them) gets the
// delivery counts and the unlock times from its trail, once; the old
// triggers are replaced and the old table is left as it was.
func TestConsoleUpgradeFromV1(t *testing.T) {
	db, _ := open(t)
	ctx := context.Background()
	if _, err := db.db.ExecContext(ctx, consoleSchemaV1); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i, d := range []string{"sent", "sent", "failed", "sent"} {
		if err := db.RecordBatch(ctx, flowDelivered(fmt.Sprint("old", i), day.Add(time.Duration(i)*time.Hour), time.Duration(i+1)*time.Second, d)); err != nil {
			t.Fatal(err)
		}
	}
	since, until := day.AddDate(0, 0, -1), day.AddDate(0, 1, 0)
	var legacy int
	db.db.QueryRow(`SELECT count(*) FROM unlocks`).Scan(&legacy)
	if legacy != 4 {
		t.Fatalf("the v1 triggers kept %d unlocks, want 4 (one per result done)", legacy)
	}
	cs, err := db.Console(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) || got["delivery/sent/slack"] != 3 {
		t.Errorf("after the upgrade: rollups %v; events say %v", got, want)
	}
	if got, want := unlockTimes(t, cs, since, until), []time.Duration{2e9, 3e9, 5e9}; !slices.Equal(got, want) {
		t.Errorf("unlock times after the upgrade %v, want %v", got, want)
	}
	var triggers []string
	rows, err := db.db.Query(`SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		triggers = append(triggers, n)
	}
	rows.Close()
	if strings.Join(triggers, ",") != "events_count2,events_shown,events_uncount2" {
		t.Errorf("triggers %v, want only the new ones", triggers)
	}
	db.db.QueryRow(`SELECT count(*) FROM unlocks`).Scan(&legacy)
	if legacy != 4 {
		t.Errorf("the old unlocks table has %d rows after the upgrade, want its 4 left as they were", legacy)
	}
	// New events are counted once, and opening again backfills nothing more.
	for i := 0; i < 2; i++ {
		if err := cs.RecordWithDevices(ctx, flowEvents(fmt.Sprint("new", i), day.AddDate(0, 0, 10+i), 10*time.Second), nil); err != nil {
			t.Fatal(err)
		}
	}
	if cs, err = db.Console(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) || got["delivery/sent/slack"] != 5 {
		t.Errorf("after new events and reopening: rollups %v; events say %v", got, want)
	}
	if got := unlockTimes(t, cs, since, until); len(got) != 5 {
		t.Errorf("unlock times %v, want 5", got)
	}
	// Retention prunes the new rollups too.
	if _, err := db.Prune(ctx, day.AddDate(0, 0, 5)); err != nil {
		t.Fatal(err)
	}
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) || got["delivery/sent/slack"] != 2 {
		t.Errorf("after pruning: rollups %v; events say %v", got, want)
	}
	if got := unlockTimes(t, cs, since, until); len(got) != 2 {
		t.Errorf("unlock times after pruning %v, want 2", got)
	}
}
