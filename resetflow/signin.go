package resetflow

// Sign-in windows: a sign-in link works once, for Window, for the person it
// was made for. Window lets the pages look at one; CompleteSignIn uses it up
// and moves the conversation on (the warning, or the pairing code when linking).

import (
	"context"
	"strings"
	"time"

	"github.com/patrickmn/go-cache"
)

// window is a sign-in window, stored in the go-cache under its random token.
type window struct {
	key      string // conversation key
	flow     string
	locale   string
	issued   time.Time
	deadline time.Time
	pick     []pickOffer // a device-list link (picklink.go): the devices offered; never a sign-in window
}

// WindowStatus is what a sign-in link is worth right now.
type WindowStatus int

const (
	WindowUnknown WindowStatus = iota // never issued, already used, or cancelled
	WindowOpen
	WindowExpired
)

// WindowInfo describes an open sign-in window to the sign-in pages.
type WindowInfo struct {
	Locale     string
	Issued     time.Time
	Expires    time.Time
	DeviceName string
	UserID     string // the device owner's object id
	UserUPN    string // the device owner's user principal name
	Linking    bool   // the sign-in links a chat account; there is no device yet
	Platform   string // the chat platform of the account being linked
	Account    string // how that platform names the account, for the page's warning
}

// Window looks at a sign-in window without using it up: a link preview may call this.
func (e *Engine) Window(token string) (WindowInfo, WindowStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.windows.Get(token)
	if !ok {
		return WindowInfo{Locale: e.cat.Default()}, WindowUnknown
	}
	w := v.(*window)
	if w.pick != nil {
		return WindowInfo{Locale: e.cat.Default()}, WindowUnknown // see PickWindow
	}
	if e.d.Clock.Now().After(w.deadline) {
		// Kept after expiry (until the cache frees it) so the page can say "expired".
		return WindowInfo{Locale: w.locale, Issued: w.issued, Expires: w.deadline}, WindowExpired
	}
	c := e.signingInLocked(w)
	if c == nil {
		return WindowInfo{Locale: e.cat.Default()}, WindowUnknown
	}
	info := WindowInfo{Locale: c.locale, Issued: w.issued, Expires: w.deadline, DeviceName: c.chosen().Name, UserID: c.chosen().UserID, UserUPN: c.chosen().UserUPN}
	if info.UserID == "" {
		info.UserID = c.user.ID
	}
	if info.UserUPN == "" {
		info.UserUPN = c.user.UPN
	}
	info.Linking = c.step == stepLinking
	info.Platform, info.Account = c.addr.Platform, c.account
	if info.Account == "" {
		info.Account = c.addr.UserID
	}
	return info, WindowOpen
}

// signingInLocked is the conversation a sign-in window was made for, while it
// still waits for that sign-in (signing in, or linking an account); nil when it
// has ended or moved on. e.mu is held.
func (e *Engine) signingInLocked(w *window) *conversation {
	c := e.convs[w.key]
	if c == nil || c.flow != w.flow || (c.step != stepSigningIn && c.step != stepLinking) {
		return nil
	}
	return c
}

// SignInStatus is the outcome of a completed sign-in. It lives only in memory
// (the pages render it; nothing stores its number), so its values may be renumbered.
type SignInStatus int

const (
	// SignInUnset is the zero value: no outcome was set. It is never success,
	// so a result nobody filled in (SignInResult{}) reads as a failure.
	SignInUnset       SignInStatus = iota
	SignInOK                       // the owner signed in afresh: the chat moves to the warning
	SignInUnknown                  // the link was never issued, already used, or cancelled
	SignInExpired                  // the 5 minutes are over
	SignInStale                    // the credentials were entered too long ago, or before the link
	SignInWrongPerson              // somebody other than the device owner signed in
)

// SignInResult tells the sign-in page what to say.
type SignInResult struct {
	Status SignInStatus
	Locale string
	// With SignInPairing: the code, until when it works, and what is being linked.
	Code     string
	Expires  time.Time
	Platform string
	Account  string
	UPN      string
}

