package resetflow

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"math/big"
	"strings"
	"time"
	"unicode"
)

// Pairing: a chat account whose platform vouches for nobody (Discord) is linked
// to a directory user only when one person proves control of both. The linking
// sign-in happens in a browser; its result page shows a short one-time code, and
// the link is made only when that code is typed into the same chat account's DM
// within PairTTL and PairTries. A sign-in link or authorize URL forwarded to
// someone else therefore links nothing: the code appears in the other person's
// browser, never in the account that asked. Until the code is typed, the
// sign-in counts for nothing (no devices are listed, and it is no re-auth).

// Sign-in outcomes of account linking, after SignInWrongPerson.
const (
	SignInPairing      SignInStatus = SignInWrongPerson + 1 + iota // a linking sign-in: the page shows the pairing code to type in the chat
	SignInNotFound                                                 // a linking sign-in by someone the directory doesn't know
	SignInOtherBrowser                                             // the callback came from another browser than the one that began the sign-in
)

// pairCodeLen is the number of digits of a pairing code.
const pairCodeLen = 6

// pairing is a linking sign-in waiting for its code.
type pairing struct {
	code     string
	user     User     // the directory user who signed in
	who      Identity // their sign-in, the reset's re-auth once paired
	deadline time.Time
	tries    int // codes the account may still type
}

// beginPairing follows a fresh linking sign-in: it looks the signer up and
// shows them a code to type into the chat. Nothing is linked yet.
func (e *Engine) beginPairing(ctx context.Context, c *conversation, flow string, base Event, who Identity) SignInResult {
	loc := c.locale
	user, err := e.d.Directory.LookupUser(ctx, who.UPN)
	if err == nil && e.cfg.MatchBy == MatchByObjectID && user.ID != "" && who.Subject != user.ID {
		err = &Error{Kind: KindNotFound, Op: "link account", Err: errors.New("signed-in object id differs from the directory's")}
	}
	now := e.d.Clock.Now()
	e.mu.Lock()
	live := e.convs[c.addr.key()] == c && c.flow == flow && c.step == stepLinking
	if !live {
		e.mu.Unlock()
		return SignInResult{Status: SignInUnknown, Locale: e.cat.Default()}
	}
	if err != nil {
		e.endLocked(c)
		e.mu.Unlock()
		e.log.Warn("linking a chat account failed", "platform", c.addr.Platform, "chat_user", c.addr.UserID, "err", err)
		e.record(ctx, base, StepLink, "failed", errorDetail(err))
		e.send(ctx, c.addr, Message{Text: e.cat.T(loc, "unknown_user")})
		return SignInResult{Status: SignInNotFound, Locale: loc}
	}
	code := e.newPairCodeLocked()
	c.step = stepPairing
	c.window = ""
	c.pair = &pairing{code: code, user: user, who: who, deadline: now.Add(e.cfg.PairTTL), tries: e.cfg.PairTries}
	e.pairs[code] = c.addr.key()
	e.arm(c, c.pair.deadline, "pair_expired")
	deadline := c.pair.deadline
	e.mu.Unlock()

	base.Time = now
	e.record(ctx, base, StepPairIssued, "", "user="+user.UPN+" chat_account="+c.account+" expires "+deadline.UTC().Format(time.RFC3339))
	e.send(ctx, c.addr, Message{
		Text:    e.cat.T(loc, "pair_prompt", map[string]any{"Until": e.clockTime(deadline), "Digits": pairCodeLen}),
		Buttons: []Button{{Value: actionValue(actCancel, c.flow), Label: e.cat.T(loc, "button_cancel")}},
	})
	return SignInResult{Status: SignInPairing, Locale: loc, Code: code, Expires: deadline, Platform: c.addr.Platform, Account: c.account, UPN: user.UPN}
}

