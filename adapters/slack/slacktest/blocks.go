package slacktest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits Slack enforces on Block Kit (a subset).
const (
	MaxBlocks        = 50
	MaxSectionText   = 3000
	MaxButtonText    = 75
	MaxOptionText    = 75
	MaxSelectOptions = 100
	MaxValue         = 2000
	MaxID            = 255
)

// ValidateBlocks checks Block Kit the way Slack refuses it with invalid_blocks:
// every block needs a unique block_id, every interactive element an action_id
// unique in its block, and texts, options and values stay within Slack's sizes.
// It returns one line per problem; none means valid.
func ValidateBlocks(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var blocks []map[string]any
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return []string{"blocks: not a JSON array of objects: " + err.Error()}
	}
	var errs []string
	bad := func(f string, a ...any) { errs = append(errs, fmt.Sprintf(f, a...)) }
	if len(blocks) > MaxBlocks {
		bad("more than %d blocks: %d", MaxBlocks, len(blocks))
	}
	seen := map[string]bool{}
	for i, b := range blocks {
		typ, _ := b["type"].(string)
		id, _ := b["block_id"].(string)
		where := fmt.Sprintf("blocks[%d] (%s)", i, typ)
		switch {
		case typ == "":
			bad("%s: no type", where)
		case id == "":
			bad("%s: no block_id", where)
		case len(id) > MaxID:
			bad("%s: block_id longer than %d", where, MaxID)
		case seen[id]:
			bad("%s: block_id %q repeated", where, id)
		}
		seen[id] = true
		actionIDs := map[string]bool{}
		checkElement := func(el map[string]any, at string) {
			etype, _ := el["type"].(string)
			switch etype {
			case "button", "static_select", "overflow", "datepicker", "users_select", "conversations_select", "channels_select", "radio_buttons", "checkboxes":
			default:
				return
			}
			aid, _ := el["action_id"].(string)
			switch {
			case aid == "":
				bad("%s: %s without action_id", at, etype)
			case len(aid) > MaxID:
				bad("%s: action_id longer than %d", at, MaxID)
			case actionIDs[aid]:
				bad("%s: action_id %q repeated in the block", at, aid)
			}
			actionIDs[aid] = true
			if v, _ := el["value"].(string); len(v) > MaxValue {
				bad("%s: value longer than %d", at, MaxValue)
			}
			if etype == "button" {
				if t := textOf(el["text"]); t == "" || utf8.RuneCountInString(t) > MaxButtonText {
					bad("%s: button text empty or longer than %d", at, MaxButtonText)
				}
			}
			if etype == "static_select" {
				opts, _ := el["options"].([]any)
				if len(opts) == 0 || len(opts) > MaxSelectOptions {
					bad("%s: select needs 1 to %d options, has %d", at, MaxSelectOptions, len(opts))
				}
				for j, o := range opts {
					om, _ := o.(map[string]any)
					if t := textOf(om["text"]); t == "" || utf8.RuneCountInString(t) > MaxOptionText {
						bad("%s.options[%d]: text empty or longer than %d", at, j, MaxOptionText)
					}
					if d := textOf(om["description"]); utf8.RuneCountInString(d) > MaxOptionText {
						bad("%s.options[%d]: description longer than %d", at, j, MaxOptionText)
					}
				}
			}
			if c, ok := el["confirm"].(map[string]any); ok {
				for _, k := range []string{"title", "text", "confirm"} {
					if textOf(c[k]) == "" {
						bad("%s: confirm without %s", at, k)
					}
				}
			}
		}
		switch typ {
		case "section":
			t := textOf(b["text"])
			if t == "" && b["fields"] == nil {
				bad("%s: section without text", where)
			}
			if utf8.RuneCountInString(t) > MaxSectionText {
				bad("%s: text longer than %d", where, MaxSectionText)
			}
			if acc, ok := b["accessory"].(map[string]any); ok {
				checkElement(acc, where+".accessory")
			}
		case "actions":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 25 {
				bad("%s: actions needs 1 to 25 elements", where)
			}
			for j, e := range els {
				em, _ := e.(map[string]any)
				checkElement(em, fmt.Sprintf("%s.elements[%d]", where, j))
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				bad("%s: context needs 1 to 10 elements", where)
			}
		}
	}
	return errs
}

