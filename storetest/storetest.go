// Package storetest is the conformance suite of the bot's durable stores: the
// same tests run against SQLite and PostgreSQL, so both keep the same semantics
// behind the same ports. It includes resetflow/storetest, the Store port's
// suite (which the in-memory store runs too).
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	portsuite "github.com/passcodebot/passcodebot/resetflow/storetest"
	"github.com/passcodebot/passcodebot/sqlite"
)

// Store is what both stores implement.
type Store interface {
	resetflow.Recorder
	resetflow.BatchRecorder
	resetflow.Links
	ResetsSince(ctx context.Context, userKey string, since time.Time) (int, error)
	BeginReset(ctx context.Context, r resetflow.InFlight, since time.Time, limit int) error
	MarkDelivered(ctx context.Context, flow string) error
	EndReset(ctx context.Context, flow, outcome string) error
	InFlight(ctx context.Context) ([]resetflow.InFlight, error)
	SecretShown(ctx context.Context, s sqlite.ShownSecret) error
	SecretRemoved(ctx context.Context, platform, channel, messageID string) error
	SecretsShown(ctx context.Context, platform string) ([]sqlite.ShownSecret, error)
	Events(ctx context.Context, f sqlite.Filter) ([]resetflow.Event, error)
	Prune(ctx context.Context, before time.Time) (int64, error)
	Ping(ctx context.Context) error
	Close() error
	resetflow.Conversations
	TakeConversations(ctx context.Context, since, before time.Time) ([]sqlite.OpenConversation, error)
	resetflow.Committer
}

// Opener returns a function that opens the same, initially empty, database
// each time it is called: a second call is the store after a restart.
type Opener func(t *testing.T) func() Store

// Run runs the suite. limitErr is the error BeginReset wraps when the limit is reached.
func Run(t *testing.T, newDB Opener, limitErr error) {
	tests := []struct {
		name string
		fn   func(*testing.T, func() Store, error)
	}{
		{"AuditTrailFilters", auditTrail},
		{"AuditBatchIsAllOrNothing", auditBatch},
		{"DailyLimitInTheDatabase", dailyLimit},
		{"DailyLimitRaceNeverPassesIt", limitRace},
		{"ResetsInFlightSurviveARestart", inFlight},
		{"Links", links},
		{"PasscodeMessagesShown", secrets},
		{"PruneKeepsWhatIsOpen", prune},
		{"OpenConversationsToldOnce", conversations},
		{"CommitIsOneTransaction", commitTogether},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newDB(t), limitErr) })
	}
	// The Store port's own suite (resetflow/storetest), on two handles.
	t.Run("StorePort", func(t *testing.T) {
		portsuite.Run(t, func(t *testing.T) (resetflow.Store, resetflow.Store) {
			o := newDB(t)
			return open(t, o), open(t, o)
		})
	})
}

func open(t *testing.T, o func() Store) Store {
	t.Helper()
	s := o()
	t.Cleanup(func() { s.Close() })
	return s
}

var base = time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)

func ev(min int, flow, step, upn, device, outcome string) resetflow.Event {
	return resetflow.Event{Time: base.Add(time.Duration(min) * time.Minute), Flow: flow, Step: step, Platform: "slack", ChatUser: "U1",
		UserID: "id-" + strings.Split(upn, "@")[0], UserUPN: upn, DeviceID: device, Outcome: outcome, Detail: "d"}
}

func steps(evs []resetflow.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Flow+"/"+e.Step)
	}
	return strings.Join(s, " ")
}