// newPairCodeLocked draws a code no other pairing holds. e.mu is held.
func (e *Engine) newPairCodeLocked() string {
	limit := big.NewInt(1)
	for range pairCodeLen {
		limit.Mul(limit, big.NewInt(10))
	}
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			panic(err) // crypto/rand does not fail
		}
		code := n.String()
		code = strings.Repeat("0", pairCodeLen-len(code)) + code
		if _, taken := e.pairs[code]; !taken {
			return code
		}
	}
}

// normalizeCode keeps the digits of what was typed ("123 456", "１２３４５６")
// and reports whether it looks like a code at all.
func normalizeCode(s string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '-' || r == '‐' || r == 'ー' || unicode.IsSpace(r):
		default:
			return "", false
		}
	}
	code := b.String()
	return code, len(code) >= 4 && len(code) <= 10
}

// pairText takes typed text that may be a pairing code. It reports whether it
// did: the code of this account's pairing, or the code of another account's.
func (e *Engine) pairText(ctx context.Context, in Input, loc string) bool {
	code, ok := normalizeCode(in.Text)
	if !ok {
		return false
	}
	key := in.From.key()
	now := e.d.Clock.Now()
	return lockedValue(e, func() func() bool {
		if c := e.convs[key]; c != nil && c.step == stepPairing {
			p := c.pair
			switch {
			case now.After(p.deadline):
				e.endLocked(c)
				return func() bool {
					e.pairRefused(ctx, c, p, "expired")
					e.send(ctx, c.addr, e.expiredMessage(c.locale, "pair_expired"))
					return true
				}
			case subtle.ConstantTimeCompare([]byte(code), []byte(p.code)) == 1:
				e.endLocked(c)
				return func() bool {
					e.finishLink(ctx, c, p)
					return true
				}
			}
			p.tries--
			left := p.tries
			if left <= 0 {
				e.endLocked(c)
				return func() bool {
					e.pairRefused(ctx, c, p, "too_many_tries")
					e.send(ctx, c.addr, Message{Text: e.cat.T(c.locale, "pair_refused"), Buttons: e.startAgain(c.locale)})
					return true
				}
			}
			return func() bool {
				e.record(ctx, c.event(now), StepPair, "wrong_code", "")
				e.send(ctx, c.addr, Message{Text: e.cat.T(c.locale, "pair_wrong", map[string]any{"Left": left})})
				return true
			}
		}
		// Someone else's code, typed here: the sign-in was not made for this
		// account. That pairing is over; nothing is linked to anyone.
		other, ok := e.pairs[code]
		if !ok || other == key {
			return just(false)
		}
		oc := e.convs[other]
		if oc == nil || oc.pair == nil {
			return just(false)
		}
		p := oc.pair
		e.endLocked(oc)
		return func() bool {
			e.pairRefused(ctx, oc, p, "typed_by_other_account other_chat_user="+in.From.Platform+":"+in.From.UserID+" other_chat_account="+in.AccountName)
			e.send(ctx, in.From, Message{Text: e.cat.T(loc, "pair_not_yours")})
			e.send(ctx, oc.addr, Message{Text: e.cat.T(oc.locale, "pair_refused"), Buttons: e.startAgain(oc.locale)})
			return true
		}
	})
}

// pairRefused records a refused pairing and tells the helpdesk, naming the chat
// account and, when someone signed in, the directory user. p may be nil (the
// sign-in itself was refused).
func (e *Engine) pairRefused(ctx context.Context, c *conversation, p *pairing, reason string) {
	ev := c.event(e.d.Clock.Now())
	var u User
	if p != nil {
		u = p.user
		ev.UserID, ev.UserUPN = u.ID, u.UPN
	}
	detail := "reason=" + reason + " chat_account=" + c.account
	e.record(ctx, ev, StepPair, "refused", detail)
	e.d.Alerter.Alert(ctx, Alert{ID: newFlowID(), Kind: AlertLinkRefused, Time: ev.Time, Platform: c.addr.Platform, ChatUser: c.addr.UserID, ChatName: c.account, User: u, Detail: detail})
}
