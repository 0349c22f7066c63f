package resetflow

// The conversation, one per chat account (Address.key), and at most one per
// directory user. It moves through these steps; every other input in a step
// gets a hint for that step and changes nothing.
//
//	step        input                                  next step, and where
//	----------  -------------------------------------  -----------------------------------------------
//	(none)      "reset", a start button                picking (start, begin: the device list)
//	            ... with no verified company identity  linking (start, startLink: a sign-in link)
//	linking     the linking sign-in (CompleteSignIn)   pairing (beginPairing: a code on the page)
//	pairing     the code, typed in this chat           picking (pairText, finishLink, begin)
//	            a wrong code, PairTries times          (none): refused, helpdesk told (pairText)
//	picking     a number, a name, a pick button        signing_in (pick: eligibility, a sign-in link)
//	            ... the linking sign-in still fresh    confirming (pick: the warning)
//	            ... a device the rules refuse          (none): denied, helpdesk told (pick)
//	signing_in  the owner's fresh sign-in              confirming (CompleteSignIn, warnLocked)
//	            someone else's sign-in                 (none): refused, helpdesk told (CompleteSignIn)
//	            an old sign-in (stale)                 signing_in: the link still works
//	            the callback from another browser      (none): refused (RefuseSignIn)
//	confirming  the reset button                       resetting (reset.go: confirm, runReset)
//	resetting   the device's final result              (none): passcode or reason (runReset, deliver)
//	any but     "cancel", a cancel button              (none) (cancel)
//	resetting   "unlink"                               (none), link removed (link.go: unlink)
//	            the step's deadline passes             (none): "expired" (arm)
//
// Each step's deadline: PickTimeout while picking, Window for a sign-in link,
// Window after the sign-in for the warning, PairTTL for the code. A reset in
// flight (resetting) has no deadline; Resume picks it up after a restart.
//
// Files: this one holds the conversation; signin.go the sign-in windows and
// CompleteSignIn; link.go and pairing.go account linking; reset.go the reset
// itself; audit.go the audit trail, alerts and replies; input.go what typed
// text means; picklink.go and progress.go the device-list link and the
// progress message.

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/patrickmn/go-cache"

	"github.com/passcodebot/passcodebot/internal/clock"
)

type step uint8

const (
	stepPicking step = iota + 1
	stepSigningIn
	stepConfirming
	stepResetting
	stepLinking
	stepPairing
)

func (s step) String() string {
	return [...]string{"", "picking", "signing_in", "confirming", "resetting", "linking", "pairing"}[s]
}

// conversation is one person's reset in progress.
type conversation struct {
	addr     Address
	flow     string
	locale   string
	user     User
	step     step
	picked   uint8    // the chosen device's number in the list (0: past 255), once chosen
	devices  []Device // offered, while picking
	device   *Device  // chosen (nil until then: a conversation held at the device list is smaller, issue 8)
	outcome  Outcome
	window   string // sign-in token, while signing in or linking
	deadline time.Time
	timer    clock.Timer
	reauth   *Identity // a sign-in made while linking the account, if any
	account  string    // how the platform names the chat account, for the linking pages
	pair     *pairing  // while pairing: the sign-in waiting for its code
}

// chosen is the chosen device, or the zero Device before one is chosen.
func (c *conversation) chosen() Device {
	if c.device == nil {
		return Device{}
	}
	return *c.device
}

// Handle takes one thing a person did in chat. Replies go out through the Messenger.
func (e *Engine) Handle(ctx context.Context, in Input) {
	loc := e.localeFor(in)
	if in.Action != "" {
		e.handleAction(ctx, in, loc)
		return
	}
	cmd, n := parseText(in.Text)
	if cmd != cmdCancel && cmd != cmdHelp && cmd != cmdUnlink && e.pairText(ctx, in, loc) {
		return
	}
	switch cmd {
	case cmdCancel:
		e.cancel(ctx, in.From, loc, "")
	case cmdHelp:
		e.help(ctx, in.From, loc)
	case cmdReset:
		e.start(ctx, in, loc)
	case cmdNumber:
		e.pick(ctx, in.From, loc, "", n, false)
	case cmdUnlink:
		e.unlink(ctx, in.From, loc)
	default:
		if n := e.deviceByName(in.From, in.Text); n > 0 {
			e.pick(ctx, in.From, loc, "", n, false)
			return
		}
		e.send(ctx, in.From, Message{Text: e.cat.T(loc, "unknown_input"), Notice: e.cat.T(loc, "help_hint")})
	}
}

