package teams

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/resetflow"
)

// liveCard is the latest card with buttons sent to a person.
type liveCard struct {
	ref        convRef
	activityID string
	msg        resetflow.Message
	locale     string
}

// errNotPersonal refuses to send where only the person could read it is not certain.
var errNotPersonal = errors.New("teams: the conversation is not the person's personal chat with the bot")

// personalChat is the person's personal chat with the bot: the one their
// latest activity came from, or, for a proactive message, one opened at the
// configured service URL (the app must be installed for them).
func (a *Adapter) personalChat(ctx context.Context, oid string) (convRef, error) {
	a.mu.Lock()
	ref, ok := a.refs[oid]
	a.mu.Unlock()
	if ok {
		return ref, nil
	}
	id, err := a.conn.createPersonal(ctx, a.cfg.ServiceURL, "28:"+a.cfg.AppID, a.cfg.TenantID, oid)
	if err != nil {
		return convRef{}, err
	}
	ref = convRef{serviceURL: a.cfg.ServiceURL, conversationID: id}
	a.mu.Lock()
	a.refs[oid] = ref
	a.mu.Unlock()
	return ref, nil
}

// Send delivers an engine message to a person, always in their personal chat
// with the bot, as an Adaptive Card. A passcode goes only to that chat and is
// removed after the secret TTL.
func (a *Adapter) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	if to.Platform != Platform || to.UserID == "" {
		return fmt.Errorf("teams: cannot send to %s user %q", to.Platform, to.UserID)
	}
	ref, err := a.personalChat(ctx, to.UserID)
	if err != nil {
		return err
	}
	if to.Channel != "" && to.Channel != ref.conversationID {
		if m.Secret != nil {
			a.log.Error("refusing to send a passcode: the conversation is not the person's personal chat", "chat_user", to.UserID)
			return errNotPersonal
		}
		a.log.Warn("the conversation is not the person's personal chat; answering there instead", "chat_user", to.UserID)
	}
	if !a.isTrusted(ref.serviceURL) {
		return errUntrusted
	}
	loc := a.localeFor(to.UserID, m)
	c := a.render(m, loc, false, "")
	if m.Interactive() {
		// Hold clicks of this person until the card is known as live: Teams may
		// show it, and the person click it, before the send call returns.
		mu := a.userLock(to.UserID)
		mu.Lock()
		defer mu.Unlock()
	}
	id, err := a.conn.send(ctx, ref.serviceURL, ref.conversationID, &Activity{Type: "message", Attachments: []Attachment{attachment(c)}}, false)
	if err != nil {
		return err
	}
	if m.Interactive() {
		a.supersede(to.UserID, liveCard{ref: ref, activityID: id, msg: m, locale: loc})
	}
	if m.Secret != nil {
		a.scheduleRedaction(ref, id, m, loc)
	}
	return nil
}

