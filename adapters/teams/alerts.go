package teams

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// maxAlertsPerCard keeps a digest card well under Teams' 28 KB message limit.
const maxAlertsPerCard = 10

// MaxAlertsPerPost is how many alerts fit in one helpdesk card (bot.AlertCapacity).
func (a *Adapter) MaxAlertsPerPost() int { return maxAlertsPerCard }

// alertBoard is a helpdesk card: its alerts and who took which.
type alertBoard struct {
	alerts []resetflow.Alert
	total  int
	taken  map[string]string // alert id -> who (display name)
}

// PostAlerts posts helpdesk alerts to the helpdesk channel as one Adaptive
// Card (a digest when there are several) with an "I'm on it" button for each.
// An alert already posted is never posted again. A 429 is not waited out: it
// returns a *RateLimitedError, and bot.Alerts posts again after Retry-After.
func (a *Adapter) PostAlerts(ctx context.Context, alerts []resetflow.Alert) error {
	if a.cfg.HelpdeskConversationID == "" {
		return errors.New("teams: no helpdesk channel configured")
	}
	var todo []resetflow.Alert
	for _, al := range alerts {
		if !a.posted.has(al.ID) {
			todo = append(todo, al)
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), maxAlertsPerCard)
		b := &alertBoard{alerts: todo[:n], total: len(alerts), taken: map[string]string{}}
		act := &Activity{Type: "message", Summary: a.cat.T(a.cfg.Locale, "alert_title_"+string(b.alerts[0].Kind)), Attachments: []Attachment{attachment(a.alertCard(b))}}
		id, err := a.conn.send(ctx, a.cfg.ServiceURL, a.cfg.HelpdeskConversationID, act, true)
		if err != nil {
			return err
		}
		a.takeMu.Lock()
		if len(a.boards) > 1000 {
			clear(a.boards) // old cards: a late "I'm on it" on them is still recorded, the card not redrawn
		}
		a.boards[id] = b
		a.takeMu.Unlock()
		for _, al := range b.alerts {
			a.posted.add(al.ID)
		}
		todo = todo[n:]
	}
	return nil
}

func (a *Adapter) alertCard(b *alertBoard) card {
	loc := a.cfg.Locale
	none := a.cat.T(loc, "alert_none")
	var body, actions []any
	if b.total > 1 {
		body = append(body, textBlock(a.cat.T(loc, "alert_digest", map[string]any{"Count": b.total}), "weight", "Bolder"))
	}
	for i, al := range b.alerts {
		title := a.cat.T(loc, "alert_title_"+string(al.Kind))
		if len(b.alerts) > 1 {
			title = "#" + strconv.Itoa(i+1) + " " + title
		}
		who := none
		switch {
		case al.User.DisplayName != "" && al.User.UPN != "":
			who = al.User.DisplayName + " (" + al.User.UPN + ")"
		case al.User.UPN != "":
			who = al.User.UPN
		}
		dev := none
		if d := al.Device; d != nil {
			dev = fmt.Sprintf("%s (%s %s, %s %s)", d.Name, d.Maker, d.Model, d.OS, d.OSVersion)
		}
		detail := none
		if al.Detail != "" {
			detail = clip(al.Detail, 1000)
		}
		facts := []any{
			card{"title": a.cat.T(loc, "alert_who"), "value": escape(who)},
			card{"title": a.cat.T(loc, "alert_chat"), "value": escape(al.Platform + " " + al.ChatUser)},
			card{"title": a.cat.T(loc, "alert_device"), "value": escape(dev)},
			card{"title": a.cat.T(loc, "alert_when"), "value": al.Time.In(a.cfg.Location).Format("2006-01-02 15:04:05 MST")},
			card{"title": a.cat.T(loc, "alert_detail"), "value": escape(detail)},
		}
		color := "Warning"
		if al.Kind == resetflow.AlertWrongPerson || al.Kind == resetflow.AlertAuditDown {
			color = "Attention"
		}
		items := []any{textBlock(title, "weight", "Bolder", "color", color), card{"type": "FactSet", "facts": facts}}
		label := a.cat.T(loc, "alert_take")
		if len(b.alerts) > 1 {
			label += " #" + strconv.Itoa(i+1)
		}
		if who, ok := b.taken[al.ID]; ok {
			items = append(items, textBlock("✅ "+a.cat.T(loc, "alert_taken", map[string]any{"Who": escape(who)}), "color", "Good"))
		} else {
			actions = append(actions, card{"type": "Action.Submit", "title": clip(label, 80), "data": card{keyTake: al.ID}})
		}
		body = append(body, card{"type": "Container", "separator": i > 0, "items": items})
	}
	return adaptiveCard(body, actions)
}

// takeAlert records who pressed "I'm on it" (once per alert), redraws the card
// with their name instead of the button, and tells OnAlertTaken.
func (a *Adapter) takeAlert(act *Activity, alertID string) {
	who := act.From.AADObjectID
	if who == "" {
		who = act.From.ID
	}
	name := act.From.Name
	if name == "" {
		name = who
	}
	a.takeMu.Lock()
	b := a.boards[act.ReplyToID]
	if b != nil {
		if _, done := b.taken[alertID]; done {
			a.takeMu.Unlock()
			return
		}
		found := false
		for _, al := range b.alerts {
			found = found || al.ID == alertID
		}
		if !found {
			a.takeMu.Unlock()
			return
		}
		b.taken[alertID] = name
	} else if !a.posted.has(alertID) || !a.used.add("take\x00"+alertID) {
		a.takeMu.Unlock()
		return
	}
	var c card
	if b != nil {
		c = a.alertCard(b)
	}
	a.takeMu.Unlock()
	if c != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := a.conn.update(ctx, a.cfg.ServiceURL, a.cfg.HelpdeskConversationID, act.ReplyToID, &Activity{Type: "message", Attachments: []Attachment{attachment(c)}})
		cancel()
		if err != nil {
			a.log.Warn("marking a helpdesk alert as taken failed", "alert", alertID, "err", err)
		}
	}
	a.log.Info("helpdesk alert taken", "alert", alertID, "by", who)
	if a.cfg.OnAlertTaken != nil {
		a.cfg.OnAlertTaken(alertID, who)
	}
}
