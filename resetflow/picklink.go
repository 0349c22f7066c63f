package resetflow

import (
	"context"
	"strconv"
	"time"

	"github.com/patrickmn/go-cache"
)

// Device-list links: each device the rules allow gets a link that picks it and
// goes straight on to the sign-in, so a reset takes four actions (ask, pick,
// sign in, confirm) instead of six. The link is a window of its own kind: it is
// never a sign-in window (Window and CompleteSignIn refuse it), it lives as
// long as a sign-in link, and opening it with GET changes nothing; only the
// page's form (a POST a browser makes, never a link preview) picks the device.
// Ineligible devices get no link: refusing them alerts the helpdesk, which a
// link scanner must never cause.

// offerLinks adds a link to every allowed choice of a device list.
// key is the conversation's key (Address.key), the string the engine's maps
// already hold: the link shares it rather than keeping a copy.
func (e *Engine) offerLinks(c *conversation, key string, m *Message) {
	if len(c.devices) == 0 || len(m.Choices) != len(c.devices) || c.reauth != nil {
		return // (a sign-in that just linked the account stands in for the reset's: no sign-in to open)
	}
	token := newToken()
	now := e.d.Clock.Now()
	var offers []pickOffer
	for i, d := range c.devices {
		if e.cfg.Rules.Evaluate(d).Decision == Allow {
			m.Choices[i].URL = e.linkURL(token) + "?d=" + strconv.Itoa(i+1)
			offers = append(offers, pickOffer{n: i + 1, id: d.ID, name: d.Name})
		}
	}
	if offers != nil {
		e.windows.Set(token, &window{key: key, flow: c.flow, locale: c.locale, issued: now, deadline: now.Add(e.cfg.Window), pick: offers}, cache.DefaultExpiration)
	}
}

// pickOffer is a device a device-list link may pick: its number in the list (1-based).
// It is kept small: a link lives beside every conversation waiting at its device list.
type pickOffer struct {
	n        int
	id, name string
}

func offerOf(offers []pickOffer, n int) (pickOffer, bool) {
	for _, o := range offers {
		if o.n == n {
			return o, true
		}
	}
	return pickOffer{}, false
}

// PickInfo describes a device-list link to its page.
type PickInfo struct {
	Locale  string
	Issued  time.Time
	Expires time.Time
	Device  string // the name of device n
}

// PickWindow looks at device n (1-based) of a device-list link without using anything up.
func (e *Engine) PickWindow(token string, n int) (PickInfo, WindowStatus) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, c, st := e.pickLocked(token)
	if st != WindowOpen {
		loc := e.cat.Default()
		if w != nil {
			loc = w.locale
		}
		return PickInfo{Locale: loc}, st
	}
	o, ok := offerOf(w.pick, n)
	if !ok {
		return PickInfo{Locale: c.locale}, WindowUnknown
	}
	return PickInfo{Locale: c.locale, Issued: w.issued, Expires: w.deadline, Device: o.name}, WindowOpen
}

// pickLocked finds a live device-list link and its conversation. e.mu is held.
func (e *Engine) pickLocked(token string) (*window, *conversation, WindowStatus) {
	v, ok := e.windows.Get(token)
	if !ok {
		return nil, nil, WindowUnknown
	}
	w := v.(*window)
	if w.pick == nil {
		return nil, nil, WindowUnknown
	}
	if e.d.Clock.Now().After(w.deadline) {
		return w, nil, WindowExpired
	}
	c := e.convs[w.key]
	if c == nil || c.flow != w.flow {
		return w, nil, WindowUnknown
	}
	return w, c, WindowOpen
}

// PickResult is what picking from a link led to.
type PickResult struct {
	Status WindowStatus
	Locale string
	// SignIn is the sign-in window to go on with; empty when the conversation
	// needs no sign-in (it is already at the warning) or went elsewhere.
	SignIn string
	// Done: the conversation is past the sign-in (the page says to go back to the chat).
	Done bool
}

// PickFromLink picks device n of a device-list link, as a typed number would,
// and returns the sign-in window to go on with. Repeating it (a second tab, a
// reload) returns the same window; it never starts a second sign-in.
func (e *Engine) PickFromLink(ctx context.Context, token string, n int) PickResult {
	e.mu.Lock()
	w, c, st := e.pickLocked(token)
	if st != WindowOpen {
		e.mu.Unlock()
		return PickResult{Status: st, Locale: e.cat.Default()}
	}
	o, ok := offerOf(w.pick, n)
	if !ok {
		e.mu.Unlock()
		return PickResult{Status: WindowUnknown, Locale: c.locale}
	}
	want := o.id
	addr, loc, flow, picking := c.addr, c.locale, c.flow, c.step == stepPicking
	e.mu.Unlock()
	if picking {
		e.pick(ctx, addr, loc, flow, n, true)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	c = e.convs[w.key]
	switch {
	case c == nil || c.flow != flow || c.chosen().ID != want:
		return PickResult{Status: WindowUnknown, Locale: loc}
	case c.step == stepSigningIn:
		return PickResult{Status: WindowOpen, Locale: loc, SignIn: c.window}
	case c.step == stepConfirming || c.step == stepResetting:
		return PickResult{Status: WindowOpen, Locale: loc, Done: true}
	}
	return PickResult{Status: WindowUnknown, Locale: loc}
}
