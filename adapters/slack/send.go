package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/internal/ratelimit"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Send posts a message to the person's DM. A message with a secret goes only to
// the person's IM with the bot as Slack told it: the channel of their own
// direct message's event (channel_type im), or what conversations.open answers
// for them, checked to be an IM with them; otherwise it is not sent at all.
// The secret is replaced by a notice after SecretTTL.
func (a *Adapter) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	if to.Platform != Platform || to.UserID == "" {
		return fmt.Errorf("slack: cannot send to %q user %q", to.Platform, to.UserID)
	}
	loc := m.Locale // the engine's, for the passcode; otherwise the person's in Slack
	if loc == "" {
		loc = a.localeOf(ctx, to.UserID)
	}
	channel := to.Channel
	if m.Secret != nil {
		im, err := a.imOf(ctx, to.UserID)
		if err != nil {
			a.log.Error("refusing to post a temporary passcode: the requester's IM could not be confirmed", "chat_user", to.UserID, "err", err)
			return fmt.Errorf("slack: temporary passcode not sent: %w", err)
		}
		channel = im
	} else if channel == "" {
		im, err := a.imOf(ctx, to.UserID)
		if err != nil {
			return fmt.Errorf("slack: opening the DM: %w", err)
		}
		channel = im
	}
	if done, err := a.replace(ctx, to.UserID, m, loc); done {
		return err
	}
	if c := a.answerFor(ctx, to, m); c != nil && a.answerInPlace(ctx, c, m, loc) == nil {
		return nil
	}
	text, blocks := a.render(m, loc)
	ts, err := a.post(ctx, channel, text, blocks)
	if err != nil {
		return fmt.Errorf("slack: posting to %s: %w", channel, err)
	}
	a.postedIn(to.UserID, channel, ts)
	a.remember(to.UserID, m, channel, ts, "", nil)
	if m.Secret != nil {
		a.screen.Show(onscreen.Item{Channel: channel, MessageID: ts, Locale: loc})
	}
	return nil
}

// post sends a message (its blocks as JSON), waiting out up to two rate limits.
func (a *Adapter) post(ctx context.Context, channel, text string, blocks []byte) (string, error) {
	form := a.postForm(channel, text, blocks)
	var ts string
	err := a.retry(ctx, func() error {
		var err error
		_, ts, err = a.chatSend(ctx, "chat.postMessage", form)
		return err
	})
	return ts, err
}

// update replaces a message's text and blocks (as JSON), waiting out up to two rate limits.
func (a *Adapter) update(ctx context.Context, channel, ts, text string, escapeText bool, blocks []byte) error {
	form := a.updateForm(channel, ts, text, escapeText, blocks)
	return a.retry(ctx, func() error {
		_, _, err := a.chatSend(ctx, "chat.update", form)
		return err
	})
}

// updateBlocks is update with slack-go blocks.
func (a *Adapter) updateBlocks(ctx context.Context, channel, ts, text string, escapeText bool, blocks []slackgo.Block) error {
	b, err := blocksOf(blocks)
	if err != nil {
		return err
	}
	return a.update(ctx, channel, ts, text, escapeText, b)
}

