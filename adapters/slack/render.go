package slack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Element ids. Every element the engine's clicks come from starts with actionPrefix.
const (
	actionPrefix    = "pcb_"
	actionChoice    = "pcb_choice_" // + index: a device button
	actionChoose    = "pcb_choose"  // the device select, with more than maxChoiceButtons devices
	actionButton    = "pcb_button_" // + index
	actionLink      = "pcb_link"    // the sign-in url button
	actionTakeAlert = "alert_take"  // "I'm on it" on a helpdesk alert

	maxChoiceButtons = 5
	maxSelectOptions = 100
	maxSectionText   = 3000
	maxButtonText    = 75
	maxOptionText    = 75
)

// MaxAlertsPerPost is how many alerts fit in one helpdesk message (Slack allows
// 50 blocks: one per alert and a digest heading). bot.Alerts' Digest should not
// exceed it; a larger batch is posted as several messages.
const MaxAlertsPerPost = 49

// render turns a neutral message into Block Kit JSON (blockjson.go) and the
// plain fallback text Slack shows in notifications. The fallback never holds
// the secret.
func (a *Adapter) render(m resetflow.Message, loc string) (string, []byte) {
	return a.renderIDs(m, loc, "")
}

// renderIDs is render with idSuffix after every block_id.
func (a *Adapter) renderIDs(m resetflow.Message, loc, idSuffix string) (string, []byte) {
	w := blockJSON{b: make([]byte, 0, 512+2*len(m.Text)), idSuffix: idSuffix}
	for i, chunk := range chunks(m.Text, maxSectionText) {
		id := "pcb_text"
		if i > 0 {
			id += "_" + strconv.Itoa(i+1)
		}
		w.sectionStart()
		w.plain(truncate(chunk, maxSectionText))
		w.sectionID(id)
		w.end()
	}
	if len(m.Choices) > 0 && len(m.Choices) <= maxChoiceButtons {
		for i, c := range m.Choices {
			id := actionChoice + strconv.Itoa(i)
			text := "*" + escape(c.Label) + "*"
			if c.Detail != "" {
				text += "\n" + escape(c.Detail)
			}
			w.sectionStart()
			w.mrkdwn(text)
			w.sectionID(id)
			w.key("accessory")
			// When URL is set, the click also opens the device's sign-in in the browser.
			w.button(id, c.Value, truncate(c.Label, maxButtonText), c.URL, "", nil)
			w.end()
		}
	} else if len(m.Choices) > maxChoiceButtons {
		choices := m.Choices
		if len(choices) > maxSelectOptions {
			a.log.Warn("more choices than a Slack select holds; the rest are left out", "choices", len(choices))
			choices = choices[:maxSelectOptions]
		}
		w.start("actions")
		w.blockID("pcb_choices")
		w.b = append(w.b, `,"elements":[{"type":"static_select","placeholder":`...)
		w.plain(a.cat.T(loc, "slack_pick_placeholder"))
		w.b = append(w.b, `,"action_id":"pcb_choose","options":[`...)
		for i, c := range choices {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, `{"text":`...)
			w.plain(truncate(c.Label, maxOptionText))
			w.key("value")
			w.str(c.Value)
			if c.Detail != "" {
				w.key("description")
				w.plain(truncate(c.Detail, maxOptionText))
			}
			w.b = append(w.b, '}')
		}
		w.b = append(w.b, "]}]}"...)
	}
	if l := m.Link; l != nil {
		text := "*" + escape(l.Label) + "*"
		if !l.Expires.IsZero() {
			text += "\n" + escape(a.cat.T(loc, "slack_link_until", map[string]any{"Until": a.clockTime(l.Expires)}))
		}
		w.sectionStart()
		w.mrkdwn(text)
		w.sectionID("pcb_link")
		w.key("accessory")
		w.button(actionLink, "", truncate(l.Label, maxButtonText), l.URL, stylePrimary, nil)
		w.end()
	}
	if s := m.Secret; s != nil {
		// A code span: easy to read and copy. Backticks cannot occur in a
		// passcode, and would end the span, so they are dropped.
		v := escape(strings.ReplaceAll(s.Reveal(), "`", ""))
		w.sectionStart()
		w.mrkdwn("*" + escape(s.Label) + "*\n`" + v + "`")
		w.sectionID("pcb_secret")
		w.end()
	}
	if len(m.Buttons) > 0 {
		w.start("actions")
		w.blockID("pcb_buttons")
		w.b = append(w.b, `,"elements":[`...)
		for i, b := range m.Buttons {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			style := ""
			switch b.Style {
			case resetflow.StylePrimary:
				style = stylePrimary
			case resetflow.StyleDanger:
				style = styleDanger
			}
			w.button(actionButton+strconv.Itoa(i), b.Value, truncate(b.Label, maxButtonText), "", style, b.Confirm)
		}
		w.b = append(w.b, "]}"...)
	}
	if m.Notice != "" {
		w.context("pcb_notice", truncate(m.Notice, maxSectionText))
	}
	return m.Text, w.bytes()
}

