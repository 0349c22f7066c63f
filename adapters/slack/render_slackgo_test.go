package slack

import (
	"strconv"
	"strings"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/resetflow"
)

// renderSlackGo is render as it was before blockjson.go: slack-go's block
// types. It stays here as the reference render must write the same JSON as.
func (a *Adapter) renderSlackGo(m resetflow.Message, loc string) (string, []slackgo.Block) {
	var blocks []slackgo.Block
	for i, chunk := range chunks(m.Text, maxSectionText) {
		id := "pcb_text"
		if i > 0 {
			id += "_" + strconv.Itoa(i+1)
		}
		blocks = append(blocks, textSection(id, chunk))
	}
	if len(m.Choices) > 0 && len(m.Choices) <= maxChoiceButtons {
		for i, c := range m.Choices {
			id := actionChoice + strconv.Itoa(i)
			text := "*" + escape(c.Label) + "*"
			if c.Detail != "" {
				text += "\n" + escape(c.Detail)
			}
			btn := slackgo.NewButtonBlockElement(id, c.Value, plain(truncate(c.Label, maxButtonText)))
			btn.URL = c.URL // when set, the click also opens the device's sign-in in the browser
			blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(text), nil, slackgo.NewAccessory(btn), slackgo.SectionBlockOptionBlockID(id)))
		}
	} else if len(m.Choices) > maxChoiceButtons {
		choices := m.Choices
		if len(choices) > maxSelectOptions {
			a.log.Warn("more choices than a Slack select holds; the rest are left out", "choices", len(choices))
			choices = choices[:maxSelectOptions]
		}
		var opts []*slackgo.OptionBlockObject
		for _, c := range choices {
			var desc *slackgo.TextBlockObject
			if c.Detail != "" {
				desc = plain(truncate(c.Detail, maxOptionText))
			}
			opts = append(opts, slackgo.NewOptionBlockObject(c.Value, plain(truncate(c.Label, maxOptionText)), desc))
		}
		sel := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plain(a.cat.T(loc, "slack_pick_placeholder")), actionChoose, opts...)
		blocks = append(blocks, slackgo.NewActionBlock("pcb_choices", sel))
	}
	if l := m.Link; l != nil {
		text := "*" + escape(l.Label) + "*"
		if !l.Expires.IsZero() {
			text += "\n" + escape(a.cat.T(loc, "slack_link_until", map[string]any{"Until": a.clockTime(l.Expires)}))
		}
		btn := slackgo.NewButtonBlockElement(actionLink, "", plain(truncate(l.Label, maxButtonText)))
		btn.URL = l.URL
		btn.Style = slackgo.StylePrimary
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn(text), nil, slackgo.NewAccessory(btn), slackgo.SectionBlockOptionBlockID("pcb_link")))
	}
	if s := m.Secret; s != nil {
		// A code span: easy to read and copy. Backticks cannot occur in a
		// passcode, and would end the span, so they are dropped.
		v := escape(strings.ReplaceAll(s.Reveal(), "`", ""))
		blocks = append(blocks, slackgo.NewSectionBlock(mrkdwn("*"+escape(s.Label)+"*\n`"+v+"`"), nil, nil, slackgo.SectionBlockOptionBlockID("pcb_secret")))
	}
	if len(m.Buttons) > 0 {
		var els []slackgo.BlockElement
		for i, b := range m.Buttons {
			btn := slackgo.NewButtonBlockElement(actionButton+strconv.Itoa(i), b.Value, plain(truncate(b.Label, maxButtonText)))
			switch b.Style {
			case resetflow.StylePrimary:
				btn.Style = slackgo.StylePrimary
			case resetflow.StyleDanger:
				btn.Style = slackgo.StyleDanger
			}
			if c := b.Confirm; c != nil {
				conf := slackgo.NewConfirmationBlockObject(plain(truncate(c.Title, 100)), plain(truncate(c.Text, 300)),
					plain(truncate(c.OK, 30)), plain(truncate(c.Cancel, 30)))
				if b.Style == resetflow.StyleDanger {
					conf.Style = slackgo.StyleDanger
				}
				btn.Confirm = conf
			}
			els = append(els, btn)
		}
		blocks = append(blocks, slackgo.NewActionBlock("pcb_buttons", els...))
	}
	if m.Notice != "" {
		blocks = append(blocks, contextLine("pcb_notice", m.Notice))
	}
	return m.Text, blocks
}