// retry calls f again after a rate limit's Retry-After, on the adapter's clock, at most three times in all.
func (a *Adapter) retry(ctx context.Context, f func() error) error {
	for attempt := 1; ; attempt++ {
		err := f()
		var rl *slackgo.RateLimitedError
		if err == nil || attempt == 3 || !errors.As(err, &rl) {
			return err
		}
		select {
		case <-a.clk.After(max(rl.RetryAfter, time.Second)):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Restore takes back a passcode message that an earlier run of the bot posted
// and did not remove (it stopped without warning): it goes at its time, or now.
func (a *Adapter) Restore(channel, ts, loc string, at time.Time) {
	a.screen.Restore(onscreen.Item{Channel: channel, MessageID: ts, Locale: loc, RemoveAt: at})
}

// removeSecret replaces a passcode message by removed_for_safety, or deletes it
// when the update does not go through; a message still shown is tried again at
// the next start.
func (a *Adapter) removeSecret(ctx context.Context, it onscreen.Item, _ int) error {
	channel, ts := it.Channel, it.MessageID
	text := a.cat.T(it.Locale, "removed_for_safety")
	err := a.update(ctx, channel, ts, text, true, textBlocks("pcb_removed", text))
	if err == nil || isGone(err) {
		a.log.Info("removed a temporary passcode from Slack", "channel", channel)
		return nil
	}
	a.log.Warn("replacing a temporary passcode failed; deleting the message instead", "channel", channel, "err", err)
	if _, _, err := a.api.DeleteMessageContext(ctx, channel, ts); err != nil && !isGone(err) {
		a.log.Error("removing a temporary passcode from Slack failed; it is still shown (tried again at the next start)", "channel", channel, "ts", ts, "err", err)
		return err
	}
	return nil
}

// isGone reports whether the message is already gone.
func isGone(err error) bool {
	var se slackgo.SlackErrorResponse
	return errors.As(err, &se) && (se.Err == "message_not_found" || se.Err == "channel_not_found")
}

// markChosen removes the buttons and selects of a clicked message and adds a
// line naming what was chosen, so nothing can be clicked twice. The clicked
// message's blocks are passed on as Slack sent them (click.go), less what is
// removed (chosen.go).
func (a *Adapter) markChosen(ctx context.Context, user, channel, ts, label, gen string, msg clickMessage) {
	if msg.Blocks == nil {
		a.log.Warn("a click without its message; its buttons stay")
		return
	}
	blocks := chosenBlocks(msg.Blocks, a.cat.T(a.localeOf(ctx, user), "slack_chosen", map[string]any{"Choice": label}), gen)
	if err := a.update(ctx, channel, ts, msg.Text, false, blocks); err != nil {
		a.log.Warn("removing the buttons of a clicked message failed", "channel", channel, "err", err)
	}
}

// PostAlerts posts helpdesk alerts to the helpdesk channel: one message with all
// of them in full (a digest when there are several), each with "I'm on it".
// A rate-limited post returns a *ratelimit.Error and nothing is lost.
func (a *Adapter) PostAlerts(ctx context.Context, alerts []resetflow.Alert) error {
	if a.cfg.HelpdeskChannel == "" {
		a.log.Warn("no Slack helpdesk channel is configured; alerts are only logged", "alerts", len(alerts))
		return nil
	}
	for len(alerts) > 0 {
		n := min(len(alerts), MaxAlertsPerPost)
		text, blocks := a.renderAlerts(alerts[:n])
		channel, ts, err := a.api.PostMessageContext(ctx, a.cfg.HelpdeskChannel,
			slackgo.MsgOptionText(text, true), slackgo.MsgOptionBlocks(blocks...),
			slackgo.MsgOptionDisableLinkUnfurl(), slackgo.MsgOptionDisableMediaUnfurl())
		if err != nil {
			var rl *slackgo.RateLimitedError
			if errors.As(err, &rl) {
				return &ratelimit.Error{After: rl.RetryAfter, Err: err}
			}
			return fmt.Errorf("slack: posting helpdesk alerts: %w", err)
		}
		a.afterPost(ctx, channel, ts, alerts[:n])
		alerts = alerts[n:]
	}
	return nil
}

// MaxAlertsPerPost is how many alerts one helpdesk message holds; bot.Alerts
// fills digests up to it when its queue is deep.
func (a *Adapter) MaxAlertsPerPost() int { return MaxAlertsPerPost }

// takeAlert records the first "I'm on it" on an alert and shows it in the message.
func (a *Adapter) takeAlert(ctx context.Context, user, channel, ts, alertID string, raw json.RawMessage) {
	if channel != a.cfg.HelpdeskChannel || alertID == "" {
		return
	}
	if !a.taken.Add(alertID, user) {
		return
	}
	a.log.Info("helpdesk alert taken", "alert", alertID, "by", user)
	if a.cfg.OnAlertTaken != nil {
		a.cfg.OnAlertTaken(alertID, user)
	}
	msg, err := parsePayloadMessage(raw)
	if err != nil {
		a.log.Warn("an alert click without its message", "err", err)
		return
	}
	taken := ":white_check_mark: " + a.cat.T(a.cat.Default(), "alert_taken", map[string]any{"Who": "<@" + user + ">"})
	var blocks []slackgo.Block
	for _, b := range msg.Blocks {
		if acc, ok := b["accessory"].(map[string]any); ok && acc["action_id"] == actionTakeAlert && acc["value"] == alertID {
			delete(b, "accessory")
			if t, ok := b["text"].(map[string]any); ok {
				s, _ := t["text"].(string)
				t["text"] = truncate(s, maxSectionText-len([]rune(taken))-1) + "\n" + taken
			}
		}
		blocks = append(blocks, toBlock(b))
	}
	if err := a.updateBlocks(ctx, channel, ts, strings.TrimSpace(msg.Text), false, blocks); err != nil {
		a.log.Warn("showing who took a helpdesk alert failed", "alert", alertID, "err", err)
	}
}
