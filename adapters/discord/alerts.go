package discord

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Discord allows 10 embeds in a message.
const maxEmbeds = 10

var alertColors = map[resetflow.AlertKind]int{
	resetflow.AlertWrongPerson:   0xED4245, // red: possible attack
	resetflow.AlertResetFailed:   0xE67E22,
	resetflow.AlertResetTimedOut: 0xE67E22,
	resetflow.AlertResetUnknown:  0xE67E22,
	resetflow.AlertBackendError:  0xE67E22,
	resetflow.AlertAuditDown:     0xED4245,
	resetflow.AlertLimitReached:  0xFEE75C,
	resetflow.AlertLinkRefused:   0xED4245, // red: possible account takeover

	resetflow.AlertDeliveryFailed: 0xE67E22,
	resetflow.AlertsFolded:        0xFEE75C,
}

const takenColor = 0x57F287

// PostAlerts posts helpdesk alerts to the helpdesk channel: one embed per alert
// (who, device, what happened, when, detail) and an "I'm on it" button for
// each. Several alerts are one digest message (more than 10 take several
// messages). An alert already posted is never posted again, so the runtime may
// retry a batch that failed half way. A 429 returns a *ratelimit.Error.
func (a *Adapter) PostAlerts(ctx context.Context, alerts []resetflow.Alert) error {
	if a.cfg.HelpdeskChannelID == "" {
		return errors.New("discord: no helpdesk channel configured")
	}
	var todo []resetflow.Alert
	for _, al := range alerts {
		if !a.posted.Has(al.ID) {
			todo = append(todo, al)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), maxEmbeds)
		chunk := todo[:n]
		ms := a.alertMessage(chunk, len(alerts))
		_, err := a.rest.ChannelMessageSendComplex(a.cfg.HelpdeskChannelID, ms, discordgo.WithContext(ctx), discordgo.WithRetryOnRatelimit(false))
		if err != nil {
			if rl := asRateLimited(err); rl != nil {
				return rl
			}
			return safe("post alerts", err)
		}
		for _, al := range chunk {
			a.posted.Add(al.ID, struct{}{})
		}
		todo = todo[n:]
	}
	return nil
}

func (a *Adapter) alertMessage(alerts []resetflow.Alert, total int) *discordgo.MessageSend {
	loc := a.cfg.Locale
	ms := &discordgo.MessageSend{AllowedMentions: noMentions()}
	if total > 1 {
		ms.Content = a.cat.T(loc, "alert_digest", map[string]any{"Count": total})
	}
	var row []discordgo.MessageComponent
	for i, al := range alerts {
		ms.Embeds = append(ms.Embeds, a.alertEmbed(al))
		label := a.cat.T(loc, "alert_take")
		if len(alerts) > 1 {
			label += " #" + strconv.Itoa(i+1)
		}
		if len(row) == maxButtonsRow {
			ms.Components = append(ms.Components, discordgo.ActionsRow{Components: row})
			row = nil
		}
		row = append(row, discordgo.Button{Label: clip(label, maxButtonLabel), Style: discordgo.PrimaryButton, CustomID: prefixTake + al.ID})
	}
	if len(row) > 0 {
		ms.Components = append(ms.Components, discordgo.ActionsRow{Components: row})
	}
	if len(alerts) > 1 {
		for i, e := range ms.Embeds {
			e.Title = "#" + strconv.Itoa(i+1) + " " + e.Title
		}
	}
	return ms
}

func (a *Adapter) alertEmbed(al resetflow.Alert) *discordgo.MessageEmbed {
	loc := a.cfg.Locale
	none := a.cat.T(loc, "alert_none")
	who := none
	switch {
	case al.User.DisplayName != "" && al.User.UPN != "":
		who = al.User.DisplayName + " <" + al.User.UPN + ">"
	case al.User.UPN != "":
		who = al.User.UPN
	}
	chat := al.Platform + " " + al.ChatUser
	if al.Platform == Platform && al.ChatUser != "" {
		chat = "Discord <@" + al.ChatUser + ">" // shown as the name; embeds never ping
	}
	if al.ChatName != "" {
		chat += " " + escape(al.ChatName)
	}
	dev := none
	if d := al.Device; d != nil {
		dev = fmt.Sprintf("%s\n%s %s · %s %s", d.Name, d.Maker, d.Model, d.OS, d.OSVersion)
	}
	detail := none
	if al.Detail != "" {
		detail = codeSpan(clip(al.Detail, 1000))
	}
	when := fmt.Sprintf("<t:%d:f> (%s)", al.Time.Unix(), al.Time.In(a.cfg.Location).Format("2006-01-02 15:04:05 MST"))
	color, ok := alertColors[al.Kind]
	if !ok {
		color = 0x5865F2
	}
	e := &discordgo.MessageEmbed{
		Title: clip(a.cat.T(loc, "alert_title_"+string(al.Kind)), 256),
		Color: color,
		Fields: []*discordgo.MessageEmbedField{
			{Name: a.cat.T(loc, "alert_who"), Value: clip(escape(who), 1024), Inline: true},
			{Name: a.cat.T(loc, "alert_chat"), Value: clip(chat, 1024), Inline: true},
			{Name: a.cat.T(loc, "alert_device"), Value: clip(escape(dev), 1024)},
			{Name: a.cat.T(loc, "alert_when"), Value: when, Inline: true},
			{Name: a.cat.T(loc, "alert_detail"), Value: detail},
		},
		Timestamp: al.Time.UTC().Format(time.RFC3339),
		Footer:    &discordgo.MessageEmbedFooter{Text: alertFooter + al.ID},
	}
	if al.Repeats > 0 {
		since := fmt.Sprintf("<t:%d:f> (%s)", al.Since.Unix(), al.Since.In(a.cfg.Location).Format("2006-01-02 15:04:05 MST"))
		e.Fields = append(e.Fields, &discordgo.MessageEmbedField{Name: a.cat.T(loc, "alert_repeats"),
			Value: clip(a.cat.T(loc, "alert_repeats_value", map[string]any{"Count": al.Repeats, "Since": since}), 1024)})
	}
	return e
}

