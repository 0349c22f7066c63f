package discord

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/resetflow"
)

// pendingOriginal is a /reset-passcode answered with "thinking…", waiting for
// the engine's first reply, which replaces it (within the token's 15 minutes).
type pendingOriginal struct {
	i       *discordgo.Interaction
	expires time.Time
	used    atomic.Bool
}

// liveMessage is the latest message with usable components sent to a person.
type liveMessage struct {
	channelID, messageID string
	components           []discordgo.MessageComponent
}

// errNotDM refuses to send where only the person could read it is not certain.
var errNotDM = errors.New("discord: the channel is not the person's direct message with the bot")

// dmChannel returns the person's DM channel with the bot, opening it if needed,
// after checking that Discord says it is a DM with exactly that person.
func (a *Adapter) dmChannel(ctx context.Context, userID string) (string, error) {
	a.mu.Lock()
	id, ok := a.dms[userID]
	a.mu.Unlock()
	if ok {
		return id, nil
	}
	ch, err := a.rest.UserChannelCreate(userID, discordgo.WithContext(ctx))
	if err != nil {
		return "", safe("open DM", err)
	}
	if ch.Type != discordgo.ChannelTypeDM || len(ch.Recipients) != 1 || ch.Recipients[0].ID != userID {
		a.log.Error("Discord returned a channel that is not a DM with the person; nothing is sent there", "chat_user", userID, "channel", ch.ID, "type", ch.Type)
		return "", errNotDM
	}
	a.mu.Lock()
	a.dms[userID] = ch.ID
	a.dmOwners[ch.ID] = userID
	delete(a.heard, userID)
	a.mu.Unlock()
	return ch.ID, nil
}

// replyChannel is where a message to the person goes: their DM as Discord
// confirmed it (dmChannel), or, for a message without a passcode, the DM they
// wrote to the bot from, while none is confirmed yet.
func (a *Adapter) replyChannel(ctx context.Context, userID string, secret bool) (string, error) {
	if !secret {
		a.mu.Lock()
		_, verified := a.dms[userID]
		heard, ok := a.heard[userID]
		a.mu.Unlock()
		if !verified && ok {
			return heard, nil
		}
	}
	return a.dmChannel(ctx, userID)
}

// Send delivers an engine message to a person, always in their DM with the bot.
// A message with a passcode goes only to a channel Discord confirmed as that
// DM, and is edited to remove the passcode after the secret TTL.
func (a *Adapter) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	if to.Platform != Platform || to.UserID == "" {
		return fmt.Errorf("discord: cannot send to %s user %q", to.Platform, to.UserID)
	}
	channelID, err := a.replyChannel(ctx, to.UserID, m.Secret != nil)
	if err != nil {
		return err
	}
	if to.Channel != "" && to.Channel != channelID {
		if m.Secret != nil {
			a.log.Error("refusing to send a passcode: the conversation's channel is not the person's DM", "chat_user", to.UserID, "channel", to.Channel)
			return errNotDM
		}
		a.log.Warn("the conversation's channel is not the person's DM; answering in the DM", "chat_user", to.UserID, "channel", to.Channel)
	}
	r := render(m)
	if done, err := a.replace(ctx, to.UserID, m, r); done {
		return err
	}

	var msgID string
	if p := a.takeOriginal(to.UserID, m); p != nil {
		msg, err := a.rest.InteractionResponseEdit(p.i, &discordgo.WebhookEdit{Content: &r.content, Components: &r.components, AllowedMentions: noMentions()}, discordgo.WithContext(ctx))
		if err != nil {
			a.log.Warn("filling the command's answer failed; sending a message instead", "err", safe("", err))
		} else {
			msgID = msg.ID
		}
	}
	if msgID == "" {
		msgID, err = a.postMessage(channelID, &discordgo.MessageSend{
			Content: r.content, Components: r.components, AllowedMentions: noMentions(), Flags: discordgo.MessageFlagsSuppressEmbeds,
		}, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true))
		if err != nil {
			return safe("send", err)
		}
	}
	a.remember(to.UserID, m, channelID, msgID)
	if m.Interactive() {
		a.supersede(to.UserID, liveMessage{channelID: channelID, messageID: msgID, components: r.components})
	}
	if m.Secret != nil {
		a.scheduleRedaction(to.UserID, channelID, msgID, m)
	}
	return nil
}

