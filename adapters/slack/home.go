package slack

import (
	"context"
	"time"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/passcodebot/passcodebot/resetflow"
)

// HomeReset is one of a person's recent resets, as the App Home tab lists it.
// It never carries a passcode.
type HomeReset struct {
	Time   time.Time
	Device string // the device's name (or id when the name is unknown)
	Done   bool   // the passcode was reset
}

const (
	actionHomeReset = "home_reset" // "Reset a passcode" on the App Home tab
	homeResetsShown = 5
)

// onHomeOpened publishes the person's App Home tab when they open it.
func (a *Adapter) onHomeOpened(cb *slackevents.EventsAPICallbackEvent, ev *slackevents.AppHomeOpenedEvent) {
	if ev.Tab != "home" || ev.User == "" || ev.User == a.botUser {
		return
	}
	if cb != nil && cb.EventID != "" && !a.seen.Add("ev:"+cb.EventID, struct{}{}) {
		return
	}
	user := ev.User
	a.do(user, func(ctx context.Context) { a.publishHome(ctx, user) })
}

// publishHome is views.publish of the Home tab: what the bot does, a "Reset a
// passcode" button and the person's recent resets, in their language.
func (a *Adapter) publishHome(ctx context.Context, user string) {
	refusal := ""
	mem, ok := a.admit(ctx, user, func(_ context.Context, loc, id string) { refusal = a.cat.T(loc, id) })
	loc := a.cat.Default()
	if mem != nil {
		loc = a.cat.Normalize(mem.locale)
	}
	blocks := []slackgo.Block{textSection("home_intro", a.cat.T(loc, "home_intro"))}
	switch {
	case !ok && refusal != "":
		blocks = append(blocks, textSection("home_refused", refusal))
	case ok:
		btn := slackgo.NewButtonBlockElement(actionHomeReset, "start", plain(truncate(a.cat.T(loc, "home_reset_button"), maxButtonText)))
		btn.Style = slackgo.StylePrimary
		blocks = append(blocks, slackgo.NewActionBlock("home_actions", btn),
			textSection("home_recent_title", a.cat.T(loc, "home_recent_title")))
		var recent []HomeReset
		if a.cfg.RecentResets != nil {
			var err error
			if recent, err = a.cfg.RecentResets(ctx, mem.email); err != nil {
				a.log.Warn("reading a person's recent resets for the App Home failed", "chat_user", user, "err", err)
			}
		}
		if len(recent) > homeResetsShown {
			recent = recent[len(recent)-homeResetsShown:]
		}
		if len(recent) == 0 {
			blocks = append(blocks, contextLine("home_recent_none", a.cat.T(loc, "home_recent_none")))
		}
		for i := len(recent) - 1; i >= 0; i-- { // newest first
			r := recent[i]
			id := "home_outcome_other"
			if r.Done {
				id = "home_outcome_done"
			}
			blocks = append(blocks, contextLine("home_recent_"+string(rune('0'+i)), a.cat.T(loc, id, map[string]any{
				"When": r.Time.In(a.cfg.Location).Format("2006-01-02 15:04"), "Device": r.Device,
			})))
		}
	default:
		return // the person could not be looked up: nothing to show them
	}
	_, err := a.api.PublishViewContext(ctx, slackgo.PublishViewContextRequest{UserID: user, View: slackgo.HomeTabViewRequest{Type: slackgo.VTHomeTab, Blocks: slackgo.Blocks{BlockSet: blocks}}})
	if err != nil {
		a.log.Warn("publishing the App Home tab failed", "chat_user", user, "err", err)
	}
}

// onHomeClick takes "Reset a passcode" on the Home tab: the reset starts in the person's DM.
func (a *Adapter) onHomeClick(user, trigger string) {
	if trigger != "" && !a.seen.Add("home:"+trigger, struct{}{}) {
		return
	}
	a.do(user, func(ctx context.Context) {
		im, err := a.imOf(ctx, user)
		if err != nil {
			a.log.Warn("opening the DM for a Home tab click failed", "chat_user", user, "err", err)
			return
		}
		a.toEngine(ctx, user, im, resetflow.Input{Action: "start"})
	})
}
