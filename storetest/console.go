package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// ConsoleOpener opens a fresh, empty database and returns it with a function
// that turns the helpdesk console on (it may be called more than once).
type ConsoleOpener func(t *testing.T) (Store, func(ctx context.Context) (console.Store, error))

// RunConsole runs the console.Store suite: the same assertions for every store.
func RunConsole(t *testing.T, open ConsoleOpener) {
	t.Run("Rollups", func(t *testing.T) { consoleRollups(t, open) })
	t.Run("Alerts", func(t *testing.T) { consoleAlerts(t, open) })
	t.Run("Trail", func(t *testing.T) { consoleTrail(t, open) })
}

// FlowEvents is one completed reset at t of device "d-"+flow, confirmed
// confirmToDone before its result, which is shown in chat at once.
func FlowEvents(flow string, t time.Time, confirmToDone time.Duration) []resetflow.Event {
	b := resetflow.Event{Flow: flow, Platform: "slack", ChatUser: "U1", UserUPN: "alice@contoso.example", UserID: "u1", DeviceID: "d-" + flow}
	at := func(d time.Duration, step, outcome string) resetflow.Event {
		e := b
		e.Time, e.Step, e.Outcome = t.Add(d), step, outcome
		return e
	}
	return []resetflow.Event{at(0, "request", ""), at(time.Second, "eligibility", "allow"), at(time.Minute, "confirm", ""),
		at(time.Minute+confirmToDone, "result", "done"), at(time.Minute+confirmToDone, "delivery", "sent")}
}

var overviewSteps = []string{"request", "devices_listed", "eligibility", "signin", "confirm", "result", "cancel", "expired", "limit", "reset_requested", "delivery"}

// rawCounts groups the events themselves, as the rollups must.
func rawCounts(t *testing.T, db Store, since, until time.Time) map[string]int {
	t.Helper()
	evs, err := db.Events(context.Background(), sqlite.Filter{Since: since, Until: until})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, e := range evs {
		if slices.Contains(overviewSteps, e.Step) {
			out[e.Step+"/"+e.Outcome+"/"+e.Platform]++
		}
	}
	return out
}

