package resetflow

// The reset itself: confirm counts it against the daily limit and records it
// in flight; runReset asks the device service, awaits its result and delivers
// it; Resume picks up the resets a stopped process left in flight.

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// confirm takes "Reset passcode" after the warning.
func (e *Engine) confirm(ctx context.Context, from Address, loc, flow string) {
	now := e.d.Clock.Now()
	e.locked(func() func() {
		c := e.convs[from.key()]
		switch {
		case c == nil || c.flow != flow:
			return func() { e.stale(ctx, from, loc) }
		case c.step == stepResetting:
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "already_resetting")})
		case c.step != stepConfirming:
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "not_yet"), Notice: e.stepHint(loc, c.step)})
		case now.After(c.deadline):
			e.endLocked(c)
			return e.reply(ctx, from, e.expiredMessage(loc, "expired_confirm"))
		case e.closing.Load():
			// Shutting down: no new reset may start while the running ones drain.
			e.endLocked(c)
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "shutting_down")})
		}
		// From here on the conversation is resetting: a second click finds it so.
		c.step = stepResetting
		if c.timer != nil {
			c.timer.Stop()
		}
		cs := *c
		// Counted under e.mu, where Shutdown sets closing: Shutdown waits for this reset.
		e.bg.Add(1)
		return func() { e.startReset(ctx, from, loc, c, cs, now) }
	})
}

// startReset follows a confirmation: it records it, counts the reset against the
// daily limit and runs it in the background. c is the conversation, resetting,
// and cs a copy taken under e.mu; e.bg already counts the reset.
func (e *Engine) startReset(ctx context.Context, from Address, loc string, c *conversation, cs conversation, now time.Time) {
	base := cs.event(now)
	fail := func() {
		e.mu.Lock()
		e.endLocked(c)
		e.mu.Unlock()
		e.bg.Done()
	}
	// The limit is checked and the reset counted in one step of the store, so
	// two processes on one database cannot both pass the last free slot; with
	// one database for both, the confirmation is recorded in the same commit.
	confirmed := withStep(base, StepConfirm, "", "")
	dev := cs.chosen()
	inf := InFlight{Flow: cs.flow, Address: from, Locale: loc, User: cs.user, Device: dev, Outcome: cs.outcome, Started: now}
	begin := BeginReset{Reset: inf, Since: now.Add(-24 * time.Hour), Limit: e.cfg.MaxResetsPerDay}
	together, err := e.together(ctx, Commit{Events: []Event{confirmed}, Begin: &begin})
	if !together {
		if err = e.d.Recorder.Record(ctx, confirmed); err == nil {
			err = e.d.Store.BeginReset(ctx, inf, begin.Since, begin.Limit)
		}
	}
	if err != nil {
		fail()
		if errors.Is(err, ErrLimitReached) {
			e.limitReached(ctx, from, loc, cs.flow, cs.user, &dev)
			return
		}
		e.auditDown(ctx, from, loc, cs.user, &dev, err)
		return
	}
	e.send(ctx, from, Message{Text: e.cat.T(loc, "resetting", map[string]any{"Device": dev.Name}), Replace: progressKey(cs.flow)})
	go func() {
		defer e.bg.Done()
		e.runReset(e.bgCtx, inf, true)
	}()
}