// CompleteSignIn uses up a sign-in window: who signed in, and when. Only the
// first call for a token can succeed. On success the chat moves to the warning.
func (e *Engine) CompleteSignIn(ctx context.Context, token string, who Identity) SignInResult {
	now := e.d.Clock.Now()
	return lockedValue(e, func() func() SignInResult {
		v, ok := e.windows.Get(token)
		if !ok || v.(*window).pick != nil {
			return just(SignInResult{Status: SignInUnknown, Locale: e.cat.Default()})
		}
		e.windows.Delete(token)
		w := v.(*window)
		c := e.signingInLocked(w)
		live := c != nil
		if !live && now.After(w.deadline) {
			return just(SignInResult{Status: SignInExpired, Locale: w.locale})
		}
		if !live {
			return just(SignInResult{Status: SignInUnknown, Locale: e.cat.Default()})
		}
		loc := c.locale
		base := c.event(now)
		signer := who.UPN
		if signer == "" {
			signer = who.Subject
		}
		detail := "signed_in_as=" + signer + " auth_time=" + who.AuthTime.UTC().Format(time.RFC3339)

		if now.After(w.deadline) {
			e.endLocked(c)
			return func() SignInResult {
				e.record(ctx, base, StepSignIn, "expired", detail)
				e.send(ctx, c.addr, e.expiredMessage(loc, "expired_link"))
				return SignInResult{Status: SignInExpired, Locale: loc}
			}
		}
		if !e.freshSignIn(who.AuthTime, w.issued, now) {
			// Not a fresh sign-in: the window stays usable until its deadline, for a real one.
			e.windows.Set(token, w, cache.DefaultExpiration)
			return func() SignInResult {
				e.record(ctx, base, StepSignIn, "stale", detail)
				return SignInResult{Status: SignInStale, Locale: loc}
			}
		}
		if c.step == stepLinking {
			if e.cfg.TenantID != "" && !strings.EqualFold(who.TenantID, e.cfg.TenantID) {
				e.endLocked(c)
				return func() SignInResult {
					e.record(ctx, base, StepSignIn, "wrong_tenant", detail)
					e.alert(ctx, AlertWrongPerson, c.addr, User{UPN: who.UPN}, nil, detail+" tenant="+who.TenantID)
					e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "signin_wrong_person"), Buttons: e.startAgain(loc)})
					return SignInResult{Status: SignInWrongPerson, Locale: loc}
				}
			}
			return func() SignInResult {
				e.record(ctx, base, StepSignIn, "ok", detail)
				return e.beginPairing(ctx, c, w.flow, base, who)
			}
		}
		if !e.isOwner(c.chosen(), c.user, who) {
			e.endLocked(c)
			return func() SignInResult {
				e.record(ctx, base, StepSignIn, "wrong_person", detail)
				d := c.chosen()
				e.alert(ctx, AlertWrongPerson, c.addr, c.user, &d, detail)
				e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "signin_wrong_person"), Buttons: e.startAgain(loc)})
				return SignInResult{Status: SignInWrongPerson, Locale: loc}
			}
		}
		m := e.warnLocked(c, who.AuthTime, now)
		return func() SignInResult {
			e.record(ctx, base, StepSignIn, "ok", detail)
			e.send(ctx, c.addr, m)
			return SignInResult{Status: SignInOK, Locale: loc}
		}
	})
}

func (e *Engine) isOwner(d Device, u User, who Identity) bool {
	if e.cfg.TenantID != "" && !strings.EqualFold(who.TenantID, e.cfg.TenantID) {
		return false
	}
	switch e.cfg.MatchBy {
	case MatchByUPN:
		owner := d.UserUPN
		if owner == "" {
			owner = u.UPN
		}
		return who.UPN != "" && strings.EqualFold(who.UPN, owner)
	default:
		owner := d.UserID
		if owner == "" {
			owner = u.ID
		}
		return who.Subject != "" && who.Subject == owner
	}
}

func (e *Engine) linkURL(token string) string {
	return strings.TrimRight(e.cfg.PublicURL, "/") + "/r/" + token
}

// RefuseSignIn ends a sign-in window that a provider refused before asking
// who signed in: the callback came from another browser than the one that
// pressed Continue (a forwarded authorize URL). The window is used up, the
// refusal recorded, the helpdesk and the chat told.
func (e *Engine) RefuseSignIn(ctx context.Context, token, reason string) SignInResult {
	return lockedValue(e, func() func() SignInResult {
		v, ok := e.windows.Get(token)
		if !ok {
			return just(SignInResult{Status: SignInOtherBrowser, Locale: e.cat.Default()})
		}
		e.windows.Delete(token)
		w := v.(*window)
		c := e.signingInLocked(w)
		if c == nil {
			return just(SignInResult{Status: SignInOtherBrowser, Locale: w.locale})
		}
		linking := c.step == stepLinking
		e.endLocked(c)
		return func() SignInResult {
			loc := c.locale
			base := c.event(e.d.Clock.Now())
			if linking {
				e.pairRefused(ctx, c, nil, reason)
			} else {
				e.record(ctx, base, StepSignIn, "refused", "reason="+reason)
				d := c.chosen()
				e.alert(ctx, AlertWrongPerson, c.addr, c.user, &d, "reason="+reason)
			}
			e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "signin_other_browser"), Buttons: e.startAgain(loc)})
			return SignInResult{Status: SignInOtherBrowser, Locale: loc}
		}
	})
}

// freshSignIn reports whether a sign-in at authTime may stand for the window
// issued at issued, now: not before the link (less AuthSkew), not in the future
// (more than AuthSkew ahead of our clock), and no older than the window.
func (e *Engine) freshSignIn(authTime, issued, now time.Time) bool {
	return !authTime.IsZero() &&
		!authTime.Before(issued.Add(-e.cfg.AuthSkew)) &&
		!authTime.After(now.Add(e.cfg.AuthSkew)) &&
		now.Sub(authTime) <= e.cfg.Window
}