func (e *Engine) handleAction(ctx context.Context, in Input, loc string) {
	parts := strings.Split(in.Action, ":")
	switch {
	case parts[0] == actStart:
		e.start(ctx, in, loc)
	case parts[0] == actPick && len(parts) == 3:
		n, err := strconv.Atoi(parts[2])
		if err != nil {
			e.stale(ctx, in.From, loc)
			return
		}
		e.pick(ctx, in.From, loc, parts[1], n+1, false)
	case parts[0] == actConfirm && len(parts) == 2:
		e.confirm(ctx, in.From, loc, parts[1])
	case parts[0] == actCancel && len(parts) == 2:
		e.cancel(ctx, in.From, loc, parts[1])
	default:
		e.stale(ctx, in.From, loc)
	}
}

// Action values. The flow id ties a click to one attempt, so clicks on old messages do nothing.
const (
	actPick    = "pick"
	actConfirm = "confirm"
	actCancel  = "cancel"
	actStart   = "start"
)

func actionValue(kind, flow string, extra ...string) string {
	return strings.Join(append([]string{kind, flow}, extra...), ":")
}

// localeFor picks the reply language: the platform's, else the script of the text, else the default.
func (e *Engine) localeFor(in Input) string {
	if in.Locale != "" {
		return e.cat.Normalize(in.Locale)
	}
	if hasJapanese(in.Text) {
		return "ja"
	}
	e.mu.Lock()
	c := e.convs[in.From.key()]
	e.mu.Unlock()
	if c != nil {
		return c.locale
	}
	return e.cat.Default()
}

func (e *Engine) stale(ctx context.Context, to Address, loc string) {
	e.send(ctx, to, Message{Text: e.cat.T(loc, "stale_action"), Notice: e.cat.T(loc, "help_hint")})
}

// start begins a reset: who is this, may they, which devices do they have.
func (e *Engine) start(ctx context.Context, in Input, loc string) {
	if e.closing.Load() {
		e.send(ctx, in.From, Message{Text: e.cat.T(loc, "shutting_down")})
		return
	}
	if e.busy(in.From.key(), "") {
		e.send(ctx, in.From, Message{Text: e.cat.T(loc, "already_active"), Notice: e.cat.T(loc, "help_hint")})
		return
	}
	if !e.allowStart(ctx, in.From, loc, "chat:"+in.From.key()) {
		return
	}
	var user User
	if strings.TrimSpace(in.Email) == "" || in.Unverified {
		// A platform without verified company identities (Discord): the account
		// must be linked, by a sign-in and a pairing code typed back here.
		if e.d.Links == nil {
			e.send(ctx, in.From, Message{Text: e.cat.T(loc, "no_identity")})
			return
		}
		u, ok, err := e.d.Links.LinkedUser(ctx, in.From.Platform, in.From.UserID)
		if err != nil {
			e.log.Error("reading account links failed", "platform", in.From.Platform, "chat_user", in.From.UserID, "err", err)
			e.send(ctx, in.From, Message{Text: e.cat.T(loc, "backend_error")})
			return
		}
		if !ok {
			e.startLink(ctx, in.From, loc, in.AccountName)
			return
		}
		user = u
	} else {
		u, err := e.d.Directory.LookupUser(ctx, in.Email)
		if err != nil {
			e.log.Warn("directory lookup failed", "platform", in.From.Platform, "chat_user", in.From.UserID, "err", err)
			if KindOf(err) == KindNotFound {
				e.send(ctx, in.From, Message{Text: e.cat.T(loc, "unknown_user")})
				return
			}
			e.send(ctx, in.From, Message{Text: e.backendSentence(loc, err)})
			return
		}
		user = u
	}
	e.begin(ctx, in.From, loc, user, Identity{})
}

// busy reports whether the chat account, or the directory user, has a conversation.
func (e *Engine) busy(key, userID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.convs[key] != nil || (userID != "" && e.byUser[userID] != "")
}

