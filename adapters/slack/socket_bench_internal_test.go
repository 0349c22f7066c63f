package slack

import (
	"encoding/json"
	"testing"

	slackgo "github.com/slack-go/slack"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// clickFrame is a Socket Mode frame of a click on a device list of three
// phones, as Slack sends it: the clicked message's blocks come along.
func clickFrame(b testing.TB) []byte {
	b.Helper()
	a, err := New(Config{BotToken: "xoxb-x", AppToken: "xapp-x", Catalog: catalog.MustNew("en")})
	if err != nil {
		b.Fatal(err)
	}
	m := resetflow.Message{Text: "Which device's passcode do you want to reset? I found 3.", Choices: []resetflow.Choice{
		{Value: "pick:0123456789abcdef:1", Label: "Alice's iPhone", Detail: "Apple iPhone 15 · iOS 18.1 · last check-in 2026-11-25 08:12", URL: "https://bot.example/r/abc?d=1"},
		{Value: "pick:0123456789abcdef:2", Label: "Alice's Pixel 8", Detail: "Google Pixel 8 · Android 15 · last check-in 2026-11-25 07:40", URL: "https://bot.example/r/abc?d=2"},
		{Value: "pick:0123456789abcdef:3", Label: "Alice's Lumia 950", Detail: "Microsoft Lumia 950 · Windows 10.0.15254 · last check-in 2026-11-20 17:03"},
	}, Buttons: []resetflow.Button{{Value: "cancel:0123456789abcdef", Label: "Cancel"}}}
	text, blocks := a.render(m, "en")
	payload, _ := json.Marshal(map[string]any{
		"type": "block_actions", "trigger_id": "trig-1", "api_app_id": "A0FAKE", "token": "legacy",
		"user":      map[string]any{"id": "U0ALICE", "name": "alice", "team_id": "T0FAKE"},
		"team":      map[string]any{"id": "T0FAKE", "domain": "fake"},
		"container": map[string]any{"type": "message", "message_ts": "1700000000.000002", "channel_id": "D0ALICE"},
		"channel":   map[string]any{"id": "D0ALICE", "name": "directmessage"},
		"message":   map[string]any{"type": "message", "user": "U0BOT", "ts": "1700000000.000002", "text": text, "blocks": json.RawMessage(blocks)},
		"actions":   []any{map[string]any{"action_id": "pcb_choice_1", "block_id": "pcb_c1", "type": "button", "value": "pick:0123456789abcdef:2", "text": map[string]any{"type": "plain_text", "text": "Alice's Pixel 8"}}},
	})
	frame, _ := json.Marshal(map[string]any{"envelope_id": "0b0f3e1c-7a44-4e0a-9a52-3b1c6f3f2d11", "type": "interactive", "payload": json.RawMessage(payload), "accepts_response_payload": false, "retry_attempt": 0, "retry_reason": ""})
	return frame
}

// BenchmarkSocketFrame compares what the reader does before the ack (the
// envelope's type and id, the payload kept raw) with what slack-go's
// socketmode client did before the app could ack (the whole click decoded).
func BenchmarkSocketFrame(b *testing.B) {
	frame := clickFrame(b)
	b.Run("reader", func(b *testing.B) {
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			var env envelope
			if err := json.Unmarshal(frame, &env); err != nil || env.EnvelopeID == "" {
				b.Fatal(err)
			}
		}
	})
	b.Run("reader and click", func(b *testing.B) { // what the bot does now, the decode after the ack included
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			var env envelope
			if err := json.Unmarshal(frame, &env); err != nil {
				b.Fatal(err)
			}
			if c, err := parseClick(env.Payload); err != nil || len(c.Actions) != 1 {
				b.Fatal(err)
			}
		}
	})
	b.Run("full decode", func(b *testing.B) {
		b.SetBytes(int64(len(frame)))
		b.ReportAllocs()
		for b.Loop() {
			var env envelope
			if err := json.Unmarshal(frame, &env); err != nil {
				b.Fatal(err)
			}
			var cb slackgo.InteractionCallback
			if err := json.Unmarshal(env.Payload, &cb); err != nil || len(cb.ActionCallback.BlockActions) != 1 {
				b.Fatal(err)
			}
		}
	})
}

// TestClickReadsWhatTheCallbackDid: the adapter's click decode gives the
// fields slack-go's InteractionCallback gave for a button, a select and a Home
// tab click, with and without the container (Slack sends one action per click).
func TestClickReadsWhatTheCallbackDid(t *testing.T) {
	var frame struct {
		Payload json.RawMessage `json:"payload"`
	}
	if err := json.Unmarshal(clickFrame(t), &frame); err != nil {
		t.Fatal(err)
	}
	var base map[string]any
	if err := json.Unmarshal(frame.Payload, &base); err != nil {
		t.Fatal(err)
	}
	with := func(f func(m map[string]any)) []byte {
		var m map[string]any
		b, _ := json.Marshal(base)
		_ = json.Unmarshal(b, &m)
		f(m)
		out, _ := json.Marshal(m)
		return out
	}
	payloads := map[string][]byte{
		"button": frame.Payload,
		"select": with(func(m map[string]any) {
			m["actions"] = []any{map[string]any{"action_id": "pcb_select", "block_id": "pcb_s", "type": "static_select",
				"selected_option": map[string]any{"value": "pick:0123456789abcdef:7", "text": map[string]any{"type": "plain_text", "text": "Phone 7"}}}}
		}),
		"no container": with(func(m map[string]any) { delete(m, "container") }),
		"home": with(func(m map[string]any) {
			m["container"] = map[string]any{"type": "view", "view_id": "V1"}
			delete(m, "channel")
			delete(m, "message")
			m["actions"] = []any{map[string]any{"action_id": actionHomeReset, "block_id": "home", "type": "button", "value": "reset", "text": map[string]any{"type": "plain_text", "text": "Reset a passcode"}}}
		}),
	}
	for name, p := range payloads {
		var cb slackgo.InteractionCallback
		if err := json.Unmarshal(p, &cb); err != nil {
			t.Fatalf("%s: slack-go: %v", name, err)
		}
		c, err := parseClick(p)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Type != cb.Type || c.TriggerID != cb.TriggerID || c.User.ID != cb.User.ID || c.Channel.ID != cb.Channel.ID ||
			c.Container.ChannelID != cb.Container.ChannelID || c.Container.MessageTs != cb.Container.MessageTs || c.Message.Timestamp != cb.Message.Timestamp {
			t.Errorf("%s: click %+v; slack-go read type %q trigger %q user %q channel %q container %q/%q message %q", name, c,
				cb.Type, cb.TriggerID, cb.User.ID, cb.Channel.ID, cb.Container.ChannelID, cb.Container.MessageTs, cb.Message.Timestamp)
		}
		if len(c.Actions) != len(cb.ActionCallback.BlockActions) || len(c.Actions) == 0 {
			t.Fatalf("%s: %d actions; slack-go %d", name, len(c.Actions), len(cb.ActionCallback.BlockActions))
		}
		for i, a := range c.Actions {
			w := cb.ActionCallback.BlockActions[i]
			if a.ActionID != w.ActionID || a.Type != string(w.Type) || a.Value != w.Value || a.Text.Text != w.Text.Text ||
				a.SelectedOption.Value != w.SelectedOption.Value || a.SelectedOption.Text.Text != textOf(w.SelectedOption.Text) {
				t.Errorf("%s: action %d = %+v; slack-go %+v", name, i, a, w)
			}
		}
	}
}

func textOf(t *slackgo.TextBlockObject) string {
	if t == nil {
		return ""
	}
	return t.Text
}
