package resetflow

import (
	"context"
	"errors"
	"time"
)

// Devices is the device management backend: the embedded fleet or Intune.
type Devices interface {
	// ListDevices returns the managed devices whose primary user is u.
	ListDevices(ctx context.Context, u User) ([]Device, error)
	// ResetPasscode asks the backend to reset the device's passcode, once.
	// It returns an error of kind Ambiguous when the request may have been
	// accepted; the engine then reads the result instead of asking again.
	ResetPasscode(ctx context.Context, d Device) error
	// ResetResult reads the state of the latest passcode reset of the device.
	ResetResult(ctx context.Context, d Device) (ActionResult, error)
}

// ActionState is the state of a device action, as Intune reports it.
type ActionState string

const (
	ActionNone         ActionState = "none"
	ActionPending      ActionState = "pending"
	ActionCanceled     ActionState = "canceled"
	ActionActive       ActionState = "active"
	ActionDone         ActionState = "done"
	ActionFailed       ActionState = "failed"
	ActionNotSupported ActionState = "notSupported"
)

// Final reports whether the action has ended.
func (s ActionState) Final() bool {
	switch s {
	case ActionDone, ActionFailed, ActionCanceled, ActionNotSupported:
		return true
	}
	return false
}

// ActionResult is the state of a passcode reset on a device.
type ActionResult struct {
	State     ActionState
	Passcode  *Secret // the temporary passcode, when one was issued
	ErrorCode string
	Started   time.Time
	Updated   time.Time
}

// Directory maps a chat identity (email or UPN) to a directory user.
type Directory interface {
	LookupUser(ctx context.Context, email string) (User, error)
}

// Messenger delivers messages to people in chat.
type Messenger interface {
	Send(ctx context.Context, to Address, m Message) error
}

// Alerter tells the helpdesk about an outcome that needs a human. It must not block.
type Alerter interface {
	Alert(ctx context.Context, a Alert)
}

// Recorder appends to the audit trail. The engine records a step before it
// reports the step's effect; when Record fails the engine does not reset.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// BatchRecorder is a Recorder that can append several events in one
// transaction (one disk sync where a chat action records several steps).
type BatchRecorder interface {
	RecordBatch(ctx context.Context, evs []Event) error
}

// Store keeps the state that must outlive a process: reset counts and resets in flight.
type Store interface {
	// ResetsSince counts the resets requested for the user (User.Key) since t.
	ResetsSince(ctx context.Context, userKey string, since time.Time) (int, error)
	// BeginReset records a reset about to be requested, atomically with the daily limit: when the
	// user (r.User.Key()) already has `limit` or more resets begun since `since`, it records nothing
	// and returns ErrLimitReached.
	BeginReset(ctx context.Context, r InFlight, since time.Time, limit int) error
	// MarkDelivered records that the reset's result is about to be shown to the person.
	// The engine calls it before it delivers a passcode; a reset so marked is never
	// delivered again, even when its EndReset was lost. Marking twice is not an error.
	MarkDelivered(ctx context.Context, flow string) error
	// EndReset records that the reset has a final outcome.
	EndReset(ctx context.Context, flow string, outcome string) error
	// InFlight lists resets begun and not ended, delivered ones included (Delivered set).
	InFlight(ctx context.Context) ([]InFlight, error)
}

// ErrLimitReached is BeginReset's answer when the user has used up the daily limit.
var ErrLimitReached = errors.New("resetflow: daily reset limit reached")

// InFlight is a reset that was requested and has no final outcome yet.
type InFlight struct {
	Flow    string
	Address Address
	Locale  string
	User    User
	Device  Device
	Outcome Outcome
	Started time.Time
	// Delivered is set once MarkDelivered was recorded: the result was (or was
	// about to be) shown, and must not be shown again.
	Delivered bool `json:",omitempty"`
}

// AlertKind says why the helpdesk is alerted. Kinds only grow at the end.
type AlertKind string

const (
	AlertContactSupport AlertKind = "contact_support"   // company device without self-service reset
	AlertFactoryReset   AlertKind = "factory_reset"     // device can only be factory reset
	AlertNotSupported   AlertKind = "not_supported"     // platform without passcode reset
	AlertLimitReached   AlertKind = "limit_reached"     // too many resets in 24 h
	AlertWrongPerson    AlertKind = "wrong_person"      // someone else signed in with the link
	AlertResetFailed    AlertKind = "reset_failed"      // the device reported failure
	AlertResetTimedOut  AlertKind = "reset_timed_out"   // no final result in time
	AlertBackendError   AlertKind = "backend_error"     // the device backend refused or is down
	AlertAuditDown      AlertKind = "audit_unavailable" // the audit trail could not be written
	AlertResetUnknown   AlertKind = "reset_unknown"     // a restart lost track of a reset
	AlertAccountLinked  AlertKind = "account_linked"    // a chat account was linked to a directory user (pairing completed)
	AlertLinkRefused    AlertKind = "link_refused"      // an account linking was refused: wrong, late or foreign pairing code, another browser
	AlertDeliveryFailed AlertKind = "delivery_failed"   // the reset worked but its result could not be shown in chat
	AlertsFolded        AlertKind = "alerts_folded"     // a full alert queue folded alerts into a count
)

// Alert is one helpdesk notification. It never carries a passcode or token.
type Alert struct {
	ID       string
	Kind     AlertKind
	Time     time.Time
	Platform string
	ChatUser string
	User     User
	Device   *Device
	Detail   string // backend error code and request id; never a secret
	ChatName string // how the chat platform names the account (username, display name), when known
	// Repeats, when above zero, is how many alerts this one stands for, raised
	// since Since: alerts like it (same person, kind and device) folded together,
	// or, for AlertsFolded, the alerts a full queue could not hold.
	Repeats int       `json:",omitempty"`
	Since   time.Time `json:",omitzero"`
}

// Event is one audit trail entry.
type Event struct {
	Time     time.Time
	Flow     string
	Step     string // a Step: request, devices_listed, eligibility, link_issued, signin, confirm, reset_requested, result, delivery, cancel, alert_ack, ...
	Platform string
	ChatUser string
	UserID   string
	UserUPN  string
	DeviceID string
	Outcome  string
	Detail   string
}

// Handler takes what a person did in chat. The Engine is one; chat adapters call it.
type Handler interface {
	Handle(ctx context.Context, in Input)
}

// Links remembers which directory user a chat account belongs to, for platforms
// whose accounts carry no company email (Discord). A link is made by a sign-in.
type Links interface {
	LinkedUser(ctx context.Context, platform, chatUserID string) (User, bool, error)
	SetLink(ctx context.Context, platform, chatUserID string, u User) error
	// RemoveLink forgets a link; it reports whether there was one.
	RemoveLink(ctx context.Context, platform, chatUserID string) (bool, error)
}

// Conversations is told when a conversation opens and when it ends, so that a
// bot taking over after a crash or a failover can tell the people whose
// conversation was open that it restarted. It is optional.
type Conversations interface {
	ConversationOpened(ctx context.Context, flow string, to Address, locale string, at time.Time) error
	ConversationClosed(ctx context.Context, flow string) error
}