// begin checks the limit and lists the user's devices. reauth is a sign-in that
// just happened (linking an account), which may stand in for the reset's own.
func (e *Engine) begin(ctx context.Context, from Address, loc string, user User, reauth Identity) {
	key := from.key()
	now := e.d.Clock.Now()
	flow := newFlowID()
	ev := withStep(newEvent(now, flow, from, user, ""), StepRequest, "", "")
	if uk := user.Key(); uk != "" && !e.allowStart(ctx, from, loc, "user:"+uk) {
		return
	}
	n, err := e.d.Store.ResetsSince(ctx, user.Key(), now.Add(-24*time.Hour))
	if err != nil {
		e.auditDown(ctx, from, loc, user, nil, err)
		return
	}
	if n >= e.cfg.MaxResetsPerDay {
		e.limitReached(ctx, from, loc, flow, user, nil)
		return
	}

	// Listing reads only; the request and what it found are recorded together,
	// in one transaction, before the person is told.
	devices, err := e.d.Devices.ListDevices(ctx, user)
	if err != nil {
		e.log.Warn("listing devices failed", "flow", flow, "user", user.UPN, "err", err)
		e.recordAll(ctx, ev, withStep(ev, StepDevicesListed, "error", errorDetail(err)))
		e.alert(ctx, AlertBackendError, from, user, nil, errorDetail(err))
		e.send(ctx, from, Message{Text: e.backendSentence(loc, err)})
		return
	}
	// With one database for all of it, the open conversation is remembered in
	// the same commit (one disk sync before the device list).
	evs := []Event{ev, withStep(ev, StepDevicesListed, strconv.Itoa(len(devices)), "")}
	var open *OpenedConversation
	if len(devices) > 0 {
		open = &OpenedConversation{Flow: flow, To: from, Locale: loc, At: now}
	}
	together, err := e.together(ctx, Commit{Events: evs, Opened: open})
	if !together {
		err = e.recordAll(ctx, evs...)
	}
	if err != nil {
		e.auditDown(ctx, from, loc, user, nil, err)
		return
	}
	if len(devices) == 0 {
		e.send(ctx, from, Message{Text: e.cat.T(loc, "no_devices")})
		return
	}

	c := &conversation{addr: from, flow: flow, locale: loc, user: user, step: stepPicking, devices: devices}
	if !reauth.AuthTime.IsZero() {
		c.reauth = &reauth
	}
	e.mu.Lock()
	if uk := user.Key(); e.convs[key] != nil || (uk != "" && e.byUser[uk] != "") {
		if together {
			e.closedLocked(flow) // remembered as open above
		}
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "already_active"), Notice: e.cat.T(loc, "help_hint")})
		return
	}
	e.convs[key] = c
	if uk := user.Key(); uk != "" {
		e.byUser[uk] = key
	}
	e.arm(c, now.Add(e.cfg.PickTimeout), "expired_pick")
	e.mu.Unlock()
	if !together {
		e.opened(ctx, c, now)
	}

	e.send(ctx, from, e.deviceList(c, key))
}

func (e *Engine) deviceList(c *conversation, key string) Message {
	loc := c.locale
	m := Message{Text: e.cat.T(loc, "pick_device", map[string]any{"Count": len(c.devices)}), Notice: e.cat.T(loc, "pick_hint")}
	for i, d := range c.devices {
		m.Choices = append(m.Choices, Choice{
			Value:  actionValue(actPick, c.flow, strconv.Itoa(i)),
			Label:  d.Name,
			Detail: e.deviceDetail(loc, d),
		})
	}
	m.Buttons = []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}}
	e.offerLinks(c, key, &m)
	return m
}

func (e *Engine) deviceDetail(loc string, d Device) string {
	seen := e.cat.T(loc, "never_synced")
	if !d.LastSync.IsZero() {
		seen = d.LastSync.In(e.cfg.Location).Format("2006-01-02 15:04")
	}
	return e.cat.T(loc, "device_detail", map[string]any{
		"Model": strings.TrimSpace(d.Maker + " " + d.Model), "OS": d.OS, "Version": d.OSVersion, "LastSync": seen,
	})
}

