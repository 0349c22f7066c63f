package discord

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/resetflow"
)

// alertPosts remembers the helpdesk message of each alert, so a take in the
// helpdesk console can show in the channel too. Memory only: alerts posted
// before a restart are not updated (the console still is).
type alertPosts struct {
	mu    sync.Mutex
	byID  map[string]*alertPost
	early map[string]string // taken in the console before this run's post of it returned
}

type alertPost struct {
	messageID string
	alerts    []resetflow.Alert
	total     int
}

const maxAlertPosts = 20000

// remember keeps a post and returns the console takes made while it was under way.
func (p *alertPosts) remember(messageID string, chunk []resetflow.Alert, total int) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byID == nil || len(p.byID) > maxAlertPosts {
		p.byID = map[string]*alertPost{}
	}
	ap := &alertPost{messageID: messageID, alerts: append([]resetflow.Alert(nil), chunk...), total: total}
	var early map[string]string
	for _, al := range chunk {
		p.byID[al.ID] = ap
		if who, ok := p.early[al.ID]; ok {
			if early == nil {
				early = map[string]string{}
			}
			early[al.ID] = who
			delete(p.early, al.ID)
		}
	}
	return early
}

func (a *Adapter) afterPost(ctx context.Context, messageID string, chunk []resetflow.Alert, total int) {
	for id, who := range a.alertPosts.remember(messageID, chunk, total) {
		a.MarkAlertTaken(ctx, id, who)
	}
}

// MarkAlertTaken shows in the helpdesk channel that who took the alert in the
// console: the embed names them and the button is disabled. An alert someone
// already took here keeps its taker. It reports whether it knew the alert's
// message (not after a restart, nor before the post returned: then the take
// is shown as soon as the post returns).
func (a *Adapter) MarkAlertTaken(ctx context.Context, alertID, who string) bool {
	a.alertPosts.mu.Lock()
	ap := a.alertPosts.byID[alertID]
	if ap == nil {
		if a.alertPosts.early == nil || len(a.alertPosts.early) > maxAlertPosts {
			a.alertPosts.early = map[string]string{}
		}
		a.alertPosts.early[alertID] = who
		a.alertPosts.mu.Unlock()
		return false
	}
	a.alertPosts.mu.Unlock()

	loc := a.cfg.Locale
	a.takeMu.Lock()
	taken := a.taken[ap.messageID]
	if taken == nil {
		taken = map[string]taker{}
		a.taken[ap.messageID] = taken
	}
	if _, done := taken[alertID]; done {
		a.takeMu.Unlock()
		return true
	}
	taken[alertID] = taker{mention: escape(who) + " (console)", name: who}
	ms := a.alertMessage(ap.alerts, ap.total)
	for _, e := range ms.Embeds {
		if e.Footer == nil {
			continue
		}
		if t, ok := taken[strings.TrimPrefix(e.Footer.Text, alertFooter)]; ok {
			e.Color = takenColor
			e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: a.cat.T(loc, "alert_take"), Value: a.cat.T(loc, "alert_taken", map[string]any{"Who": t.mention})})
		}
	}
	for _, c := range ms.Components {
		row, ok := c.(discordgo.ActionsRow)
		if !ok {
			continue
		}
		for i, rc := range row.Components {
			if b, ok := rc.(discordgo.Button); ok {
				if t, ok := taken[strings.TrimPrefix(b.CustomID, prefixTake)]; ok {
					b.Disabled, b.Style = true, discordgo.SuccessButton
					b.Label = clip(a.cat.T(loc, "alert_taken", map[string]any{"Who": t.name}), maxButtonLabel)
					row.Components[i] = b
				}
			}
		}
	}
	a.takeMu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := a.rest.ChannelMessageEditComplex(&discordgo.MessageEdit{ID: ap.messageID, Channel: a.cfg.HelpdeskChannelID,
		Embeds: &ms.Embeds, Components: &ms.Components, AllowedMentions: noMentions()}, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("showing in Discord who took a helpdesk alert in the console failed", "alert", alertID, "err", safe("", err))
	}
	return true
}