func textOf(v any) string {
	m, ok := v.(map[string]any)
	if !ok {
		return ""
	}
	s, _ := m["text"].(string)
	return s
}

// BlockTexts joins every "text" string found in the blocks, depth first.
func BlockTexts(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return ""
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["text"].(string); ok {
				out = append(out, s)
			}
			for k, c := range x {
				if k != "text" || !isString(c) {
					walk(c)
				}
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(v)
	return strings.Join(out, "\n")
}

func isString(v any) bool { _, ok := v.(string); return ok }

// Action is an interactive element of a message.
type Action struct {
	BlockID  string
	ActionID string
	Type     string // button, static_select
	Text     string // a button's label
	Value    string
	URL      string
	Style    string
	Confirm  *Confirm
	Options  []Option
}

// Confirm is an element's confirm dialog.
type Confirm struct{ Title, Text, OK, Deny, Style string }

// Option is one option of a select.
type Option struct{ Text, Description, Value string }

// BlockActions lists the interactive elements of the blocks: actions blocks'
// elements and sections' accessories.
func BlockActions(raw json.RawMessage) []Action {
	var blocks []map[string]any
	if json.Unmarshal(raw, &blocks) != nil {
		return nil
	}
	var out []Action
	add := func(blockID string, el map[string]any) {
		typ, _ := el["type"].(string)
		if typ != "button" && typ != "static_select" {
			return
		}
		a := Action{BlockID: blockID, Type: typ, Text: textOf(el["text"])}
		a.ActionID, _ = el["action_id"].(string)
		a.Value, _ = el["value"].(string)
		a.URL, _ = el["url"].(string)
		a.Style, _ = el["style"].(string)
		if c, ok := el["confirm"].(map[string]any); ok {
			st, _ := c["style"].(string)
			a.Confirm = &Confirm{Title: textOf(c["title"]), Text: textOf(c["text"]), OK: textOf(c["confirm"]), Deny: textOf(c["deny"]), Style: st}
		}
		if opts, ok := el["options"].([]any); ok {
			for _, o := range opts {
				om, _ := o.(map[string]any)
				v, _ := om["value"].(string)
				a.Options = append(a.Options, Option{Text: textOf(om["text"]), Description: textOf(om["description"]), Value: v})
			}
		}
		out = append(out, a)
	}
	for _, b := range blocks {
		id, _ := b["block_id"].(string)
		if acc, ok := b["accessory"].(map[string]any); ok {
			add(id, acc)
		}
		if els, ok := b["elements"].([]any); ok && b["type"] == "actions" {
			for _, e := range els {
				em, _ := e.(map[string]any)
				add(id, em)
			}
		}
	}
	return out
}

// --- HTTP mode ---

// HTTPRequest is e as Slack sends it to an app in HTTP mode: to base +
// /slack/events, /slack/interactions or /slack/commands, signed with secret at
// time ts (pass time.Now() for a valid request, an old time for a stale one).
func (e Envelope) HTTPRequest(base, secret string, ts time.Time) (*http.Request, error) {
	var path, ctype string
	var body []byte
	switch e.Type {
	case "events_api":
		path, ctype, body = "/slack/events", "application/json", e.Payload
	case "interactive":
		path, ctype = "/slack/interactions", "application/x-www-form-urlencoded"
		body = []byte(url.Values{"payload": {string(e.Payload)}}.Encode())
	case "slash_commands":
		var fields map[string]any
		if err := json.Unmarshal(e.Payload, &fields); err != nil {
			return nil, err
		}
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, fmt.Sprint(v))
		}
		path, ctype, body = "/slack/commands", "application/x-www-form-urlencoded", []byte(form.Encode())
	default:
		return nil, fmt.Errorf("slacktest: no HTTP form for envelope type %q", e.Type)
	}
	req, err := http.NewRequest(http.MethodPost, strings.TrimRight(base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if e.RetryAttempt > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(e.RetryAttempt))
		req.Header.Set("X-Slack-Retry-Reason", e.RetryReason)
	}
	Sign(req.Header, secret, ts, body)
	return req, nil
}

// Sign sets Slack's v0 request signature headers for body.
func Sign(h http.Header, secret string, ts time.Time, body []byte) {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:", stamp)
	mac.Write(body)
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
}
