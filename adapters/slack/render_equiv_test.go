package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// hostile is text a message can carry that JSON, mrkdwn or the form
// encoding could get wrong.
var hostile = []string{
	`plain`,
	`"quotes" and \backslash\ and 'single'`,
	`<@U0ALICE> & <!channel> <https://evil.example|click> &amp; &lt;`,
	"lines\nand\r\nreturns\tand tabs\x00\x01\x1f and \x7f",
	"パスコードのリセット・一時パスコード（端末）「確認」 😀 é ñ \u2028 \u2029 \ufeff",
	"*bold* _it_ ~strike~ `code` ```block``` > quote :emoji:",
	"invalid \xff\xfe utf-8 \xc3",
	"%2F + = & ? # plus+signs and spaces",
	strings.Repeat("長い", 60), // over the 75-character button and option limits
}

func equivAdapter(t testing.TB) *Adapter {
	t.Helper()
	a, err := New(Config{BotToken: "xoxb-equiv", AppToken: "xapp-equiv", Catalog: catalog.MustNew("en"), Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// messageShapes is every shape of message the engine sends, with s in each
// of its texts.
func messageShapes(s string) map[string]resetflow.Message {
	until := time.Date(2026, 11, 25, 9, 5, 0, 0, time.UTC)
	choices := func(n int, detail, url bool) []resetflow.Choice {
		var cs []resetflow.Choice
		for i := range n {
			c := resetflow.Choice{Value: fmt.Sprintf("pick:%s:%d", s, i), Label: fmt.Sprintf("%s %d", s, i)}
			if detail {
				c.Detail = "detail " + s
			}
			if url {
				c.URL = "https://bot.example/r/abc?d=" + fmt.Sprint(i) + "&x=" + s
			}
			cs = append(cs, c)
		}
		return cs
	}
	confirm := &resetflow.Confirm{Title: "title " + s, Text: "text " + s + strings.Repeat("x", 310), OK: "ok " + s, Cancel: "cancel " + s}
	return map[string]resetflow.Message{
		"empty":             {},
		"text":              {Text: s},
		"text and notice":   {Text: s, Notice: "notice " + s},
		"long text":         {Text: strings.Repeat(s+"\n", 3500/(len([]rune(s))+1)+2) + strings.Repeat("y", 3100)},
		"long notice":       {Text: s, Notice: strings.Repeat("n", 3100) + s},
		"devices":           {Text: s, Choices: choices(3, true, false), Buttons: []resetflow.Button{{Value: "cancel:" + s, Label: s}}},
		"devices with urls": {Text: s, Choices: choices(5, false, true)},
		"device select":     {Text: s, Choices: choices(8, true, false), Buttons: []resetflow.Button{{Value: "cancel", Label: "Cancel"}}},
		"select no detail":  {Text: s, Choices: choices(6, false, false)},
		"select over 100":   {Text: s, Choices: choices(120, true, false)},
		"link":              {Text: s, Link: &resetflow.Link{URL: "https://bot.example/r/" + s, Label: s, Expires: until}, Buttons: []resetflow.Button{{Value: "cancel", Label: "Cancel"}}},
		"link no expiry":    {Text: s, Link: &resetflow.Link{URL: "https://bot.example/r/x", Label: s}},
		"warning": {Text: s, Buttons: []resetflow.Button{
			{Value: "confirm:" + s, Label: s, Style: resetflow.StyleDanger, Confirm: confirm},
			{Value: "back", Label: "Back", Style: resetflow.StylePrimary, Confirm: confirm},
			{Value: "cancel", Label: "Cancel"}}},
		"passcode": {Text: s, Secret: resetflow.NewSecret("label "+s, "Xy7`kP2"+s), Notice: "guide " + s},
		"everything": {Text: s, Choices: choices(2, true, true), Link: &resetflow.Link{URL: "https://x.example/", Label: s, Expires: until},
			Secret: resetflow.NewSecret(s, "123456"), Buttons: []resetflow.Button{{Value: "v", Label: s, Style: resetflow.StylePrimary}}, Notice: s},
	}
}

// asGo127 is JSON as go1.27's encoding/json writes it. Where a string holds
// invalid UTF-8, encoding/json writes U+FFFD in its place: before go1.27 as
// the escape \ufffd, since as the character itself. Both decode to the same
// string, and Slack reads them alike; the byte-for-byte checks compare with
// the newer form, so they hold on either toolchain.
func asGo127(b []byte) []byte {
	var out []byte
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' || i+1 == len(b) {
			out = append(out, b[i])
			continue
		}
		if b[i+1] == 'u' && i+6 <= len(b) && string(b[i+2:i+6]) == "fffd" {
			out = append(out, "\uFFFD"...)
			i += 5
			continue
		}
		out = append(out, b[i], b[i+1]) // another escape, \\ included
		i++
	}
	return out
}

// TestAsGo127: only the escape itself is rewritten, not an escaped backslash
// before the letters.
func TestAsGo127(t *testing.T) {
	in := `["a\ufffd\ufffd", "b\\ufffd", "c\\\ufffd", "d\u00e9"]`
	want := `["a` + "\uFFFD\uFFFD" + `", "b\\ufffd", "c\\` + "\uFFFD" + `", "d\u00e9"]`
	if got := string(asGo127([]byte(in))); got != want {
		t.Errorf("asGo127(%s) = %s, want %s", in, got, want)
	}
}

// sameJSON fails unless a and b decode to the same value.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: ours is not JSON: %v\n%s", what, err, got)
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: the reference is not JSON: %v\n%s", what, err, want)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: decoded JSON differs\n got: %s\nwant: %s", what, got, want)
	}
}