// pick takes the device choice: n is 1-based. flow is empty for a typed number.
// byLink: the choice came from a device-list link, whose browser is already on
// its way to the sign-in; the chat says so rather than asking to open a link.
func (e *Engine) pick(ctx context.Context, from Address, loc, flow string, n int, byLink bool) {
	e.locked(func() func() {
		c := e.convs[from.key()]
		switch {
		case c == nil || (flow != "" && c.flow != flow):
			if flow == "" {
				return e.reply(ctx, from, Message{Text: e.cat.T(loc, "unknown_input"), Notice: e.cat.T(loc, "help_hint")})
			}
			return func() { e.stale(ctx, from, loc) }
		case c.step != stepPicking:
			if flow == "" {
				return e.reply(ctx, from, Message{Text: e.cat.T(loc, "unknown_input"), Notice: e.stepHint(loc, c.step)})
			}
			if flow == c.flow && c.picked != 0 && n == int(c.picked) {
				// The same device again: a device button both opens its link, whose
				// page picks it, and sends the click; whichever comes second is no news.
				return nil
			}
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "already_picked"), Notice: e.stepHint(loc, c.step)})
		case n < 1 || n > len(c.devices):
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "no_such_device", map[string]any{"N": n, "Max": len(c.devices)})})
		}
		d := c.devices[n-1]
		c.devices = nil
		c.device = &d
		if n <= 255 {
			c.picked = uint8(n)
		}
		verdict := e.cfg.Rules.Evaluate(d)
		now := e.d.Clock.Now()
		base := c.event(now)
		if verdict.Decision != Allow {
			e.dropLocked(c)
			return func() {
				e.ended(ctx, c.flow, withStep(base, StepEligibility, string(verdict.Decision), verdict.Rule))
				kind := map[Decision]AlertKind{ContactSupport: AlertContactSupport, FactoryReset: AlertFactoryReset}[verdict.Decision]
				if kind == "" {
					kind = AlertNotSupported
				}
				e.alert(ctx, kind, from, c.user, &d, "rule="+verdict.Rule)
				e.send(ctx, from, Message{Text: e.cat.T(loc, "denied_"+string(verdict.Decision), map[string]any{"Device": d.Name})})
			}
		}
		c.outcome = verdict.Outcome
		if r := c.reauth; r != nil && now.Sub(r.AuthTime) <= e.cfg.Window && e.isOwner(d, c.user, *r) {
			// The sign-in that linked the account moments ago proves who this is.
			m := e.warnLocked(c, r.AuthTime, now)
			return func() {
				e.recordAll(ctx, withStep(base, StepEligibility, string(Allow), verdict.Rule),
					withStep(base, StepSignIn, "ok", "reused_link_signin auth_time="+r.AuthTime.UTC().Format(time.RFC3339)))
				e.send(ctx, from, m)
			}
		}
		token := newToken()
		deadline := now.Add(e.cfg.Window)
		c.step = stepSigningIn
		c.window = token
		e.windows.Set(token, &window{key: from.key(), flow: c.flow, locale: loc, issued: now, deadline: deadline}, cache.DefaultExpiration)
		e.arm(c, deadline, "expired_link")
		return func() {
			e.recordAll(ctx, withStep(base, StepEligibility, string(Allow), verdict.Rule),
				withStep(base, StepLinkIssued, "", "expires "+deadline.UTC().Format(time.RFC3339)))
			until := e.clockTime(deadline)
			text := "signin_needed"
			if byLink {
				text = "signin_in_browser"
			}
			e.send(ctx, from, Message{
				Text:    e.cat.T(loc, text, map[string]any{"Device": d.Name, "Until": until, "Minutes": int(e.cfg.Window / time.Minute)}),
				Link:    &Link{URL: e.linkURL(token), Label: e.cat.T(loc, "signin_button"), Expires: deadline},
				Buttons: []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}},
			})
		}
	})
}

// warnLocked moves the conversation to the warning, open until 5 minutes after
// the sign-in, and returns the warning message. e.mu is held.
func (e *Engine) warnLocked(c *conversation, authTime, now time.Time) Message {
	c.step = stepConfirming
	c.window = ""
	c.reauth = nil
	deadline := authTime.Add(e.cfg.Window)
	if deadline.After(now.Add(e.cfg.Window)) {
		deadline = now.Add(e.cfg.Window)
	}
	e.arm(c, deadline, "expired_confirm")
	loc, flow, name := c.locale, c.flow, c.chosen().Name
	return Message{
		Text: e.cat.T(loc, "warning", map[string]any{"Device": name, "Until": e.clockTime(deadline)}),
		Buttons: []Button{
			{Value: actionValue(actConfirm, flow), Label: e.cat.T(loc, "button_reset"), Style: StyleDanger, Confirm: &Confirm{
				Title: e.cat.T(loc, "confirm_title"), Text: e.cat.T(loc, "confirm_text", map[string]any{"Device": name}),
				OK: e.cat.T(loc, "button_reset"), Cancel: e.cat.T(loc, "button_back"),
			}},
			{Value: actionValue(actCancel, flow), Label: e.cat.T(loc, "button_cancel")},
		},
	}
}

