package discord

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Discord's limits.
const (
	maxContent     = 2000
	maxButtonLabel = 80
	maxOption      = 100
	maxOptions     = 25
	maxButtonsRow  = 5
	maxChoiceBtns  = 5 // more devices than this get a select menu
)

// rendered is a neutral message in Discord's terms.
type rendered struct {
	content    string
	components []discordgo.MessageComponent
}

// render turns the engine's message into Discord content and components.
// The passcode goes into a code span; callers send it only to a verified DM.
func render(m resetflow.Message) rendered {
	var b strings.Builder
	b.WriteString(m.Text)
	for i, c := range m.Choices {
		fmt.Fprintf(&b, "\n**%d.** %s", i+1, escape(c.Label))
		if c.Detail != "" {
			fmt.Fprintf(&b, " — %s", escape(c.Detail))
		}
	}
	for _, btn := range m.Buttons {
		if btn.Confirm != nil {
			// Discord has no confirm dialog: this message is the confirmation.
			fmt.Fprintf(&b, "\n\n**%s** %s", btn.Confirm.Title, btn.Confirm.Text)
		}
	}
	if m.Link != nil && !m.Link.Expires.IsZero() {
		// Discord shows these in each reader's own time zone and language. Rounded
		// down to the minute, like the engine's text: never later than the real deadline.
		ts := m.Link.Expires.Unix() - m.Link.Expires.Unix()%60
		fmt.Fprintf(&b, "\n⏰ <t:%d:t> (<t:%d:R>)", ts, ts)
	}
	secret := ""
	if m.Secret != nil {
		secret = fmt.Sprintf("\n**%s:** %s", clip(m.Secret.Label, 100), codeSpan(m.Secret.Reveal()))
	}
	notice := ""
	if m.Notice != "" {
		notice = "\n-# " + strings.ReplaceAll(m.Notice, "\n", "\n-# ")
	}
	// Shorten the notice, then the body; never the passcode.
	room := maxContent - utf8.RuneCountInString(secret)
	notice = fit(notice, room/2)
	head := fit(b.String(), room-utf8.RuneCountInString(notice))
	return rendered{content: head + secret + notice, components: components(m)}
}

// redacted is the message with its passcode taken out and a note in its place.
func redacted(m resetflow.Message, note string) string {
	var b strings.Builder
	b.WriteString(m.Text)
	if m.Secret != nil {
		fmt.Fprintf(&b, "\n**%s:** ~~••••••~~ %s", m.Secret.Label, note)
	} else {
		b.WriteString("\n" + note)
	}
	if m.Notice != "" {
		b.WriteString("\n-# " + strings.ReplaceAll(m.Notice, "\n", "\n-# "))
	}
	return fit(b.String(), maxContent)
}

func components(m resetflow.Message) []discordgo.MessageComponent {
	var rows []discordgo.MessageComponent
	switch n := len(m.Choices); {
	case n > 0 && n <= maxChoiceBtns:
		var btns []discordgo.MessageComponent
		for i, c := range m.Choices {
			if c.URL != "" {
				// A link button: it picks the device in the browser and goes straight on
				// to the sign-in (Discord sends no interaction for it).
				btns = append(btns, discordgo.Button{Label: clip(strconv.Itoa(i+1)+". "+c.Label, maxButtonLabel), Style: discordgo.LinkButton, URL: c.URL})
				continue
			}
			btns = append(btns, discordgo.Button{
				Label: clip(strconv.Itoa(i+1)+". "+c.Label, maxButtonLabel), Style: discordgo.PrimaryButton,
				CustomID: prefixAction + c.Value,
			})
		}
		rows = append(rows, discordgo.ActionsRow{Components: btns})
	case n > maxChoiceBtns:
		var opts []discordgo.SelectMenuOption
		for i, c := range m.Choices[:min(n, maxOptions)] {
			opts = append(opts, discordgo.SelectMenuOption{
				Label: clip(strconv.Itoa(i+1)+". "+c.Label, maxOption), Value: c.Value, Description: clip(c.Detail, maxOption),
			})
		}
		one := 1
		rows = append(rows, discordgo.ActionsRow{Components: []discordgo.MessageComponent{discordgo.SelectMenu{
			MenuType: discordgo.StringSelectMenu, CustomID: selectID, Options: opts, MinValues: &one, MaxValues: 1,
			Placeholder: clip(cmp.Or(m.Notice, m.Text), maxOption),
		}}})
	}
	var row []discordgo.MessageComponent
	if m.Link != nil {
		row = append(row, discordgo.Button{Label: clip(m.Link.Label, maxButtonLabel), Style: discordgo.LinkButton, URL: m.Link.URL})
	}
	for _, btn := range m.Buttons {
		if len(row) == maxButtonsRow {
			rows = append(rows, discordgo.ActionsRow{Components: row})
			row = nil
		}
		row = append(row, discordgo.Button{Label: clip(btn.Label, maxButtonLabel), Style: buttonStyle(btn.Style), CustomID: prefixAction + btn.Value})
	}
	if len(row) > 0 {
		rows = append(rows, discordgo.ActionsRow{Components: row})
	}
	return rows
}