// runReset asks the backend for the reset (unless resuming one already asked for),
// waits for the device's result and tells the person and, if needed, the helpdesk.
func (e *Engine) runReset(ctx context.Context, r InFlight, request bool) {
	base := newEvent(time.Time{}, r.Flow, r.Address, r.User, r.Device.ID) // timed at each step
	loc := r.Locale
	if request {
		err := e.d.Devices.ResetPasscode(ctx, r.Device)
		base.Time = e.d.Clock.Now()
		if err != nil && KindOf(err) != KindAmbiguous {
			e.log.Warn("reset request failed", "flow", r.Flow, "device", r.Device.ID, "err", err)
			e.settle(ctx, r, withStep(base, StepResetRequested, OutcomeError, errorDetail(err)), "backend_error", false)
			e.alert(ctx, AlertBackendError, r.Address, r.User, &r.Device, errorDetail(err))
			e.send(ctx, r.Address, Message{Text: e.backendSentence(loc, err), Buttons: e.startAgain(loc)})
			return
		}
		detail := ""
		if err != nil {
			detail = "ambiguous: " + errorDetail(err)
			e.log.Warn("reset request may or may not have been accepted; reading its state", "flow", r.Flow, "err", err)
		}
		e.record(ctx, base, StepResetRequested, OutcomeSent, detail)
	}
	defer e.track(r)()
	res, err := e.await(ctx, r.Device, r.Started)
	e.finishProgress(ctx, r.Device.ID, finalPhase(ctx, res, err))
	base.Time = e.d.Clock.Now()
	if err != nil {
		if ctx.Err() != nil {
			return // shutting down: the reset stays in flight and is resumed at the next start
		}
		e.log.Warn("no final reset result", "flow", r.Flow, "device", r.Device.ID, "err", err)
		e.settle(ctx, r, withStep(base, StepResult, "timed_out", errorDetail(err)), "timed_out", false)
		kind := AlertResetTimedOut
		if !request {
			kind = AlertResetUnknown // the bot restarted while this reset was in flight
		}
		e.alert(ctx, kind, r.Address, r.User, &r.Device, errorDetail(err))
		e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "result_timed_out", map[string]any{"Device": r.Device.Name})})
		return
	}
	// A done reset is marked delivered before anything is shown: a restart
	// never shows this result again.
	marked := e.settle(ctx, r, withStep(base, StepResult, string(res.State), res.ErrorCode), string(res.State), res.State == ActionDone)
	switch res.State {
	case ActionDone:
		if marked != nil {
			e.log.Error("recording the delivery failed; not showing the result", "flow", r.Flow, "err", marked)
			e.undelivered(ctx, r, "not_recorded", "the delivery could not be recorded")
			return
		}
		if !request && Outcomes[r.Outcome].TemporaryPasscode {
			// Resumed after a restart: a passcode older than the chat keeps one is not shown.
			at := res.Updated
			if at.IsZero() {
				at = res.Started
			}
			if age := e.d.Clock.Now().Sub(at); at.IsZero() || age > e.cfg.SecretTTL {
				e.undelivered(ctx, r, "too_old", fmt.Sprintf("resumed passcode older than secret_ttl (%v)", e.cfg.SecretTTL))
				return
			}
		}
		e.deliver(ctx, r, res)
	case ActionNotSupported:
		e.alert(ctx, AlertNotSupported, r.Address, r.User, &r.Device, "actionState=notSupported")
		e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "result_not_supported", map[string]any{"Device": r.Device.Name})})
	default:
		e.alert(ctx, AlertResetFailed, r.Address, r.User, &r.Device, e.failureDetail(r, res))
		e.send(ctx, r.Address, Message{Text: e.failureText(loc, r), Buttons: e.startAgain(loc)})
	}
}

// await polls the reset's state with backoff until it is final or PollTimeout has passed.
// Only a result that started at our request (within GraphSkew) is ours: one without
// a start time, or started earlier, belongs to an earlier reset and is ignored. Once
// our reset has been seen pending or active, only a result with that start is ours.
func (e *Engine) await(ctx context.Context, d Device, since time.Time) (ActionResult, error) {
	deadline := since.Add(e.cfg.PollTimeout)
	wait := e.nextPoll(since)
	var last error
	var seen time.Time // start of our reset, once seen pending or active
	ours := func(res ActionResult) bool {
		if res.Started.IsZero() || res.Started.Before(since.Add(-e.cfg.GraphSkew)) {
			return false
		}
		return seen.IsZero() || res.Started.Equal(seen)
	}
	for {
		select {
		case <-e.d.Clock.After(wait):
		case <-ctx.Done():
			return ActionResult{}, ctx.Err()
		}
		res, err := e.d.Devices.ResetResult(ctx, d)
		e.observe(ctx, d, res, err)
		switch {
		case err == nil && res.State.Final() && ours(res):
			return res, nil
		case err == nil && (res.State == ActionPending || res.State == ActionActive) && seen.IsZero() && ours(res):
			seen = res.Started
		case err != nil:
			last = err
			switch KindOf(err) {
			case KindNotFound, KindForbidden, KindBadRequest:
				return ActionResult{}, err
			}
		}
		if !e.d.Clock.Now().Before(deadline) {
			if last == nil {
				last = &Error{Kind: KindUnavailable, Op: "await reset result", Err: errors.New("no final state in time")}
			}
			return ActionResult{}, last
		}
		wait = e.nextPoll(since)
	}
}

// deliver sends the outcome of a successful reset: the passcode (DM only) and how
// to change it, then the success notice. When the outcome cannot be sent, the
// person is told so and whom to ask, and the helpdesk is alerted; never "success".
func (e *Engine) deliver(ctx context.Context, r InFlight, res ActionResult) {
	loc := r.Locale
	info := Outcomes[r.Outcome]
	data := map[string]any{"Device": r.Device.Name}
	guide := e.cat.T(loc, "guide_"+string(r.Outcome), data)
	var err error
	switch {
	case !info.TemporaryPasscode:
		err = e.d.Messenger.Send(ctx, r.Address, Message{Text: e.cat.T(loc, "removed_"+string(r.Outcome), data) + "\n" + guide})
	case res.Passcode == nil || res.Passcode.Reveal() == "":
		// Done without a passcode: the person is told where to look, never "success".
		e.record(ctx, e.resetEvent(r), StepDelivery, "missing", "actionState=done without a passcode")
		e.alert(ctx, AlertResetFailed, r.Address, r.User, &r.Device, "actionState=done without a passcode")
		e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "passcode_missing", data)})
		return
	default:
		err = e.d.Messenger.Send(ctx, r.Address, Message{
			Text:   e.cat.T(loc, "passcode_intro_"+string(r.Outcome), data),
			Secret: NewSecret(e.cat.T(loc, "passcode_label"), res.Passcode.Reveal()),
			Notice: guide,
			Locale: loc,
		})
	}
	if err != nil {
		e.log.Error("sending the reset's result failed", "flow", r.Flow, "platform", r.Address.Platform, "chat_user", r.Address.UserID, "err", err)
		e.undelivered(ctx, r, "failed", "the result message could not be sent: "+errorDetail(err))
		return
	}
	e.record(ctx, e.resetEvent(r), StepDelivery, "sent", "")
	e.send(ctx, r.Address, Message{Text: e.cat.T(loc, "success", data)})
}

