package resetflow

// Account linking, for platforms whose accounts carry no company identity
// (Discord): startLink asks for a sign-in, pairing.go checks the code typed
// back in the chat, finishLink saves the link; unlink forgets it.

import (
	"context"
	"time"

	"github.com/patrickmn/go-cache"
)

// startLink asks an unlinked chat account to sign in once, to link it to its directory user.
func (e *Engine) startLink(ctx context.Context, from Address, loc, account string) {
	now := e.d.Clock.Now()
	c := &conversation{addr: from, flow: newFlowID(), locale: loc, step: stepLinking, account: account}
	token := newToken()
	deadline := now.Add(e.cfg.Window)
	e.mu.Lock()
	if e.convs[from.key()] != nil {
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "already_active"), Notice: e.cat.T(loc, "help_hint")})
		return
	}
	e.convs[from.key()] = c
	c.window = token
	e.windows.Set(token, &window{key: from.key(), flow: c.flow, locale: loc, issued: now, deadline: deadline}, cache.DefaultExpiration)
	e.arm(c, deadline, "expired_link")
	e.mu.Unlock()
	e.opened(ctx, c, now)
	e.record(ctx, c.event(now), StepLinkIssued, "link_account", "expires "+deadline.UTC().Format(time.RFC3339))
	e.send(ctx, from, Message{
		Text:    e.cat.T(loc, "link_needed", map[string]any{"Until": e.clockTime(deadline), "Minutes": int(e.cfg.Window / time.Minute)}),
		Link:    &Link{URL: e.linkURL(token), Label: e.cat.T(loc, "signin_button"), Expires: deadline},
		Buttons: []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}},
	})
}

// unlink forgets the chat account's link, and ends its conversation if it has one.
func (e *Engine) unlink(ctx context.Context, from Address, loc string) {
	if e.d.Links == nil {
		e.send(ctx, from, Message{Text: e.cat.T(loc, "not_linked")})
		return
	}
	e.mu.Lock()
	c := e.convs[from.key()]
	if c != nil && c.step == stepResetting {
		e.mu.Unlock()
		e.send(ctx, from, Message{Text: e.cat.T(loc, "cannot_cancel")})
		return
	}
	if c != nil {
		e.endLocked(c)
	}
	e.mu.Unlock()
	had, err := e.d.Links.RemoveLink(ctx, from.Platform, from.UserID)
	if err != nil {
		e.log.Error("removing an account link failed", "platform", from.Platform, "chat_user", from.UserID, "err", err)
		e.send(ctx, from, Message{Text: e.cat.T(loc, "backend_error")})
		return
	}
	if !had {
		e.send(ctx, from, Message{Text: e.cat.T(loc, "not_linked")})
		return
	}
	e.record(ctx, newEvent(e.d.Clock.Now(), "", from, User{}, ""), StepUnlink, "removed", "")
	e.send(ctx, from, Message{Text: e.cat.T(loc, "unlinked")})
}

// finishLink links the chat account to the directory user who signed in and
// whose code it typed, tells the helpdesk, and goes on with the reset: the
// sign-in is the reset's re-auth while it is fresh.
func (e *Engine) finishLink(ctx context.Context, c *conversation, p *pairing) {
	loc := c.locale
	user := p.user
	if err := e.d.Links.SetLink(ctx, c.addr.Platform, c.addr.UserID, user); err != nil {
		e.auditDown(ctx, c.addr, loc, user, nil, err)
		return
	}
	ev := newEvent(e.d.Clock.Now(), c.flow, c.addr, user, "")
	detail := "signed_in_as=" + p.who.UPN + " chat_account=" + c.account
	e.record(ctx, ev, StepLink, "linked", detail)
	e.d.Alerter.Alert(ctx, Alert{ID: newFlowID(), Kind: AlertAccountLinked, Time: ev.Time, Platform: c.addr.Platform, ChatUser: c.addr.UserID, ChatName: c.account, User: user, Detail: detail})
	e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "linked", map[string]any{"UPN": user.UPN})})
	e.begin(ctx, c.addr, loc, user, p.who)
}
