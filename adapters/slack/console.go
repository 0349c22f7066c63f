package slack

import (
	"context"
	"strings"
	"sync"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/resetflow"
)

// postedAlerts remembers where each helpdesk alert was posted, so a take in
// the helpdesk console can show in the channel too. It is memory only: after
// a restart, alerts posted before it are not updated (the console still is).
type postedAlerts struct {
	mu      sync.Mutex
	byID    map[string]*postedAlert
	console map[string]string // alert id -> who took it in the console
	early   map[string]string // taken in the console before this run's post of it returned
}

type postedAlert struct {
	channel, ts string
	alerts      []resetflow.Alert
}

// maxPostedAlerts bounds the alerts remembered; beyond it the oldest are forgotten at once.
const maxPostedAlerts = 20000

// add remembers a post and returns the takes made in the console while it was under way.
func (p *postedAlerts) add(channel, ts string, alerts []resetflow.Alert) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID == nil || len(p.byID) > maxPostedAlerts {
		p.byID, p.console = map[string]*postedAlert{}, map[string]string{}
	}
	pa := &postedAlert{channel: channel, ts: ts, alerts: append([]resetflow.Alert(nil), alerts...)}
	var early map[string]string
	for _, al := range alerts {
		if al.ID != "" {
			p.byID[al.ID] = pa
			if who, ok := p.early[al.ID]; ok {
				if early == nil {
					early = map[string]string{}
				}
				early[al.ID] = who
				delete(p.early, al.ID)
			}
		}
	}
	return early
}

// afterPost shows the takes made in the console while the post was under way.
func (a *Adapter) afterPost(ctx context.Context, channel, ts string, alerts []resetflow.Alert) {
	for id, who := range a.posted.add(channel, ts, alerts) {
		a.MarkAlertTaken(ctx, id, who)
	}
}

// MarkAlertTaken shows in the helpdesk channel that who took the alert in the
// console: its "I'm on it" button goes, and a line says who is on it. An alert
// someone already took in Slack keeps its taker. It reports whether it knew
// where the alert was posted (not after a restart, nor before the post returned).
func (a *Adapter) MarkAlertTaken(ctx context.Context, alertID, who string) bool {
	a.posted.mu.Lock()
	pa := a.posted.byID[alertID]
	if pa == nil {
		// Not posted yet (or posted before a restart): shown when the post returns, if it is this run's.
		if a.posted.early == nil || len(a.posted.early) > maxPostedAlerts {
			a.posted.early = map[string]string{}
		}
		a.posted.early[alertID] = who
		a.posted.mu.Unlock()
		a.log.Info("a helpdesk alert taken in the console is not in this run's Slack messages (yet)", "alert", alertID)
		return false
	}
	a.posted.mu.Unlock()
	if !a.taken.Add(alertID, who) {
		return true
	}
	a.posted.mu.Lock()
	a.posted.console[alertID] = who
	consoleTakers := make(map[string]string, len(a.posted.console))
	for k, v := range a.posted.console {
		consoleTakers[k] = v
	}
	a.posted.mu.Unlock()

	text, blocks := a.renderAlerts(pa.alerts)
	loc := a.cat.Default()
	for _, b := range blocks {
		sb, ok := b.(*slackgo.SectionBlock)
		if !ok || sb.Accessory == nil || sb.Accessory.ButtonElement == nil {
			continue
		}
		id := sb.Accessory.ButtonElement.Value
		taker, ok := a.taken.Get(id)
		if !ok {
			continue
		}
		label := "<@" + taker + ">"
		if c, ok := consoleTakers[id]; ok {
			label = escape(c) + " (console)"
		}
		line := ":white_check_mark: " + a.cat.T(loc, "alert_taken", map[string]any{"Who": label})
		sb.Accessory = nil
		sb.Text.Text = truncate(sb.Text.Text, maxSectionText-len([]rune(line))-1) + "\n" + line
	}
	if err := a.updateBlocks(ctx, pa.channel, pa.ts, strings.TrimSpace(text), false, blocks); err != nil {
		a.log.Warn("showing in Slack who took a helpdesk alert in the console failed", "alert", alertID, "err", err)
	}
	return true
}