// undelivered handles a successful reset whose result is not shown in chat:
// audit, helpdesk alert, and a sentence naming whom to ask. Nothing else shows the passcode.
func (e *Engine) undelivered(ctx context.Context, r InFlight, outcome, detail string) {
	e.record(ctx, e.resetEvent(r), StepDelivery, outcome, detail)
	e.alert(ctx, AlertDeliveryFailed, r.Address, r.User, &r.Device, "delivery="+outcome+": "+detail)
	e.send(ctx, r.Address, Message{Text: e.cat.T(r.Locale, "result_undelivered", map[string]any{"Device": r.Device.Name})})
}

// resetEvent is the audit event of a reset in flight, at the engine's time.
func (e *Engine) resetEvent(r InFlight) Event {
	return newEvent(e.d.Clock.Now(), r.Flow, r.Address, r.User, r.Device.ID)
}

// settle records a reset's final outcome before the person is told: its
// event, for a result about to be shown the delivery mark, the end of the
// reset and of its conversation. With one database for all of it that is one
// commit; otherwise, or when that commit failed (it then wrote nothing), the
// parts go apart as finish does. It returns the delivery mark's error: a
// result not so marked must not be shown.
func (e *Engine) settle(ctx context.Context, r InFlight, ev Event, outcome string, deliver bool) error {
	c := Commit{Events: []Event{ev}, End: &EndReset{Flow: r.Flow, Outcome: outcome}, Closed: r.Flow}
	if deliver {
		c.Delivered = r.Flow
	}
	if together, err := e.together(ctx, c); together && err == nil {
		e.mu.Lock()
		if c := e.convs[r.Address.key()]; c != nil && c.flow == r.Flow {
			e.dropLocked(c) // its end is committed above
		}
		e.mu.Unlock()
		return nil
	}
	if err := e.d.Recorder.Record(ctx, ev); err != nil {
		e.log.Error("audit record failed", "flow", ev.Flow, "step", ev.Step, "err", err)
	}
	var marked error
	if deliver {
		marked = e.d.Store.MarkDelivered(ctx, r.Flow)
	}
	e.finish(ctx, r, outcome)
	return marked
}

// finish records a reset's final outcome and closes its conversation, before the
// person is told: by the time they read the result, they can start again.
func (e *Engine) finish(ctx context.Context, r InFlight, outcome string) {
	e.endReset(ctx, r.Flow, outcome)
	e.mu.Lock()
	if c := e.convs[r.Address.key()]; c != nil && c.flow == r.Flow {
		e.endLocked(c)
	}
	e.mu.Unlock()
}

// endReset records a reset's end, trying a few times: a lost end record would
// leave the reset in flight for the next start (which then only ends it, since
// a delivered reset is never delivered again).
func (e *Engine) endReset(ctx context.Context, flow, outcome string) {
	var err error
	for range endResetTries {
		if err = e.d.Store.EndReset(ctx, flow, outcome); err == nil {
			return
		}
	}
	e.log.Error("recording the end of a reset failed; the next start ends it", "flow", flow, "tries", endResetTries, "err", err)
}

const endResetTries = 3

// Resume picks up resets that were in flight when the process stopped: it never
// asks for them again, it only reads their result and tells the person. A reset
// whose result was already delivered is only ended.
func (e *Engine) Resume(ctx context.Context) error {
	list, err := e.d.Store.InFlight(ctx)
	if err != nil {
		return err
	}
	for _, r := range list {
		if r.Delivered {
			e.log.Info("a reset delivered before the restart had no end record; ending it", "flow", r.Flow)
			e.endReset(ctx, r.Flow, "delivered")
			continue
		}
		e.mu.Lock()
		c := &conversation{addr: r.Address, flow: r.Flow, locale: r.Locale, user: r.User, step: stepResetting, device: &r.Device, outcome: r.Outcome}
		e.convs[r.Address.key()] = c
		if uk := r.User.Key(); uk != "" {
			e.byUser[uk] = r.Address.key()
		}
		e.mu.Unlock()
		e.bg.Add(1)
		go func() {
			defer e.bg.Done()
			e.runReset(e.bgCtx, r, false)
		}()
	}
	return nil
}