func buttonStyle(s resetflow.ButtonStyle) discordgo.ButtonStyle {
	switch s {
	case resetflow.StylePrimary:
		return discordgo.PrimaryButton
	case resetflow.StyleDanger:
		return discordgo.DangerButton
	default:
		return discordgo.SecondaryButton
	}
}

// settled returns the components with every one disabled. The used one keeps
// its style (the chosen select option stays selected); the others turn grey.
func settled(comps []discordgo.MessageComponent, usedID string, values []string) []discordgo.MessageComponent {
	out := make([]discordgo.MessageComponent, 0, len(comps))
	for _, c := range comps {
		row, ok := asRow(c)
		if !ok {
			continue
		}
		var nr []discordgo.MessageComponent
		for _, rc := range row.Components {
			// Components we built are values; ones Discord sent back are pointers.
			switch v := rc.(type) {
			case discordgo.Button:
				rc = &v
			case discordgo.SelectMenu:
				rc = &v
			}
			switch v := rc.(type) {
			case *discordgo.Button:
				b := *v
				b.Disabled = true
				if b.Style != discordgo.LinkButton && b.CustomID != usedID {
					b.Style = discordgo.SecondaryButton
				}
				nr = append(nr, b)
			case *discordgo.SelectMenu:
				sm := *v
				sm.Disabled = true
				sm.Options = append([]discordgo.SelectMenuOption(nil), v.Options...)
				for i := range sm.Options {
					sm.Options[i].Default = sm.CustomID == usedID && contains(values, sm.Options[i].Value)
				}
				nr = append(nr, sm)
			default:
				nr = append(nr, rc)
			}
		}
		out = append(out, discordgo.ActionsRow{Components: nr})
	}
	return out
}

func asRow(c discordgo.MessageComponent) (discordgo.ActionsRow, bool) {
	switch r := c.(type) {
	case *discordgo.ActionsRow:
		return *r, true
	case discordgo.ActionsRow:
		return r, true
	}
	return discordgo.ActionsRow{}, false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// codeSpan puts s in an inline code span that its own backticks cannot break.
func codeSpan(s string) string {
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return "`` " + s + " ``"
}

// escape keeps a label (a device name) from being read as markdown.
func escape(s string) string { return markdownEscaper.Replace(s) }

// markdownEscaper is built once: building a Replacer costs kilobytes.
var markdownEscaper = strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "~", `\~`, "`", "\\`", "|", `\|`, ">", `\>`, "#", `\#`, "[", `\[`, "]", `\]`, "<", `\<`)

// clip shortens s to n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 2 {
		return ""
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// fit shortens s to n characters, cutting whole lines where it can.
func fit(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n < 2 {
		return ""
	}
	r := []rune(s)[:n-1]
	if i := strings.LastIndex(string(r), "\n"); i > len(string(r))/2 {
		return string(r)[:i] + "\n…"
	}
	return string(r) + "…"
}

func noMentions() *discordgo.MessageAllowedMentions {
	return &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}}
}
