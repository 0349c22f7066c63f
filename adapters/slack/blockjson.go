package slack

import (
	"unicode/utf8"

	"github.com/passcodebot/passcodebot/resetflow"
)

const (
	stylePrimary = "primary" // slack-go's StylePrimary
	styleDanger  = "danger"  // slack-go's StyleDanger
)

// blockJSON writes Block Kit JSON by appending to a byte slice: the bytes
// json.Marshal writes for slack-go's block types (same fields, same order,
// same omissions, same escaping), without building the structs and without
// reflection. Building slack-go's blocks and marshalling them was a quarter
// of the bot's CPU on the Slack path at 1,000 employees at once (issue 17);
// render_equiv_test.go compares every message shape the bot sends, hostile
// text included, with what slack-go writes.
type blockJSON struct {
	b []byte
	n int // blocks written
	// idSuffix follows every block_id written: an answer written into the
	// message that was clicked (answer.go) must not repeat that message's ids.
	idSuffix string
}

// start opens a block: the separator, then {"type":typ.
func (w *blockJSON) start(typ string) {
	if w.n == 0 {
		w.b = append(w.b, '[')
	} else {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, `{"type":`...)
	w.str(typ)
}

// bytes is the array of blocks written: [] when there is none.
func (w *blockJSON) bytes() []byte {
	if w.n == 0 {
		return append(w.b, "[]"...)
	}
	return append(w.b, ']')
}

// key writes ,"k": (k needs no escaping).
func (w *blockJSON) key(k string) {
	w.b = append(w.b, ',', '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

// plain is slack-go's plain(s): a plain_text object with emoji false.
func (w *blockJSON) plain(s string) {
	w.b = append(w.b, `{"type":"plain_text","text":`...)
	w.str(s)
	w.b = append(w.b, `,"emoji":false}`...)
}

// mrkdwn is slack-go's mrkdwn(s).
func (w *blockJSON) mrkdwn(s string) {
	w.b = append(w.b, `{"type":"mrkdwn","text":`...)
	w.str(s)
	w.b = append(w.b, '}')
}

// sectionStart opens a section block; its text follows.
func (w *blockJSON) sectionStart() {
	w.start("section")
	w.key("text")
}

// sectionEnd closes a section block with its id, after its text and before
// any accessory (accessory follows block_id in slack-go's SectionBlock).
func (w *blockJSON) sectionID(id string) { w.blockID(id) }

// blockID writes ,"block_id":id (with idSuffix).
func (w *blockJSON) blockID(id string) {
	w.key("block_id")
	w.str(id + w.idSuffix)
}

func (w *blockJSON) end() { w.b = append(w.b, '}') }

// context is a context block of one plain text element.
func (w *blockJSON) context(id, text string) {
	w.start("context")
	w.blockID(id)
	w.b = append(w.b, `,"elements":[`...)
	w.plain(text)
	w.b = append(w.b, "]}"...)
}

// button writes a button element; url, value, style and confirm are left out
// when empty, as slack-go's omitempty does.
func (w *blockJSON) button(actionID, value, label, url, style string, confirm *resetflow.Confirm) {
	w.b = append(w.b, `{"type":"button","text":`...)
	w.plain(label)
	if actionID != "" {
		w.key("action_id")
		w.str(actionID)
	}
	if url != "" {
		w.key("url")
		w.str(url)
	}
	if value != "" {
		w.key("value")
		w.str(value)
	}
	if c := confirm; c != nil {
		w.b = append(w.b, `,"confirm":{"title":`...)
		w.plain(truncate(c.Title, 100))
		w.key("text")
		w.plain(truncate(c.Text, 300))
		w.key("confirm")
		w.plain(truncate(c.OK, 30))
		w.key("deny")
		w.plain(truncate(c.Cancel, 30))
		if style == styleDanger {
			w.key("style")
			w.str(styleDanger)
		}
		w.b = append(w.b, '}')
	}
	if style != "" {
		w.key("style")
		w.str(style)
	}
	w.b = append(w.b, '}')
}

const hexDigits = "0123456789abcdef"

// str writes s as a JSON string the way encoding/json does: <, > and &
// as \u003c, \u003e, \u0026, U+2028 and U+2029 escaped, control characters
// as \n, \r, \t or \u00XX, and each byte of invalid UTF-8 as U+FFFD.
func (w *blockJSON) str(s string) {
	b := append(w.b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\uFFFD"...) // as encoding/json: the character, not an escape
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	w.b = append(b, '"')
}

// textBlocks is one section of plain text (slack-go's textSection) as JSON.
func textBlocks(id, text string) []byte {
	w := blockJSON{b: make([]byte, 0, 96+len(text))}
	w.sectionStart()
	w.plain(truncate(text, maxSectionText))
	w.sectionID(id)
	w.end()
	return w.bytes()
}