// TestRenderWritesWhatSlackGoWrites: for every message shape the engine
// sends, with hostile text, render's JSON is byte for byte what json.Marshal
// writes for the slack-go blocks the adapter built before (renderSlackGo),
// and decodes to the same value; the fallback text is the same.
func TestRenderWritesWhatSlackGoWrites(t *testing.T) {
	a := equivAdapter(t)
	n := 0
	for _, s := range hostile {
		for name, m := range messageShapes(s) {
			for _, loc := range []string{"en", "ja"} {
				what := fmt.Sprintf("%s %q %s", name, s, loc)
				text, got := a.render(m, loc)
				wantText, blocks := a.renderSlackGo(m, loc)
				want, err := json.Marshal(blocks)
				if err != nil {
					t.Fatal(err)
				}
				if len(blocks) == 0 {
					want = []byte("[]") // MsgOptionBlocks() with none sends []
				}
				if text != wantText {
					t.Errorf("%s: text %q, want %q", what, text, wantText)
				}
				sameJSON(t, what, got, want)
				if want = asGo127(want); !bytes.Equal(got, want) {
					t.Errorf("%s: bytes differ\n got: %s\nwant: %s", what, got, want)
				}
				n++
			}
		}
	}
	if n < 200 {
		t.Fatalf("only %d cases", n)
	}
}

// TestTextBlocksWritesWhatSlackGoWrites: the one-section messages (replies,
// the removed passcode) as slack-go's textSection marshalled.
func TestTextBlocksWritesWhatSlackGoWrites(t *testing.T) {
	for _, s := range append(hostile, "", strings.Repeat("z", 3100)) {
		want, err := json.Marshal([]slackgo.Block{textSection("pcb_removed", s)})
		if err != nil {
			t.Fatal(err)
		}
		got := textBlocks("pcb_removed", s)
		sameJSON(t, fmt.Sprintf("%q", s), got, want)
		if want = asGo127(want); !bytes.Equal(got, want) {
			t.Errorf("%q: bytes differ\n got: %s\nwant: %s", s, got, want)
		}
	}
}

// chosenBefore is markChosen's blocks as the adapter built them before
// chosen.go: the payload's message decoded into maps, actions blocks and
// the earlier chosen line left out, accessories deleted, the rest encoded
// again, the chosen line appended, all marshalled by slack-go.
func chosenBefore(t *testing.T, payload []byte, chosen string) (string, []byte) {
	t.Helper()
	msg, err := parsePayloadMessage(payload)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []slackgo.Block
	for _, b := range msg.Blocks {
		if b["type"] == "actions" || b["block_id"] == "pcb_chosen" {
			continue
		}
		delete(b, "accessory")
		blocks = append(blocks, toBlock(b))
	}
	blocks = append(blocks, contextLine("pcb_chosen", chosen))
	out, err := json.Marshal(blocks)
	if err != nil {
		t.Fatal(err)
	}
	return msg.Text, out
}

// clickPayload is a block_actions payload on a message with these blocks,
// as Slack sends it back.
func clickPayload(text string, blocks json.RawMessage) []byte {
	p, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "trig", "user": map[string]any{"id": "U0ALICE"},
		"container": map[string]any{"type": "message", "message_ts": "1.000002", "channel_id": "D0ALICE"},
		"channel":   map[string]any{"id": "D0ALICE"},
		"message":   map[string]any{"type": "message", "ts": "1.000002", "text": text, "blocks": blocks},
		"actions":   []any{map[string]any{"action_id": "pcb_choice_1", "type": "button", "value": "pick:1", "text": map[string]any{"type": "plain_text", "text": "x"}}},
	})
	return p
}

