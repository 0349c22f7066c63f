package sqlite

import (
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// The console store's tests are storetest.RunConsole, run for SQLite in
// conformance_test.go and for PostgreSQL in postgres/conformance_test.go.

// flowEvents is one completed reset of an iPhone and one refused scanner, at t.
func flowEvents(flow string, t time.Time, confirmToDone time.Duration) []resetflow.Event {
	b := resetflow.Event{Flow: flow, Platform: "slack", ChatUser: "U1", UserUPN: "alice@contoso.example", UserID: "u1", DeviceID: "d-" + flow}
	at := func(d time.Duration, step, outcome string) resetflow.Event {
		e := b
		e.Time, e.Step, e.Outcome = t.Add(d), step, outcome
		return e
	}
	return []resetflow.Event{at(0, "request", ""), at(time.Second, "eligibility", "allow"), at(time.Minute, "confirm", ""),
		at(time.Minute+confirmToDone, "result", "done")}
}