// takeOriginal returns the person's pending command answer, if the message may fill it.
func (a *Adapter) takeOriginal(userID string, m resetflow.Message) *pendingOriginal {
	if m.Secret != nil {
		return nil // passcodes go in a plain DM message, edited out by the bot token
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.originals[userID]
	if p == nil || !a.clk.Now().Before(p.expires) || !p.used.CompareAndSwap(false, true) {
		return nil
	}
	delete(a.originals, userID)
	return p
}

// supersede makes next the person's live message and disables the components
// of the one before, so an old button can't be pressed by mistake: at once
// for clicks, on Discord's screen by an edit in settles (Send does not wait
// for it).
func (a *Adapter) supersede(userID string, next liveMessage) {
	a.mu.Lock()
	prev, ok := a.live[userID]
	a.live[userID] = next
	a.mu.Unlock()
	if !ok || prev.messageID == next.messageID {
		return
	}
	a.used.Add("m\x00"+prev.messageID, struct{}{}) // a click on it from a stale screen does nothing
	a.settles.Do(userID, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		comps := settled(prev.components, "", nil)
		err := a.editMessage(&discordgo.MessageEdit{ID: prev.messageID, Channel: prev.channelID, Components: &comps}, discordgo.WithContext(ctx))
		if err != nil && apiCode(err) != codeUnknownMessage {
			a.log.Warn("disabling the buttons of an earlier message failed", "err", safe("", err))
		}
	})
}

// forgetLive drops the message the person just used from their live one: its
// buttons went off in the click's answer (ackSettled).
func (a *Adapter) forgetLive(i *discordgo.Interaction) {
	u := interactionUser(i)
	a.mu.Lock()
	if l, ok := a.live[u.ID]; ok && l.messageID == i.Message.ID {
		delete(a.live, u.ID)
	}
	a.mu.Unlock()
}

// secretLocale is the language of a passcode message: the engine's
// (Message.Locale), else the person's latest in Discord, else the bot's.
func (a *Adapter) secretLocale(userID string, m resetflow.Message) string {
	if m.Locale != "" {
		return m.Locale
	}
	if l := a.localeOf(userID); l != "" {
		return l
	}
	return a.cfg.Locale
}

func (a *Adapter) scheduleRedaction(userID, channelID, messageID string, m resetflow.Message) {
	loc := a.secretLocale(userID, m)
	a.screen.Show(onscreen.Item{Channel: channelID, MessageID: messageID, Locale: loc, Note: redacted(m, a.cat.T(loc, "removed_for_safety"))})
}

// Restore takes back a passcode message that an earlier run of the bot posted
// and did not edit out (it stopped without warning): it goes at its time, or now.
func (a *Adapter) Restore(channelID, messageID, locale string, at time.Time) {
	a.screen.Restore(onscreen.Item{Channel: channelID, MessageID: messageID, Locale: locale, RemoveAt: at})
}

// redactTries is how many edits a passcode message gets before it is deleted.
const redactTries = 5

// redactRetry is the wait before the next edit: 30s more each time.
func redactRetry(try int) (time.Duration, bool) {
	return time.Duration(try) * 30 * time.Second, try < redactTries
}

// redact edits a passcode out of the chat; after the last failed edit it
// deletes the message. A message that is gone needs nothing more.
func (a *Adapter) redact(ctx context.Context, it onscreen.Item, try int) error {
	content := it.Note
	if content == "" {
		content = a.cat.T(it.Locale, "removed_for_safety")
	}
	err := a.editMessage(&discordgo.MessageEdit{ID: it.MessageID, Channel: it.Channel, Content: &content, AllowedMentions: noMentions()},
		discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(true))
	if err == nil || apiCode(err) == codeUnknownMessage {
		return nil
	}
	if try < redactTries {
		a.log.Warn("removing a temporary passcode from a DM failed; trying again", "err", safe("", err))
		return err
	}
	a.log.Error("a temporary passcode could not be removed from a DM; deleting the message", "channel", it.Channel, "err", safe("", err))
	if err := a.rest.ChannelMessageDelete(it.Channel, it.MessageID, discordgo.WithContext(ctx)); err != nil && apiCode(err) != codeUnknownMessage {
		return safe("delete", err)
	}
	return nil
}