// cancel ends the conversation unless the reset was already sent.
func (e *Engine) cancel(ctx context.Context, from Address, loc, flow string) {
	e.locked(func() func() {
		c := e.convs[from.key()]
		switch {
		case c == nil && flow == "":
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "nothing_to_cancel")})
		case c == nil || (flow != "" && c.flow != flow):
			return func() { e.stale(ctx, from, loc) }
		case c.step == stepResetting:
			return e.reply(ctx, from, Message{Text: e.cat.T(loc, "cannot_cancel")})
		}
		e.dropLocked(c)
		return func() {
			e.ended(ctx, c.flow, withStep(c.event(e.d.Clock.Now()), StepCancel, c.step.String(), ""))
			e.send(ctx, from, Message{Text: e.cat.T(loc, "cancelled")})
		}
	})
}

func (e *Engine) help(ctx context.Context, to Address, loc string) {
	e.mu.Lock()
	c := e.convs[to.key()]
	var s step
	if c != nil {
		s = c.step
	}
	e.mu.Unlock()
	m := Message{Text: e.cat.T(loc, "help", map[string]any{"Max": e.cfg.MaxResetsPerDay, "Minutes": int(e.cfg.Window / time.Minute)})}
	if s != 0 {
		m.Notice = e.stepHint(loc, s)
	}
	e.send(ctx, to, m)
}

func (e *Engine) stepHint(loc string, s step) string {
	return e.cat.T(loc, "step_"+s.String())
}

// arm sets the conversation's deadline and the timer that ends it then. e.mu is held.
func (e *Engine) arm(c *conversation, deadline time.Time, expiredID string) {
	if c.timer != nil {
		c.timer.Stop()
	}
	c.deadline = deadline
	flow, s := c.flow, c.step
	c.timer = e.d.Clock.AfterFunc(deadline.Sub(e.d.Clock.Now()), func() {
		e.locked(func() func() {
			cur := e.convs[c.addr.key()]
			if cur != c || c.flow != flow || c.step != s {
				return nil
			}
			c.window = "" // the expired window stays in the cache, so its page says "expired"
			pair := c.pair
			e.dropLocked(c)
			return func() {
				e.ended(context.Background(), c.flow, withStep(c.event(e.d.Clock.Now()), StepExpired, s.String(), ""))
				if s == stepPairing {
					e.pairRefused(context.Background(), c, pair, "expired")
				}
				e.send(context.Background(), c.addr, e.expiredMessage(c.locale, expiredID))
			}
		})
	})
}

func (e *Engine) expiredMessage(loc, id string) Message {
	return Message{Text: e.cat.T(loc, id, map[string]any{"Minutes": int(e.cfg.Window / time.Minute)}), Buttons: e.startAgain(loc)}
}

func (e *Engine) startAgain(loc string) []Button {
	return []Button{{Value: actStart, Label: e.cat.T(loc, "button_start_again"), Style: StylePrimary}}
}

// endLocked forgets the conversation and its window. e.mu is held.
func (e *Engine) endLocked(c *conversation) {
	e.dropLocked(c)
	e.closedLocked(c.flow)
}

// dropLocked is endLocked without telling Conversations. e.mu is held.
func (e *Engine) dropLocked(c *conversation) {
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.window != "" {
		e.windows.Delete(c.window)
	}
	if c.pair != nil && e.pairs[c.pair.code] == c.addr.key() {
		delete(e.pairs, c.pair.code)
	}
	key := c.addr.key()
	if e.convs[key] == c {
		delete(e.convs, key)
	}
	if uk := c.user.Key(); uk != "" && e.byUser[uk] == key {
		delete(e.byUser, uk)
	}
}

// clockTime formats t as the clock time shown to people. It rounds down to the
// minute, so the time a message promises is never later than the real deadline.
func (e *Engine) clockTime(t time.Time) string {
	t = t.In(e.cfg.Location)
	return t.Truncate(time.Minute).Format("15:04") + " " + t.Format("MST")
}
