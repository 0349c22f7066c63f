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
func clickFrame(b *testing.B) []byte {
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
		"message":   map[string]any{"type": "message", "user": "U0BOT", "ts": "1700000000.000002", "text": text, "blocks": slackgo.Blocks{BlockSet: blocks}},
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