// TestChosenBlocksAsBefore: the message after a click (chosen.go, copying
// each block as it came less its accessory) decodes to what the adapter
// sent before (decode to maps, delete, encode again), for every message shape
// with hostile text and for blocks laid out as Slack could send them
// (whitespace, the accessory first, last or alone, escaped keys and values,
// braces and quotes inside strings, an earlier chosen line, not a block).
func TestChosenBlocksAsBefore(t *testing.T) {
	a := equivAdapter(t)
	var payloads [][]byte
	for _, s := range hostile {
		for _, m := range messageShapes(s) {
			text, blocks := a.render(m, "en")
			payloads = append(payloads, clickPayload(text, blocks))
		}
	}
	odd := []string{
		`[]`,
		` [ { "type" : "section" , "block_id" : "a" , "accessory" : { "type" : "button" , "text" : { "text" : "}]\"{[" } } , "text" : { "type" : "mrkdwn" , "text" : "x" } } ]`,
		`[{"accessory":{"type":"button"},"type":"section","block_id":"first"}]`,
		`[{"type":"section","accessory":{"a":[1,2,{"b":"]"}]}}]`,
		`[{"accessory":null}]`,
		`[{"type":"section","\u0061ccessory":{"x":1},"block_id":"escaped key"}]`,
		`[{"type":"\u0061ctions","block_id":"escaped type"},{"type":"section","block_id":"kept"}]`,
		`[{"type":"context","block_id":"pcb_chosen","elements":[]},{"type":"section","block_id":"pcb_\u0063hosen"}]`,
		`[{"type":"section","block_id":"n","text":{"type":"plain_text","text":"\\\"\u00e9\ud83d\ude00\n"},"expand":true,"fields":[1.5e3,-0,true,false,null]}]`,
		`[null,{"type":"divider"},{"type":"actions","elements":[]}]`,
		`[{"type":"section","accessory":{},"accessory":{"dup":1},"block_id":"dup"}]`,
		`[{}]`,
	}
	for _, o := range odd {
		payloads = append(payloads, clickPayload("fallback <b> & \"q\"", json.RawMessage(o)))
	}
	for i, p := range payloads {
		c, err := parseClick(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, chosen := range []string{"Alice's Pixel 8", hostile[i%len(hostile)]} {
			wantText, want := chosenBefore(t, p, chosen)
			got := chosenBlocks(c.Message.Blocks, chosen, "")
			if c.Message.Text != wantText {
				t.Errorf("payload %d: text %q, want %q", i, c.Message.Text, wantText)
			}
			sameJSON(t, fmt.Sprintf("payload %d %q", i, chosen), got, want)
		}
	}
	// A click without its message: the message is left with the chosen line, as before.
	c, err := parseClick([]byte(`{"type":"block_actions","actions":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	_, want := chosenBefore(t, []byte(`{}`), "x")
	sameJSON(t, "no message", chosenBlocks(c.Message.Blocks, "x", ""), want)
}

func BenchmarkChosen(b *testing.B) {
	a := equivAdapter(b)
	text, blocks := a.render(messageShapes("Alice's Pixel 8")["devices"], "en")
	p := clickPayload(text, blocks)
	// Both include the click's decode: before, the click without its message's
	// blocks, then the message decoded again into maps; after, the click with
	// its blocks kept raw.
	type clickBefore struct {
		Type      slackgo.InteractionType `json:"type"`
		TriggerID string                  `json:"trigger_id"`
		User      struct {
			ID string `json:"id"`
		} `json:"user"`
		Channel struct {
			ID string `json:"id"`
		} `json:"channel"`
		Container struct {
			ChannelID string `json:"channel_id"`
			MessageTs string `json:"message_ts"`
		} `json:"container"`
		Message struct {
			Timestamp string `json:"ts"`
		} `json:"message"`
		Actions []clickAction `json:"actions"`
	}
	b.Run("maps (before)", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var c clickBefore
			if err := json.Unmarshal(p, &c); err != nil {
				b.Fatal(err)
			}
			msg, err := parsePayloadMessage(p)
			if err != nil {
				b.Fatal(err)
			}
			var bs []slackgo.Block
			for _, bl := range msg.Blocks {
				if bl["type"] == "actions" || bl["block_id"] == "pcb_chosen" {
					continue
				}
				delete(bl, "accessory")
				bs = append(bs, toBlock(bl))
			}
			bs = append(bs, contextLine("pcb_chosen", "Alice's Pixel 8"))
			if _, err := json.Marshal(bs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw (after)", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, err := parseClick(p)
			if err != nil {
				b.Fatal(err)
			}
			_ = chosenBlocks(c.Message.Blocks, "Alice's Pixel 8", "")
		}
	})
}