func rolled(t *testing.T, cs console.Store, since, until time.Time) map[string]int {
	t.Helper()
	counts, err := cs.Counts(context.Background(), since, until)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, c := range counts {
		if c.Hour.Location() != time.UTC || !c.Hour.Equal(c.Hour.Truncate(time.Hour)) {
			t.Errorf("count hour %v is not a whole UTC hour", c.Hour)
		}
		out[c.Step+"/"+c.Outcome+"/"+c.Chat] += c.N
	}
	return out
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

// consoleRollups: the overview's rollups agree with the events they
// summarise: for a trail recorded before the console, kept on every insert,
// and shrunk by the retention's prune.
func consoleRollups(t *testing.T, open ConsoleOpener) {
	db, openConsole := open(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 5; i++ { // before the console was turned on
		if err := db.RecordBatch(ctx, FlowEvents(fmt.Sprintf("old%d", i), day.Add(time.Duration(i)*time.Hour), time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := openConsole(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ { // with the console: through its recorder, naming the device's OS
		f := fmt.Sprintf("new%d", i)
		if err := cs.RecordWithDevices(ctx, FlowEvents(f, day.AddDate(0, 0, 10+i), 10*time.Second), []resetflow.Device{{ID: "d-" + f, OS: "iOS"}}); err != nil {
			t.Fatal(err)
		}
	}
	since, until := day.AddDate(0, 0, -1), day.AddDate(0, 1, 0)
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) || got["request//slack"] != 10 {
		t.Errorf("rollups %v; events say %v", got, want)
	}
	// The period is half-open and in whole hours: the hour of old0 only.
	if got := rolled(t, cs, day, day.Add(time.Hour)); got["request//slack"] != 1 || got["result/done/slack"] != 1 {
		t.Errorf("rollups of one hour %v, want one flow", got)
	}
	// Turning the console on again neither doubles the counts nor fails.
	if cs, err = openConsole(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rolled(t, cs, since, until)["request//slack"]; got != 10 {
		t.Errorf("requests after reopening: %d, want 10", got)
	}
	os, err := cs.ByDeviceOS(ctx, since, until)
	if err != nil {
		t.Fatal(err)
	}
	byOS := map[string]int{}
	for _, c := range os {
		byOS[c.OS+"/"+c.Step+"/"+c.Outcome] += c.N
	}
	if byOS["iOS/result/done"] != 5 || byOS["iOS/eligibility/allow"] != 5 || byOS["iOS/delivery/sent"] != 5 ||
		byOS["/result/done"] != 5 || byOS["/eligibility/allow"] != 5 || byOS["/delivery/sent"] != 5 || len(byOS) != 6 {
		t.Errorf("by OS %v; want 5 iOS (devices known) and 5 unknown (recorded before), for eligibility, result and delivery only", byOS)
	}
	un, err := cs.Unlocks(ctx, since, until)
	if err != nil {
		t.Fatal(err)
	}
	var took []time.Duration
	for _, u := range un {
		took = append(took, u.Done.Sub(u.Confirmed))
		if u.Done.Location() != time.UTC {
			t.Errorf("unlock time %v not in UTC", u.Done)
		}
	}
	slices.Sort(took)
	if want := []time.Duration{1e9, 2e9, 3e9, 4e9, 5e9, 10e9, 10e9, 10e9, 10e9, 10e9}; !slices.Equal(took, want) {
		t.Errorf("unlock times %v, want %v", took, want)
	}
	if un, _ := cs.Unlocks(ctx, day, day.Add(time.Hour)); len(un) != 1 || !un[0].Done.Equal(day.Add(time.Minute+time.Second)) {
		t.Errorf("unlocks in the first hour %+v, want old0's", un)
	}
	// Retention: the old flows go, and with them their counts and unlock times.
	if n, err := db.Prune(ctx, day.AddDate(0, 0, 5)); err != nil || n != 25 {
		t.Fatalf("prune: %d %v, want 25 events (5 a flow)", n, err)
	}
	if got, want := rolled(t, cs, since, until), rawCounts(t, db, since, until); !mapsEqual(got, want) || got["request//slack"] != 5 {
		t.Errorf("after pruning: rollups %v; events say %v", got, want)
	}
	if un, _ = cs.Unlocks(ctx, since, until); len(un) != 5 {
		t.Errorf("%d unlock times after pruning, want 5", len(un))
	}
	os, _ = cs.ByDeviceOS(ctx, since, until)
	for _, c := range os {
		if c.OS == "" {
			t.Errorf("after pruning the flows of unknown devices, by OS still has %+v", c)
		}
	}
}

var at0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// consoleAlerts: an alert is taken once (the first taker wins), resolving
// closes it with its note, and the open list and the filters see that.
func consoleAlerts(t *testing.T, open ConsoleOpener) {
	_, openConsole := open(t)
	ctx := context.Background()
	cs, err := openConsole(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := at0
	for i, k := range []string{"contact_support", "reset_failed", "contact_support"} {
		a := console.Alert{ID: fmt.Sprint("a", i), Time: t0.Add(time.Duration(i) * time.Minute), Kind: k, DeviceOS: "iOS", Platform: "slack",
			ChatUser: "U1", UserUPN: "alice@contoso.example", UserID: "u1", DeviceID: "d1", DeviceName: "Alice's iPhone", Detail: "why"}
		if err := cs.SaveAlert(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Two alerts of the same time come newest saved first.
	if err := cs.SaveAlert(ctx, console.Alert{ID: "a3", Time: t0.Add(2 * time.Minute), Kind: "changed"}); err != nil {
		t.Fatal(err)
	}
	if err := cs.SaveAlert(ctx, console.Alert{ID: "a0", Time: t0, Kind: "changed"}); err != nil { // saved twice: kept as first saved
		t.Fatal(err)
	}
	first, took, found, err := cs.TakeAlert(ctx, "a0", "slack:U1", "slack", t0.Add(time.Hour))
	if err != nil || !took || !found || first.TakenBy != "slack:U1" || first.DeviceName != "Alice's iPhone" || first.Kind != "contact_support" {
		t.Fatalf("first take: %v %v %v %+v", took, found, err, first)
	}
	a, took, found, err := cs.TakeAlert(ctx, "a0", "helen", "console", t0.Add(2*time.Hour))
	if err != nil || took || !found || a.TakenBy != "slack:U1" || a.TakenVia != "slack" || !a.TakenAt.Equal(t0.Add(time.Hour)) || a.Kind != "contact_support" {
		t.Errorf("second take: took=%v found=%v %v %+v", took, found, err, a)
	}
	// Eight takers at once: exactly one wins, and every one sees the winner.
	if err := cs.SaveAlert(ctx, console.Alert{ID: "race", Time: t0.Add(-time.Hour), Kind: "changed"}); err != nil {
		t.Fatal(err)
	}
	type take struct {
		who, by string
		took    bool
		err     error
	}
	results := make(chan take, 8)
	for i := 0; i < 8; i++ {
		go func(who string) {
			a, took, _, err := cs.TakeAlert(ctx, "race", who, "console", t0)
			results <- take{who, a.TakenBy, took, err}
		}(fmt.Sprint("h", i))
	}
	var winners []string
	var seen []take
	for i := 0; i < 8; i++ {
		r := <-results
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.took {
			winners = append(winners, r.who)
		}
		seen = append(seen, r)
	}
	if len(winners) != 1 {
		t.Fatalf("concurrent takes: winners %v, want exactly one", winners)
	}
	for _, r := range seen {
		if r.by != winners[0] {
			t.Errorf("%s sees the alert taken by %q, want %q", r.who, r.by, winners[0])
		}
	}
	if _, took, found, err := cs.TakeAlert(ctx, "nope", "h", "console", t0); found || took || err != nil {
		t.Errorf("an unknown alert: took=%v found=%v %v", took, found, err)
	}
	if ok, err := cs.ResolveAlert(ctx, "a1", "helen", "called the user", t0.Add(3*time.Hour)); !ok || err != nil {
		t.Fatal("resolve failed", err)
	}
	if ok, _ := cs.ResolveAlert(ctx, "a1", "helen", "again", t0.Add(4*time.Hour)); ok {
		t.Errorf("resolved twice")
	}
	if ok, _ := cs.ResolveAlert(ctx, "nope", "helen", "x", t0); ok {
		t.Errorf("resolved an unknown alert")
	}
	// Resolving a taken alert keeps its taker.
	if ok, _ := cs.ResolveAlert(ctx, "a0", "helen", "done", t0.Add(5*time.Hour)); !ok {
		t.Fatal("resolve of a taken alert failed")
	}
	ids := func(f console.AlertFilter) string {
		l, err := cs.Alerts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, a := range l {
			ids = append(ids, a.ID)
		}
		return strings.Join(ids, ",")
	}
	if got := ids(console.AlertFilter{OpenOnly: true}); got != "a3,a2,race" {
		t.Errorf("open alerts %v, want a3,a2,race (newest first)", got)
	}
	if got := ids(console.AlertFilter{}); got != "a3,a2,a1,a0,race" {
		t.Errorf("all alerts %v, want a3,a2,a1,a0,race", got)
	}
	if got := ids(console.AlertFilter{Limit: 2}); got != "a3,a2" {
		t.Errorf("limited alerts %v, want a3,a2", got)
	}
	if got := ids(console.AlertFilter{Kind: "contact_support"}); got != "a2,a0" {
		t.Errorf("contact_support alerts %v, want a2,a0", got)
	}
	if got := ids(console.AlertFilter{OpenOnly: true, Kind: "reset_failed"}); got != "" {
		t.Errorf("a resolved alert is open: %v", got)
	}
	r, _ := cs.Alerts(ctx, console.AlertFilter{ID: "a1"})
	if len(r) != 1 || r[0].ResolvedBy != "helen" || r[0].Note != "called the user" || r[0].TakenBy != "helen" || r[0].TakenVia != "console" ||
		!r[0].TakenAt.Equal(t0.Add(3*time.Hour)) || !r[0].ResolvedAt.Equal(t0.Add(3*time.Hour)) || r[0].Open() {
		t.Errorf("resolved alert %+v (resolving takes an untaken alert too)", r)
	}
	r, _ = cs.Alerts(ctx, console.AlertFilter{ID: "a0"})
	if len(r) != 1 || r[0].TakenBy != "slack:U1" || r[0].TakenVia != "slack" || r[0].ResolvedBy != "helen" || r[0].Note != "done" {
		t.Errorf("resolved taken alert %+v", r)
	}
	r, _ = cs.Alerts(ctx, console.AlertFilter{ID: "a2"})
	want := console.Alert{ID: "a2", Time: t0.Add(2 * time.Minute), Kind: "contact_support", DeviceOS: "iOS", Platform: "slack",
		ChatUser: "U1", UserUPN: "alice@contoso.example", UserID: "u1", DeviceID: "d1", DeviceName: "Alice's iPhone", Detail: "why"}
	if len(r) != 1 || r[0] != want || !r[0].TakenAt.IsZero() || !r[0].Open() {
		t.Errorf("open alert %+v, want %+v", r, want)
	}
	kinds, err := cs.AlertKinds(ctx, t0, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]int{}
	for _, k := range kinds {
		byKind[k.Kind+"/"+k.OS+"/"+k.Chat] += k.N
	}
	if want := map[string]int{"contact_support/iOS/slack": 1, "reset_failed/iOS/slack": 1}; !mapsEqual(byKind, want) {
		t.Errorf("kinds %v, want %v (the period is half-open)", byKind, want)
	}
}

// consoleTrail: a person matches by UPN in any case, object id or chat user
// id; the newest events come when there are more than the limit, in time order.
func consoleTrail(t *testing.T, open ConsoleOpener) {
	_, openConsole := open(t)
	ctx := context.Background()
	cs, err := openConsole(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t0 := at0
	var evs []resetflow.Event
	for i := 0; i < 6; i++ {
		e := resetflow.Event{Time: t0.Add(time.Duration(i/2) * time.Minute), Flow: fmt.Sprint("f", i%2), Step: "request", Platform: "slack",
			ChatUser: "U1", UserID: "u1", UserUPN: "alice@contoso.example", DeviceID: "d1", Detail: fmt.Sprint(i)}
		if i%2 == 1 {
			e.ChatUser, e.UserID, e.UserUPN, e.DeviceID = "U2", "u2", "bob@contoso.example", "d2"
		}
		evs = append(evs, e)
	}
	if err := cs.RecordWithDevices(ctx, evs, nil); err != nil {
		t.Fatal(err)
	}
	details := func(q console.TrailQuery) string {
		l, err := cs.Trail(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var d []string
		for _, e := range l {
			if e.Time.Location() != time.UTC {
				t.Errorf("event time %v not in UTC", e.Time)
			}
			d = append(d, e.Detail)
		}
		return strings.Join(d, ",")
	}
	for _, c := range []struct {
		q    console.TrailQuery
		want string
	}{
		{console.TrailQuery{}, "0,1,2,3,4,5"},
		{console.TrailQuery{Limit: 3}, "3,4,5"}, // the newest, in time then insertion order
		{console.TrailQuery{Person: "alice@contoso.example"}, "0,2,4"},
		{console.TrailQuery{Person: "Alice@Contoso.Example"}, "0,2,4"},
		{console.TrailQuery{Person: "u2"}, "1,3,5"},
		{console.TrailQuery{Person: "U2", Limit: 2}, "3,5"},
		{console.TrailQuery{Person: "nobody"}, ""},
		{console.TrailQuery{Device: "d1"}, "0,2,4"},
		{console.TrailQuery{Flow: "f1"}, "1,3,5"},
		{console.TrailQuery{Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Minute)}, "2,3"},
	} {
		if got := details(c.q); got != c.want {
			t.Errorf("trail %+v: %q, want %q", c.q, got, c.want)
		}
	}
	l, _ := cs.Trail(ctx, console.TrailQuery{Flow: "f0", Limit: 1})
	if want := evs[4]; len(l) != 1 || l[0] != want {
		t.Errorf("trail event %+v, want %+v", l, want)
	}
}
