package teams

import (
	"strconv"
	"unicode/utf8"

	"github.com/passcodebot/passcodebot/resetflow"
)

// maxChoiceButtons: more devices than this get a choice set instead of buttons.
const maxChoiceButtons = 5

// cardVersion is the Adaptive Card schema version the cards use (Teams renders up to 1.5).
const cardVersion = "1.5"

type card = map[string]any

func textBlock(text string, extra ...any) card {
	b := card{"type": "TextBlock", "text": text, "wrap": true}
	for i := 0; i+1 < len(extra); i += 2 {
		b[extra[i].(string)] = extra[i+1]
	}
	return b
}

func adaptiveCard(body, actions []any) card {
	c := card{"type": "AdaptiveCard", "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "version": cardVersion, "body": body}
	if len(actions) > 0 {
		c["actions"] = actions
	}
	return c
}

// attachment wraps a card for an activity.
func attachment(c card) Attachment {
	return Attachment{ContentType: ContentTypeAdaptiveCard, Content: c}
}

// render turns the engine's message into an Adaptive Card. With settled set,
// the card has no inputs or actions left and says what was chosen (chosen may
// be empty). The passcode is in the card; callers send it only to the
// requester's personal chat.
func (a *Adapter) render(m resetflow.Message, loc string, settled bool, chosen string) card {
	body := []any{textBlock(m.Text)}
	var actions []any
	many := len(m.Choices) > maxChoiceButtons
	for i, c := range m.Choices {
		line := "**" + strconv.Itoa(i+1) + ".** " + escape(c.Label)
		if c.Detail != "" {
			line += " — " + escape(c.Detail)
		}
		body = append(body, textBlock(line, "spacing", "Small"))
		if settled || many {
			continue
		}
		title := clip(strconv.Itoa(i+1)+". "+c.Label, 80)
		if c.URL != "" {
			// A device-list link: it picks the device in the browser and goes straight
			// on to the sign-in. Teams sends the bot nothing for an Action.OpenUrl.
			actions = append(actions, card{"type": "Action.OpenUrl", "title": title, "url": c.URL, "style": "positive"})
			continue
		}
		actions = append(actions, card{"type": "Action.Submit", "title": title, "data": card{keyAction: c.Value}, "style": "positive"})
	}
	if many && !settled {
		var choices []any
		for i, c := range m.Choices {
			choices = append(choices, card{"title": clip(strconv.Itoa(i+1)+". "+c.Label, 100), "value": c.Value})
		}
		body = append(body, card{"type": "Input.ChoiceSet", "id": keyChoice, "style": "compact", "isRequired": true,
			"placeholder": a.cat.T(loc, "slack_pick_placeholder"), "choices": choices})
		actions = append(actions, card{"type": "Action.Submit", "title": a.cat.T(loc, "teams_choose"), "data": card{keyAction: "choice"}, "style": "positive"})
	}
	for _, b := range m.Buttons {
		if b.Confirm != nil {
			// Teams has no confirm dialog: this card is the confirmation.
			body = append(body, textBlock("**"+b.Confirm.Title+"** "+b.Confirm.Text, "color", "Attention"))
		}
		if settled {
			continue
		}
		act := card{"type": "Action.Submit", "title": clip(b.Label, 80), "data": card{keyAction: b.Value}}
		switch b.Style {
		case resetflow.StyleDanger:
			act["style"] = "destructive"
		case resetflow.StylePrimary:
			act["style"] = "positive"
		}
		actions = append(actions, act)
	}
	if m.Link != nil {
		if !m.Link.Expires.IsZero() {
			until := m.Link.Expires.In(a.cfg.Location).Format("15:04")
			body = append(body, textBlock("⏰ "+a.cat.T(loc, "slack_link_until", map[string]any{"Until": until}), "isSubtle", true))
		}
		// A link is no button: it stays usable until it expires.
		actions = append([]any{card{"type": "Action.OpenUrl", "title": clip(m.Link.Label, 80), "url": m.Link.URL}}, actions...)
	}
	if m.Secret != nil {
		body = append(body,
			textBlock(m.Secret.Label, "weight", "Bolder", "spacing", "Medium"),
			textBlock(m.Secret.Reveal(), "fontType", "Monospace", "size", "ExtraLarge"))
	}
	if settled && chosen != "" {
		body = append(body, textBlock(a.cat.T(loc, "slack_chosen", map[string]any{"Choice": escape(chosen)}), "weight", "Bolder"))
	}
	if m.Notice != "" {
		body = append(body, textBlock(m.Notice, "isSubtle", true, "size", "Small"))
	}
	return adaptiveCard(body, actions)
}

// redacted is the passcode card with the passcode taken out.
func (a *Adapter) redacted(m *resetflow.Message, loc string) card {
	note := a.cat.T(loc, "removed_for_safety")
	if m == nil {
		return adaptiveCard([]any{textBlock(note)}, nil)
	}
	body := []any{textBlock(m.Text)}
	if m.Secret != nil {
		body = append(body, textBlock(m.Secret.Label, "weight", "Bolder"), textBlock("••••••"))
	}
	body = append(body, textBlock(note, "weight", "Bolder"))
	return adaptiveCard(body, nil)
}

// chosenLabel is the label of the choice or button whose value is action.
func chosenLabel(m resetflow.Message, action string) string {
	for _, c := range m.Choices {
		if c.Value == action {
			return c.Label
		}
	}
	for _, b := range m.Buttons {
		if b.Value == action {
			return b.Label
		}
	}
	return ""
}

// escape keeps a label (a device name) from being read as markdown.
func escape(s string) string { return mdEscaper.Replace(s) }

var mdEscaper = newMDEscaper()

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