// localeFor is the language of the card's own words: the engine's
// (Message.Locale; the passcode message always carries it), else the
// person's latest, else the default.
func (a *Adapter) localeFor(oid string, m resetflow.Message) string {
	if m.Locale != "" {
		return m.Locale
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if l := a.locales[oid]; l != "" {
		return l
	}
	return a.cfg.Locale
}

// supersede makes next the person's live card and takes the buttons off the
// one before, so an old button can't be pressed by mistake.
func (a *Adapter) supersede(oid string, next liveCard) {
	a.mu.Lock()
	prev, ok := a.live[oid]
	a.live[oid] = next
	a.mu.Unlock()
	if !ok || prev.activityID == next.activityID {
		return
	}
	a.superseded.Add(prev.ref.conversationID+"\x00"+prev.activityID, struct{}{})
	// Send does not wait for the update (issue 17): nobody does, and a few at
	// a time it leaves the Connector's connections to the cards people wait for.
	a.settles.Do(oid, func() {
		a.updateCard(prev.ref.serviceURL, prev.ref.conversationID, prev.activityID, a.render(prev.msg, prev.locale, true, ""))
	})
}

// settleLive takes the person's live card if it is cardID and returns it
// without buttons, saying what was chosen; nil when the card is not theirs.
// It first waits, up to maxWait (forever when negative), for a card being
// sent to this person to be known.
func (a *Adapter) settleLive(oid, cardID, action string, maxWait time.Duration) card {
	mu := a.userLock(oid)
	if maxWait < 0 {
		mu.Lock()
		mu.Unlock()
	} else if !mu.TryLock() {
		got := make(chan struct{})
		go func() { mu.Lock(); mu.Unlock(); close(got) }()
		select {
		case <-got:
		case <-time.After(maxWait): // a send that is slow; the queue settles the card later
		}
	} else {
		mu.Unlock()
	}
	a.mu.Lock()
	l, ok := a.live[oid]
	if ok && l.activityID == cardID {
		delete(a.live, oid)
	}
	a.mu.Unlock()
	if !ok || l.activityID != cardID {
		return nil
	}
	return a.render(l.msg, l.locale, true, chosenLabel(l.msg, action))
}

func (a *Adapter) userLock(oid string) *sync.Mutex {
	mu, _ := a.sendMu.LoadOrStore(oid, &sync.Mutex{})
	return mu.(*sync.Mutex)
}

func (a *Adapter) updateCard(serviceURL, conversationID, activityID string, c card) {
	if !a.isTrusted(serviceURL) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := a.conn.update(ctx, serviceURL, conversationID, activityID, &Activity{Type: "message", Attachments: []Attachment{attachment(c)}})
	if err != nil && !isNotFound(err) {
		a.log.Warn("taking the buttons off a card failed", "err", err)
	}
}

func channelKey(ref convRef) string { return ref.serviceURL + " " + ref.conversationID }

// scheduleRedaction hands a passcode card just posted to the screen, with the
// card it becomes once the passcode is out.
func (a *Adapter) scheduleRedaction(ref convRef, activityID string, m resetflow.Message, loc string) {
	note, _ := json.Marshal(a.redacted(&m, loc)) // a card of strings; were it not, the plain notice goes
	a.screen.Show(onscreen.Item{Channel: channelKey(ref), MessageID: activityID, Locale: loc, Note: string(note)})
}

// Restore takes back a passcode message that an earlier run posted and did
// not remove (it stopped without warning): it goes at its time, or now.
func (a *Adapter) Restore(channel, messageID, locale string, at time.Time) {
	serviceURL, _, ok := strings.Cut(channel, " ")
	if !ok {
		return
	}
	a.trust(serviceURL) // it is our own record of where we posted
	a.screen.Restore(onscreen.Item{Channel: channel, MessageID: messageID, Locale: locale, RemoveAt: at})
}

// redactTries is how many updates a passcode card gets before it is deleted.
const redactTries = 5

// redactRetry is the wait before the next update: 30s more each time.
func redactRetry(try int) (time.Duration, bool) {
	return time.Duration(try) * 30 * time.Second, try < redactTries
}

// redact replaces a passcode card with one that says it was removed; after
// the last failed update it deletes the message. A message that is gone
// needs nothing more.
func (a *Adapter) redact(ctx context.Context, it onscreen.Item, try int) error {
	serviceURL, conv, ok := strings.Cut(it.Channel, " ")
	if !ok {
		return nil // not a channel this adapter wrote: nothing it can remove
	}
	var content any = a.redacted(nil, it.Locale)
	if it.Note != "" {
		content = json.RawMessage(it.Note)
	}
	err := a.conn.update(ctx, serviceURL, conv, it.MessageID, &Activity{Type: "message", Attachments: []Attachment{{ContentType: ContentTypeAdaptiveCard, Content: content}}})
	if err == nil || isNotFound(err) {
		return nil
	}
	if try < redactTries {
		a.log.Warn("removing a temporary passcode from a chat failed; trying again", "err", err)
		return err
	}
	a.log.Error("a temporary passcode could not be removed from a chat; deleting the message", "err", err)
	if err := a.conn.delete(ctx, serviceURL, conv, it.MessageID); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}
