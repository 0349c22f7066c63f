package resetflow

// What the engine tells the world besides the conversation: the audit trail,
// helpdesk alerts, the safe sentences for failures, and sending replies.

import (
	"context"
	"fmt"
	"time"
)

// Step names an audit event's step (Event.Step). metrics counts by them.
type Step string

// The steps of the audit trail, in the order a reset goes through them.
const (
	StepRequest        Step = "request"         // a person asked for a reset
	StepDevicesListed  Step = "devices_listed"  // their devices were listed (outcome: how many, or "error")
	StepEligibility    Step = "eligibility"     // the chosen device against the rules (outcome: the decision)
	StepLinkIssued     Step = "link_issued"     // a sign-in link was sent
	StepSignIn         Step = "signin"          // a sign-in came back (outcome: ok, expired, stale, wrong_person, ...)
	StepConfirm        Step = "confirm"         // the person confirmed the warning
	StepResetRequested Step = "reset_requested" // the device service was asked (outcome: OutcomeSent or OutcomeError)
	StepResult         Step = "result"          // the reset's final state (outcome: the ActionState, or timed_out)
	StepDelivery       Step = "delivery"        // the result shown in chat, or why not
	StepCancel         Step = "cancel"          // the person cancelled (outcome: the step they were in)
	StepExpired        Step = "expired"         // a step's deadline passed (outcome: the step)
	StepLimit          Step = "limit"           // the daily limit refused a reset
	StepLink           Step = "link"            // a chat account was linked, or the linking failed
	StepPairIssued     Step = "pair_issued"     // a pairing code was shown on the sign-in page
	StepPair           Step = "pair"            // a pairing code was typed wrong, or the pairing refused
	StepUnlink         Step = "unlink"          // a chat account's link was removed
	StepAlertAck       Step = "alert_ack"       // a helpdesk alert was taken (recorded by the wiring)
)

// Outcomes of StepResetRequested.
const (
	OutcomeSent  = "sent"  // the request was accepted, or may have been (ambiguous)
	OutcomeError = "error" // the request failed: no reset happened
)

func (e *Engine) limitReached(ctx context.Context, from Address, loc, flow string, u User, d *Device) {
	e.record(ctx, newEvent(e.d.Clock.Now(), flow, from, u, ""), StepLimit, "refused", "")
	e.alert(ctx, AlertLimitReached, from, u, d, fmt.Sprintf("max_per_24h=%d", e.cfg.MaxResetsPerDay))
	e.send(ctx, from, Message{Text: e.cat.T(loc, "limit_reached", map[string]any{"Max": e.cfg.MaxResetsPerDay})})
}

func (e *Engine) auditDown(ctx context.Context, to Address, loc string, u User, d *Device, err error) {
	e.log.Error("audit trail or state store unavailable; refusing to reset", "err", err)
	e.alert(ctx, AlertAuditDown, to, u, d, "audit trail or state store not writable")
	e.send(ctx, to, Message{Text: e.cat.T(loc, "audit_unavailable")})
}

// backendSentence is the safe sentence for a backend failure.
func (e *Engine) backendSentence(loc string, err error) string {
	switch KindOf(err) {
	case KindThrottled, KindUnavailable, KindAmbiguous:
		return e.cat.T(loc, "backend_busy")
	case KindForbidden:
		return e.cat.T(loc, "backend_forbidden")
	case KindNotFound:
		return e.cat.T(loc, "backend_not_found")
	default:
		return e.cat.T(loc, "backend_error")
	}
}

// newEvent is the one place an audit event is made: who (the chat account and
// the directory user), which attempt, which device, when. withStep names the step.
func newEvent(at time.Time, flow string, from Address, u User, deviceID string) Event {
	return Event{Time: at, Flow: flow, Platform: from.Platform, ChatUser: from.UserID, UserID: u.ID, UserUPN: u.UPN, DeviceID: deviceID}
}

// event is the audit event of the conversation at a time: its attempt, chat
// account, directory user (once known) and device (once chosen).
func (c *conversation) event(at time.Time) Event {
	return newEvent(at, c.flow, c.addr, c.user, c.chosen().ID)
}

func withStep(ev Event, step Step, outcome, detail string) Event {
	ev.Step, ev.Outcome, ev.Detail = string(step), outcome, detail
	return ev
}

// recordAll appends the events in one transaction when the recorder can (one
// disk sync for a chat action that records several steps). A failure is logged
// and returned; the caller decides whether the step may go on without it.
func (e *Engine) recordAll(ctx context.Context, evs ...Event) error {
	var err error
	if b, ok := e.d.Recorder.(BatchRecorder); ok {
		err = b.RecordBatch(ctx, evs)
	} else {
		for _, ev := range evs {
			if err = e.d.Recorder.Record(ctx, ev); err != nil {
				break
			}
		}
	}
	if err != nil {
		e.log.Error("audit record failed", "flow", evs[0].Flow, "step", evs[0].Step, "err", err)
	}
	return err
}

// record appends an audit event for a step whose effect does not depend on it.
func (e *Engine) record(ctx context.Context, base Event, step Step, outcome, detail string) {
	if err := e.d.Recorder.Record(ctx, withStep(base, step, outcome, detail)); err != nil {
		e.log.Error("audit record failed", "flow", base.Flow, "step", step, "err", err)
	}
}

func (e *Engine) alert(ctx context.Context, kind AlertKind, from Address, u User, d *Device, detail string) {
	e.d.Alerter.Alert(ctx, Alert{ID: newFlowID(), Kind: kind, Time: e.d.Clock.Now(), Platform: from.Platform, ChatUser: from.UserID, User: u, Device: d, Detail: detail})
}

func (e *Engine) send(ctx context.Context, to Address, m Message) {
	if err := e.d.Messenger.Send(ctx, to, m); err != nil {
		e.log.Error("sending a message failed", "platform", to.Platform, "chat_user", to.UserID, "err", err)
	}
}