const alertFooter = "alert "

// takeAlert marks the alert as taken by the person who pressed "I'm on it":
// the embed says who, the button is disabled, and OnAlertTaken is called.
func (a *Adapter) takeAlert(i *discordgo.Interaction, u *discordgo.User, alertID string) {
	a.takeMu.Lock()
	defer a.takeMu.Unlock()
	if len(a.taken) > 1000 {
		// Old helpdesk messages: Discord sends each click with the message as it
		// is, so forgetting our copy only matters for two takes at the same moment.
		clear(a.taken)
	}
	taken := a.taken[i.Message.ID]
	if taken == nil {
		taken = map[string]taker{}
		a.taken[i.Message.ID] = taken
	}
	if _, done := taken[alertID]; done {
		return
	}
	taken[alertID] = taker{mention: "<@" + u.ID + ">", name: displayName(i, u)}
	loc := a.cfg.Locale

	// Rebuild from the message as Discord sent it, applying every take we know of
	// (another take may have edited the message since this click's copy).
	embeds := make([]*discordgo.MessageEmbed, 0, len(i.Message.Embeds))
	for _, e := range i.Message.Embeds {
		ec := *e
		ec.Fields = append([]*discordgo.MessageEmbedField(nil), e.Fields...)
		if ec.Footer != nil {
			id := strings.TrimPrefix(ec.Footer.Text, alertFooter)
			if who, ok := taken[id]; ok && !hasTakenField(&ec, a.cat.T(loc, "alert_take")) {
				ec.Color = takenColor
				ec.Fields = append(ec.Fields, &discordgo.MessageEmbedField{Name: a.cat.T(loc, "alert_take"), Value: a.cat.T(loc, "alert_taken", map[string]any{"Who": who.mention})})
			}
		}
		embeds = append(embeds, &ec)
	}
	var comps []discordgo.MessageComponent
	for _, c := range i.Message.Components {
		row, ok := asRow(c)
		if !ok {
			continue
		}
		var nr []discordgo.MessageComponent
		for _, rc := range row.Components {
			if b, ok := rc.(*discordgo.Button); ok {
				bc := *b
				if who, ok := taken[strings.TrimPrefix(bc.CustomID, prefixTake)]; ok {
					bc.Disabled, bc.Style = true, discordgo.SuccessButton
					bc.Label = clip(a.cat.T(loc, "alert_taken", map[string]any{"Who": who.name}), maxButtonLabel)
				}
				nr = append(nr, bc)
				continue
			}
			nr = append(nr, rc)
		}
		comps = append(comps, discordgo.ActionsRow{Components: nr})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := a.rest.InteractionResponseEdit(i, &discordgo.WebhookEdit{Embeds: &embeds, Components: &comps, AllowedMentions: noMentions()}, discordgo.WithContext(ctx))
	if err != nil {
		a.log.Warn("marking a helpdesk alert as taken failed", "alert", alertID, "err", safe("", err))
	}
	a.log.Info("helpdesk alert taken", "alert", alertID, "by", u.ID)
	if a.cfg.OnAlertTaken != nil {
		a.cfg.OnAlertTaken(alertID, u.ID)
	}
}

func hasTakenField(e *discordgo.MessageEmbed, name string) bool {
	for _, f := range e.Fields {
		if f.Name == name {
			return true
		}
	}
	return false
}

// taker is who pressed "I'm on it": a mention for the embed, a name for the
// button label (labels don't render mentions).
type taker struct{ mention, name string }

func displayName(i *discordgo.Interaction, u *discordgo.User) string {
	if i.Member != nil && i.Member.Nick != "" {
		return i.Member.Nick
	}
	if u.GlobalName != "" {
		return u.GlobalName
	}
	return u.Username
}
