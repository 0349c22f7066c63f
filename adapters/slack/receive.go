package slack

import (
	"context"
	"encoding/json"
	"strings"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/passcodebot/passcodebot/resetflow"
)

// onEvent takes an Events API event: direct messages go to the engine.
// It must not block: the Socket Mode decode lane and the HTTP handler call it.
func (a *Adapter) onEvent(ev slackevents.EventsAPIEvent) {
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if h, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent); ok {
		a.onHomeOpened(cb, h) // home.go
		return
	}
	m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || cb == nil {
		return
	}
	a.onMessage(cb.EventID, messageEvent{Type: m.Type, SubType: m.SubType, User: m.User, BotID: m.BotID,
		Channel: m.Channel, ChannelType: m.ChannelType, Text: m.Text, TimeStamp: m.TimeStamp})
}

// onMessage takes a message event: a person's new message in their DM goes
// to the engine, once.
func (a *Adapter) onMessage(eventID string, m messageEvent) {
	// Edits, deletions, bot_message and the like carry a subtype; only people's new messages count.
	if m.SubType != "" || m.BotID != "" || m.User == "" || m.ChannelType != "im" {
		return
	}
	key := eventID
	if key == "" {
		key = m.Channel + "/" + m.TimeStamp
	}
	if !a.seen.Add("ev:"+key, struct{}{}) {
		a.log.Debug("dropped a redelivered Slack event", "event", key)
		return
	}
	user, channel, text := m.User, m.Channel, unescape(m.Text)
	// Slack says, in an event only it can send us, that the person wrote in
	// their IM with the bot (an IM has exactly those two members): that is
	// the channel a passcode may go to, as conversations.open would answer.
	// (IM ids start with D; anything else is not taken as one.)
	if strings.HasPrefix(channel, "D") {
		a.sawIM(user, channel, m.TimeStamp)
	}
	a.do(user, func(ctx context.Context) { a.toEngine(ctx, user, channel, resetflow.Input{Text: text}) })
}

// toEngine hands a DM's input to the engine if the user is admitted; a
// refusal is posted in the DM.
func (a *Adapter) toEngine(ctx context.Context, user, channel string, in resetflow.Input) {
	if user == a.botUser {
		return
	}
	mem, ok := a.admit(ctx, user, func(ctx context.Context, loc, id string) { a.reply(ctx, channel, loc, id) })
	if !ok {
		return
	}
	in.From, in.Email, in.Locale = address(user, channel), mem.email, mem.locale
	a.h.Handle(ctx, in)
}

// onInteraction takes a click. A click on a bot message of the person's DM goes
// to the engine after the clicked buttons are removed from the message; "I'm on
// it" on a helpdesk alert is recorded. Repeated clicks are dropped.
func (a *Adapter) onInteraction(cb click, raw json.RawMessage) {
	if cb.Type != slackgo.InteractionTypeBlockActions {
		return
	}
	channel := cmpOr(cb.Container.ChannelID, cb.Channel.ID)
	ts := cmpOr(cb.Container.MessageTs, cb.Message.Timestamp)
	user := cb.User.ID
	for _, act := range cb.Actions {
		if act.ActionID == actionHomeReset {
			a.onHomeClick(user, cb.TriggerID) // home.go
			continue
		}
		value, label := act.Value, act.Text.Text
		if act.Type == "static_select" {
			value, label = act.SelectedOption.Value, act.SelectedOption.Text.Text
		}
		// A click counts once: Slack redelivers, people double-click (engine
		// messages: see engineClick).
		key := "act:" + channel + "/" + ts + "/" + act.ActionID + "/" + value
		engine := strings.HasPrefix(act.ActionID, actionPrefix) && act.ActionID != actionLink && value != ""
		if engine {
			// Only the person whose DM holds the message may use it; the check
			// needs their IM, so it runs in their queue, before the click counts.
			msg, gen := cb.Message, genOf(act.BlockID)
			a.do(user, func(ctx context.Context) { a.engineClick(ctx, user, channel, ts, value, label, gen, msg) })
			continue
		}
		if !a.seen.Add(key, struct{}{}) {
			a.log.Debug("dropped a repeated click", "chat_user", user, "action", act.ActionID)
			continue
		}
		if act.ActionID == actionTakeAlert {
			a.do("alert:"+channel+"/"+ts, func(ctx context.Context) { a.takeAlert(ctx, user, channel, ts, value, raw) })
		}
	}
}