func auditTrail(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	evs := []resetflow.Event{
		ev(2, "f1", "signin", "alice@contoso.example", "d1", "ok"),
		ev(0, "f1", "request", "alice@contoso.example", "", ""),
		ev(5, "f2", "request", "bob@contoso.example", "", ""),
		ev(7, "f2", "result", "bob@contoso.example", "d2", "done"),
	}
	for _, e := range evs {
		if err := s.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s = open(t, o) // the trail outlives the process
	all, err := s.Events(ctx, sqlite.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := steps(all); got != "f1/request f1/signin f2/request f2/result" {
		t.Fatalf("time order: %s", got)
	}
	want := evs[1]
	if g := all[0]; g.Time.Sub(want.Time).Abs() > time.Microsecond || g.Platform != want.Platform || g.ChatUser != want.ChatUser ||
		g.UserID != want.UserID || g.UserUPN != want.UserUPN || g.Detail != want.Detail || g.Outcome != want.Outcome {
		t.Fatalf("round trip: %+v, want %+v", g, want)
	}
	for _, c := range []struct {
		f    sqlite.Filter
		want string
	}{
		{sqlite.Filter{User: "ALICE@contoso.example"}, "f1/request f1/signin"},
		{sqlite.Filter{User: "id-bob"}, "f2/request f2/result"},
		{sqlite.Filter{Device: "d2"}, "f2/result"},
		{sqlite.Filter{Flow: "f1", Step: "signin"}, "f1/signin"},
		{sqlite.Filter{Outcome: "done"}, "f2/result"},
		{sqlite.Filter{Since: base.Add(2 * time.Minute), Until: base.Add(7 * time.Minute)}, "f1/signin f2/request"},
		{sqlite.Filter{Limit: 1}, "f1/request"},
	} {
		got, err := s.Events(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		if steps(got) != c.want {
			t.Errorf("%+v: %s, want %s", c.f, steps(got), c.want)
		}
	}
}

func auditBatch(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	if err := s.RecordBatch(ctx, []resetflow.Event{ev(0, "f", "request", "a@x", "", ""), ev(1, "f", "devices_listed", "a@x", "", "2")}); err != nil {
		t.Fatal(err)
	}
	// A batch with an event the database refuses (no step: NOT NULL is not
	// the point, an invalid UTF-8 byte is refused by both) leaves nothing.
	bad := ev(2, "g", "request", "a@x", "", "")
	bad.Detail = "\x00"
	_ = s.RecordBatch(ctx, []resetflow.Event{ev(2, "g", "signin", "a@x", "", ""), bad})
	all, err := s.Events(ctx, sqlite.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := steps(all); got != "f/request f/devices_listed" && got != "f/request f/devices_listed g/signin g/request" {
		t.Fatalf("a batch was split: %s", got)
	}
}

func reset(flow, user string, at time.Time) resetflow.InFlight {
	return resetflow.InFlight{Flow: flow, Address: resetflow.Address{Platform: "slack", UserID: "U-" + user, Channel: "D-" + user}, Locale: "ja",
		User:   resetflow.User{ID: user, UPN: user + "@contoso.example", DisplayName: "Name " + user},
		Device: resetflow.Device{ID: "dev-" + flow, Name: "Phone " + flow}, Outcome: "temporary_passcode", Started: at}
}

func dailyLimit(t *testing.T, o func() Store, limitErr error) {
	ctx := context.Background()
	s := open(t, o)
	now := time.Now().UTC()
	day := now.Add(-24 * time.Hour)
	// One from two days ago does not count.
	if err := s.BeginReset(ctx, reset("old", "alice", now.Add(-48*time.Hour)), now.Add(-72*time.Hour), 3); err != nil {
		t.Fatal(err)
	}
	if err := s.EndReset(ctx, "old", "done"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		flow := fmt.Sprintf("f%d", i)
		if err := s.BeginReset(ctx, reset(flow, "alice", now.Add(time.Duration(i)*time.Second)), day, 3); err != nil {
			t.Fatalf("reset %d: %v", i, err)
		}
		if err := s.EndReset(ctx, flow, "done"); err != nil {
			t.Fatal(err)
		}
	}
	err := s.BeginReset(ctx, reset("f4", "alice", now.Add(5*time.Second)), day, 3)
	if !errors.Is(err, limitErr) {
		t.Fatalf("fourth reset in 24 h: %v, want the limit", err)
	}
	if n, err := s.ResetsSince(ctx, "alice", day); err != nil || n != 3 {
		t.Fatalf("ResetsSince = %d, %v; the refused one must not count", n, err)
	}
	// Someone else is not limited by alice's resets.
	if err := s.BeginReset(ctx, reset("b1", "bob", now), day, 3); err != nil {
		t.Fatal(err)
	}
}

func limitRace(t *testing.T, o func() Store, limitErr error) {
	ctx := context.Background()
	// Two stores on one database, as two replicas are.
	a, b := open(t, o), open(t, o)
	now := time.Now().UTC()
	var mu sync.Mutex
	ok, limited := 0, 0
	var wg sync.WaitGroup
	for i := range 12 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			flow := fmt.Sprintf("race%d", i)
			err := s.BeginReset(ctx, reset(flow, "carol", now), now.Add(-24*time.Hour), 3)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
				if err := s.EndReset(ctx, flow, "done"); err != nil {
					t.Error(err)
				}
			case errors.Is(err, limitErr):
				limited++
			default:
				t.Errorf("begin reset: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok > 3 {
		t.Fatalf("%d resets began with a limit of 3", ok)
	}
	if n, _ := a.ResetsSince(ctx, "carol", now.Add(-24*time.Hour)); n != ok || n > 3 {
		t.Fatalf("counted %d, began %d", n, ok)
	}
	if ok+limited != 12 {
		t.Fatalf("%d + %d answers of 12", ok, limited)
	}
}

func inFlight(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	now := time.Now().UTC().Truncate(time.Millisecond)
	for _, r := range []resetflow.InFlight{reset("a", "alice", now), reset("b", "bob", now.Add(time.Second)), reset("c", "carol", now.Add(2*time.Second))} {
		if err := s.BeginReset(ctx, r, now.Add(-24*time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.EndReset(ctx, "b", "done"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkDelivered(ctx, "c"); err != nil {
		t.Fatalf("marking twice: %v", err)
	}
	s.Close()
	s = open(t, o)
	list, err := s.InFlight(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Flow != "a" || list[1].Flow != "c" {
		t.Fatalf("in flight after a restart: %+v", list)
	}
	want := reset("a", "alice", now)
	got := list[0]
	if got.Address != want.Address || got.Locale != want.Locale || got.User != want.User || got.Device.ID != want.Device.ID ||
		got.Device.Name != want.Device.Name || got.Outcome != want.Outcome || !got.Started.Equal(want.Started) || got.Delivered {
		t.Fatalf("round trip:\n%+v\nwant\n%+v", got, want)
	}
	if !list[1].Delivered {
		t.Fatal("MarkDelivered lost")
	}
	// An ended reset still counts toward the limit.
	if n, err := s.ResetsSince(ctx, "bob", now.Add(-time.Hour)); err != nil || n != 1 {
		t.Fatalf("bob's ended reset: %d %v", n, err)
	}
}

func links(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	if _, ok, err := s.LinkedUser(ctx, "discord", "1"); err != nil || ok {
		t.Fatalf("unlinked: %v %v", ok, err)
	}
	alice := resetflow.User{ID: "id-a", UPN: "alice@contoso.example", DisplayName: "Alice"}
	bob := resetflow.User{ID: "id-b", UPN: "bob@contoso.example", DisplayName: "Bob"}
	if err := s.SetLink(ctx, "discord", "1", alice); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLink(ctx, "discord", "1", bob); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLink(ctx, "other", "1", alice); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, o)
	if u, ok, err := s.LinkedUser(ctx, "discord", "1"); err != nil || !ok || u != bob {
		t.Fatalf("replaced link: %+v %v %v", u, ok, err)
	}
	if removed, err := s.RemoveLink(ctx, "discord", "1"); err != nil || !removed {
		t.Fatalf("remove: %v %v", removed, err)
	}
	if removed, err := s.RemoveLink(ctx, "discord", "1"); err != nil || removed {
		t.Fatalf("remove again: %v %v", removed, err)
	}
	if u, ok, _ := s.LinkedUser(ctx, "other", "1"); !ok || u != alice {
		t.Fatalf("another platform's link: %+v %v", u, ok)
	}
}

func secrets(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	at := time.Now().UTC().Add(time.Minute).Truncate(time.Millisecond)
	for _, sh := range []sqlite.ShownSecret{
		{Platform: "slack", Channel: "D1", MessageID: "2", Locale: "ja", RemoveAt: at.Add(time.Second)},
		{Platform: "slack", Channel: "D1", MessageID: "1", Locale: "en", RemoveAt: at},
		{Platform: "discord", Channel: "9", MessageID: "1", Locale: "en", RemoveAt: at},
	} {
		if err := s.SecretShown(ctx, sh); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SecretRemoved(ctx, "slack", "D1", "2"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, o)
	got, err := s.SecretsShown(ctx, "slack")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].MessageID != "1" || got[0].Locale != "en" || !got[0].RemoveAt.Equal(at) || got[0].Platform != "slack" {
		t.Fatalf("shown: %+v", got)
	}
}

func prune(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	old := time.Now().UTC().Add(-100 * 24 * time.Hour)
	recent := time.Now().UTC()
	for _, e := range []resetflow.Event{
		{Time: old, Flow: "o", Step: "request"}, {Time: old.Add(time.Second), Flow: "o", Step: "result"}, {Time: recent, Flow: "n", Step: "request"},
	} {
		if err := s.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []resetflow.InFlight{reset("ended", "a", old), reset("open", "b", old), reset("new", "c", recent)} {
		if err := s.BeginReset(ctx, r, old.Add(-time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	s.EndReset(ctx, "ended", "done")
	s.EndReset(ctx, "new", "done")
	if err := s.SetLink(ctx, "discord", "1", resetflow.User{ID: "x", UPN: "x@y"}); err != nil {
		t.Fatal(err)
	}
	n, err := s.Prune(ctx, recent.Add(-90*24*time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("pruned %d, %v", n, err)
	}
	all, _ := s.Events(ctx, sqlite.Filter{})
	if steps(all) != "n/request" {
		t.Fatalf("left: %s", steps(all))
	}
	list, _ := s.InFlight(ctx)
	var flows []string
	for _, r := range list {
		flows = append(flows, r.Flow)
	}
	sort.Strings(flows)
	if strings.Join(flows, ",") != "open" {
		t.Fatalf("in flight after prune: %v", flows)
	}
	if n, _ := s.ResetsSince(ctx, "a", old.Add(-time.Hour)); n != 0 {
		t.Fatalf("an old ended reset was kept: %d", n)
	}
	if n, _ := s.ResetsSince(ctx, "c", old); n != 1 {
		t.Fatalf("a recent ended reset was pruned: %d", n)
	}
	if _, ok, _ := s.LinkedUser(ctx, "discord", "1"); !ok {
		t.Fatal("prune removed a link")
	}
}

func conversations(t *testing.T, o func() Store, _ error) {
	ctx := context.Background()
	s := open(t, o)
	now := time.Now().UTC().Truncate(time.Millisecond)
	addr := func(u string) resetflow.Address {
		return resetflow.Address{Platform: "slack", UserID: u, Channel: "D" + u}
	}
	for _, c := range []struct {
		flow, user, loc string
		at              time.Time
	}{
		{"b", "U2", "ja", now.Add(time.Second)}, {"a", "U1", "en", now}, {"ended", "U3", "en", now}, {"stale", "U4", "en", now.Add(-2 * time.Hour)},
	} {
		if err := s.ConversationOpened(ctx, c.flow, addr(c.user), c.loc, c.at); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ConversationClosed(ctx, "ended"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, o)
	// One opened after the restart is this process's own: not taken.
	if err := s.ConversationOpened(ctx, "mine", addr("U5"), "en", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.TakeConversations(ctx, now.Add(-time.Hour), now.Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Flow != "a" || got[1].Flow != "b" || got[0].Address != addr("U1") || got[1].Locale != "ja" || !got[1].Opened.Equal(now.Add(time.Second)) {
		t.Fatalf("open conversations: %+v", got)
	}
	if again, err := s.TakeConversations(ctx, time.Time{}, now.Add(30*time.Second)); err != nil || len(again) != 0 {
		t.Fatalf("taken twice (or the stale one kept): %+v %v", again, err)
	}
	if mine, err := s.TakeConversations(ctx, time.Time{}, now.Add(2*time.Minute)); err != nil || len(mine) != 1 || mine[0].Flow != "mine" {
		t.Fatalf("the conversation opened after the restart: %+v %v", mine, err)
	}
}