// renderAlerts is one helpdesk message: a heading when there are several, then
// each alert in full with its "I'm on it" button.
func (a *Adapter) renderAlerts(alerts []resetflow.Alert) (string, []slackgo.Block) {
	loc := a.cat.Default()
	var blocks []slackgo.Block
	var titles []string
	if len(alerts) > 1 {
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn("*"+escape(a.cat.T(loc, "alert_digest", map[string]any{"Count": len(alerts)}))+"*"), nil, nil,
			slackgo.SectionBlockOptionBlockID("alert_digest")))
	}
	ids := map[string]bool{}
	for i, al := range alerts {
		title := a.cat.T(loc, "alert_title_"+string(al.Kind))
		titles = append(titles, title)
		none := a.cat.T(loc, "alert_none")
		who := none
		if al.User.UPN != "" {
			who = escape(al.User.UPN)
			if al.User.DisplayName != "" {
				who = escape(al.User.DisplayName) + " (" + who + ")"
			}
		}
		dev := none
		if d := al.Device; d != nil {
			dev = escape(fmt.Sprintf("%s (%s, %s %s)", d.Name, strings.TrimSpace(d.Maker+" "+d.Model), d.OS, d.OSVersion))
		}
		chat := escape(al.Platform)
		if al.ChatUser != "" {
			if al.Platform == Platform {
				chat += " <@" + al.ChatUser + ">"
			} else {
				chat += " " + escape(al.ChatUser)
			}
		}
		if al.ChatName != "" {
			chat += " " + escape(al.ChatName)
		}
		detail := none
		if al.Detail != "" {
			detail = "`" + escape(truncate(strings.ReplaceAll(al.Detail, "`", "'"), 1000)) + "`"
		}
		var b strings.Builder
		fmt.Fprintf(&b, ":rotating_light: *%s*\n", escape(title))
		fmt.Fprintf(&b, "*%s:* %s\n", escape(a.cat.T(loc, "alert_who")), who)
		fmt.Fprintf(&b, "*%s:* %s\n", escape(a.cat.T(loc, "alert_device")), dev)
		fmt.Fprintf(&b, "*%s:* %s\n", escape(a.cat.T(loc, "alert_when")), escape(al.Time.In(a.cfg.Location).Format("2006-01-02 15:04:05 MST")))
		fmt.Fprintf(&b, "*%s:* %s\n", escape(a.cat.T(loc, "alert_chat")), cmpOr(strings.TrimSpace(chat), none))
		fmt.Fprintf(&b, "*%s:* %s", escape(a.cat.T(loc, "alert_detail")), detail)
		if al.Repeats > 0 {
			fmt.Fprintf(&b, "\n*%s:* %s", escape(a.cat.T(loc, "alert_repeats")), escape(a.cat.T(loc, "alert_repeats_value",
				map[string]any{"Count": al.Repeats, "Since": al.Since.In(a.cfg.Location).Format("2006-01-02 15:04:05 MST")})))
		}
		id := "alert_" + al.ID
		if al.ID == "" || ids[id] {
			id = "alert_" + al.ID + "_" + strconv.Itoa(i)
		}
		ids[id] = true
		var acc *slackgo.Accessory
		if al.ID != "" {
			btn := slackgo.NewButtonBlockElement(actionTakeAlert, al.ID, plain(truncate(a.cat.T(loc, "alert_take"), maxButtonText)))
			btn.Style = slackgo.StylePrimary
			acc = slackgo.NewAccessory(btn)
		}
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(truncate(b.String(), maxSectionText)), nil, acc, slackgo.SectionBlockOptionBlockID(id)))
	}
	return strings.Join(titles, "; "), blocks
}

// clockTime is how the engine writes a deadline: rounded down to the minute,
// so the time shown is never later than the real one.
func (a *Adapter) clockTime(t time.Time) string {
	t = t.In(a.cfg.Location)
	return t.Truncate(time.Minute).Format("15:04") + " " + t.Format("MST")
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

// textSection is a section of plain text: no formatting surprises from names.
func textSection(id, text string) *slackgo.SectionBlock {
	return slackgo.NewSectionBlock(plain(truncate(text, maxSectionText)), nil, nil, slackgo.SectionBlockOptionBlockID(id))
}

func contextLine(id, text string) *slackgo.ContextBlock {
	return slackgo.NewContextBlock(id, plain(truncate(text, maxSectionText)))
}

// escape makes text safe inside mrkdwn: Slack's three control characters
// (&, <, >) become entities. slack-go's EscapeMessage does exactly that, with a
// Replacer built once per process; receive.go's unescape is its inverse.
func escape(s string) string { return slackutilsx.EscapeMessage(s) }

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// chunks splits text into pieces of at most n characters, at line ends where it can.
func chunks(text string, n int) []string {
	if text == "" {
		return nil
	}
	var out []string
	for utf8.RuneCountInString(text) > n {
		r := []rune(text)
		cut := n
		if i := strings.LastIndex(string(r[:n]), "\n"); i > 0 {
			cut = utf8.RuneCountInString(string(r[:n])[:i])
		}
		out = append(out, strings.TrimRight(string(r[:cut]), "\n"))
		text = strings.TrimLeft(string(r[cut:]), "\n")
	}
	if text != "" {
		out = append(out, text)
	}
	return out
}

// rawBlock is a block as Slack sent it back in an interaction payload, passed
// on unchanged except for what the adapter removes.
type rawBlock struct {
	typ, id string
	raw     json.RawMessage
}

func (b rawBlock) BlockType() slackgo.MessageBlockType { return slackgo.MessageBlockType(b.typ) }
func (b rawBlock) ID() string                          { return b.id }
func (b rawBlock) MarshalJSON() ([]byte, error)        { return b.raw, nil }

// payloadMessage is the clicked message in an interaction payload.
type payloadMessage struct {
	Text   string
	Blocks []map[string]any
}

func parsePayloadMessage(raw json.RawMessage) (payloadMessage, error) {
	var p struct {
		Message struct {
			Text   string           `json:"text"`
			Blocks []map[string]any `json:"blocks"`
		} `json:"message"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return payloadMessage{}, err
	}
	return payloadMessage{Text: p.Message.Text, Blocks: p.Message.Blocks}, nil
}

func toBlock(m map[string]any) slackgo.Block {
	raw, _ := json.Marshal(m)
	typ, _ := m["type"].(string)
	id, _ := m["block_id"].(string)
	return rawBlock{typ: typ, id: id, raw: raw}
}