// engineClick takes a click on an engine message, in the clicker's queue. A
// click from anyone but the person whose DM holds the message is ignored and
// does not use the message up. Otherwise the message counts once: the engine
// takes the click, in order with the person's messages, and its answer takes
// the buttons' place (or they go in the message's own queue).
func (a *Adapter) engineClick(ctx context.Context, user, channel, ts, value, label, gen string, msg clickMessage) {
	if !a.inOwnIM(ctx, user, channel) {
		return
	}
	// A click counts once: Slack redelivers, people double-click. An engine
	// message takes one click in all (its buttons go away after it), so a
	// second click on another of its buttons is dropped too. A message
	// answered in place (answer.go) has new buttons, of the next generation:
	// they take their own one click.
	if !a.seen.Add("msg:"+channel+"/"+ts+gen, struct{}{}) {
		a.log.Debug("dropped a repeated click", "chat_user", user)
		return
	}
	// The engine's answer goes into the clicked message with the chosen line
	// (answer.go); when it does not, the buttons go in an update of their own.
	c := &clickAnswer{user: user, channel: channel, ts: ts, label: label, gen: gen, msg: msg}
	a.toEngine(withClickAnswer(ctx, c), user, channel, resetflow.Input{Action: value})
	if !c.answered() {
		a.do("msg:"+channel+"/"+ts, func(ctx context.Context) { a.markChosen(ctx, user, channel, ts, label, gen, msg) })
	}
}

// inOwnIM reports whether a message in channel is user's to click: channel
// is user's IM with the bot (no one else can click there; a copy of the
// message shared elsewhere is not).
func (a *Adapter) inOwnIM(ctx context.Context, user, channel string) bool {
	im, err := a.imOf(ctx, user)
	if err != nil {
		a.log.Warn("ignoring a click: the clicker's IM could not be confirmed", "chat_user", user, "channel", channel, "err", err)
		return false
	}
	if im != channel {
		a.log.Warn("ignoring a click on another person's message", "chat_user", user, "channel", channel)
		return false
	}
	return true
}

// onCommand takes /reset-passcode. Outside the person's DM with the bot it only
// answers refused_not_dm, visible to them alone.
func (a *Adapter) onCommand(cmd slackgo.SlashCommand) {
	if cmd.TriggerID != "" && !a.seen.Add("cmd:"+cmd.TriggerID, struct{}{}) {
		return
	}
	a.do(cmd.UserID, func(ctx context.Context) {
		reply := func(ctx context.Context, loc, id string) { a.ephemeral(ctx, cmd.ResponseURL, loc, id) }
		if cmd.ChannelName != "directmessage" && !strings.HasPrefix(cmd.ChannelID, "D") {
			reply(ctx, a.localeOf(ctx, cmd.UserID), "refused_not_dm")
			return
		}
		mem, ok := a.admit(ctx, cmd.UserID, reply)
		if !ok {
			return
		}
		// A DM between two people is a "directmessage" too: only the bot's own counts.
		im, err := a.imOf(ctx, cmd.UserID)
		if err != nil || im != cmd.ChannelID {
			if err != nil {
				a.log.Warn("opening the IM for a slash command failed", "chat_user", cmd.UserID, "err", err)
			}
			reply(ctx, mem.locale, "refused_not_dm")
			return
		}
		text := strings.TrimSpace(cmd.Text)
		if text == "" {
			text = "reset"
		}
		a.h.Handle(ctx, resetflow.Input{From: address(cmd.UserID, im), Email: mem.email, Locale: mem.locale, Text: text})
	})
}

func address(user, channel string) resetflow.Address {
	return resetflow.Address{Platform: Platform, UserID: user, Channel: channel}
}

// unescape undoes Slack's escaping of &, < and > in message text.
func unescape(s string) string { return unescaper.Replace(s) }

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// do queues job under key: jobs with the same key run one after another, in
// order; different keys run concurrently. Jobs start once Run knows the bot's
// identity, and are dropped after Run has returned.
func (a *Adapter) do(key string, job func(ctx context.Context)) {
	a.queues.Do(key, func() {
		select {
		case <-a.ready:
		case <-a.life.Done():
			return
		}
		job(a.life)
	})
}
