package console

import (
	"context"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Store is the console's read side of the audit trail and the helpdesk alert
// state. The SQLite store implements it (sqlite.ConsoleStore); every store the
// bot can run on implements it with the same meaning. Times are UTC; periods
// are half-open [Since, Until).
type Store interface {
	// Counts counts audit events of the steps the overview needs (request,
	// devices_listed, eligibility, signin, confirm, result, cancel, expired,
	// limit, reset_requested, delivery) by hour, step, outcome and chat platform. A key
	// may come more than once (the counts add up).
	Counts(ctx context.Context, since, until time.Time) ([]Count, error)
	// Unlocks lists, for every flow whose result was shown in chat (audit
	// delivery "sent") in the period, the time it was shown and of the
	// confirmation before it.
	Unlocks(ctx context.Context, since, until time.Time) ([]Unlock, error)
	// ByDeviceOS counts eligibility, result and delivery events in the period by the
	// operating system of their device (as last listed), step and outcome.
	ByDeviceOS(ctx context.Context, since, until time.Time) ([]OSCount, error)
	// Trail lists audit events matching q in time order, at most q.Limit.
	Trail(ctx context.Context, q TrailQuery) ([]resetflow.Event, error)

	// SaveAlert stores a new helpdesk alert as open and not taken.
	SaveAlert(ctx context.Context, a Alert) error
	// Alerts lists alerts newest first.
	Alerts(ctx context.Context, f AlertFilter) ([]Alert, error)
	// AlertKinds counts the alerts raised in the period by kind, device OS and chat platform.
	AlertKinds(ctx context.Context, since, until time.Time) ([]KindCount, error)
	// TakeAlert marks an alert as taken by who (via "console", "slack", ...)
	// unless someone took it before; it returns the alert as it now is and
	// whether this call took it. found is false for an unknown id.
	TakeAlert(ctx context.Context, id, who, via string, at time.Time) (a Alert, took, found bool, err error)
	// ResolveAlert closes an open alert with a note; it reports whether it did.
	ResolveAlert(ctx context.Context, id, who, note string, at time.Time) (bool, error)

	// RecordWithDevices appends audit events and, in the same transaction,
	// remembers the operating system of the devices they name.
	RecordWithDevices(ctx context.Context, evs []resetflow.Event, devices []resetflow.Device) error
}

// Count is how many events of one step and outcome one chat platform recorded in one hour.
type Count struct {
	Hour    time.Time // UTC, truncated to the hour
	Step    string
	Outcome string
	Chat    string // the event's platform: slack, discord, shell, teams
	N       int
}

// Unlock is one completed reset: when it was confirmed and when its result
// (the passcode) was shown in chat.
type Unlock struct {
	Confirmed time.Time
	Done      time.Time // when the result was shown: the delivery "sent"
}

// OSCount is how many events of one step and outcome concern devices of one OS.
type OSCount struct {
	OS      string
	Step    string
	Outcome string
	N       int
}

// KindCount is how many alerts of one kind concern devices of one OS ("" when
// none) and came from one chat platform.
type KindCount struct {
	Kind string
	OS   string
	Chat string
	N    int
}

// TrailQuery selects audit events. Empty fields match everything.
type TrailQuery struct {
	Person string // UPN (any case), directory object id or chat user id
	Device string
	Flow   string
	Since  time.Time
	Until  time.Time
	Limit  int
}

// Alert is a helpdesk alert and what the helpdesk did with it.
type Alert struct {
	ID         string
	Time       time.Time
	Kind       string
	Platform   string
	ChatUser   string
	UserUPN    string
	UserID     string
	DeviceID   string
	DeviceName string
	DeviceOS   string
	Detail     string
	TakenBy    string
	TakenVia   string // console, slack, discord
	TakenAt    time.Time
	ResolvedBy string
	ResolvedAt time.Time
	Note       string
}

// Open reports whether the alert is not resolved.
func (a Alert) Open() bool { return a.ResolvedAt.IsZero() }

// AlertFilter selects alerts.
type AlertFilter struct {
	OpenOnly bool
	Kind     string
	ID       string
	Limit    int
}
