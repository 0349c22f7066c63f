package slack

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/slack-go/slack/slackevents"
)

// viaSlackGo is what onEvent read of an Events API payload decoded by
// slack-go: the event id and the message's fields, and whether it is a
// message event of an event_callback at all.
func viaSlackGo(t *testing.T, payload []byte) (string, messageEvent, bool) {
	t.Helper()
	ev, err := slackevents.ParseEvent(payload, slackevents.OptionNoVerifyToken())
	if err != nil {
		return "", messageEvent{}, false
	}
	cb, _ := ev.Data.(*slackevents.EventsAPICallbackEvent)
	m, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || cb == nil {
		return "", messageEvent{}, false
	}
	return cb.EventID, messageEvent{Type: m.Type, SubType: m.SubType, User: m.User, BotID: m.BotID,
		Channel: m.Channel, ChannelType: m.ChannelType, Text: m.Text, TimeStamp: m.TimeStamp}, true
}

func eventPayload(event map[string]any, outer func(map[string]any)) []byte {
	m := map[string]any{"token": "legacy", "team_id": "T0FAKE", "api_app_id": "A0FAKE", "type": "event_callback",
		"event_id": "Ev0001", "event_time": 1700000000, "authorizations": []any{map[string]any{"user_id": "U0BOT", "is_bot": true}},
		"event": event}
	if outer != nil {
		outer(m)
	}
	b, _ := json.Marshal(m)
	return b
}

// TestMessageEventReadsWhatSlackGoRead: for DMs with hostile text, with the
// rich_text blocks Slack sends, edits, deletions, bot messages, channel
// messages, thread replies, a missing event id, the Home tab and envelopes
// that are not callbacks, the adapter's decode gives exactly the fields (and
// the same "is a message event" answer) slack-go's ParseEvent gave.
func TestMessageEventReadsWhatSlackGoRead(t *testing.T) {
	dm := func(text string) map[string]any {
		return map[string]any{"type": "message", "user": "U0ALICE", "text": text, "ts": "1700000000.000100", "channel": "D0ALICE",
			"channel_type": "im", "event_ts": "1700000000.000100", "client_msg_id": "c1", "team": "T0FAKE",
			"blocks": []any{map[string]any{"type": "rich_text", "block_id": "b1", "elements": []any{map[string]any{"type": "rich_text_section",
				"elements": []any{map[string]any{"type": "text", "text": text}, map[string]any{"type": "user", "user_id": "U0BOB"},
					map[string]any{"type": "link", "url": "https://x.example/"}, map[string]any{"type": "emoji", "name": "wave"}}}}}}}
	}
	with := func(m map[string]any, kv ...any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == nil {
				delete(out, kv[i].(string))
			} else {
				out[kv[i].(string)] = kv[i+1]
			}
		}
		return out
	}
	payloads := map[string][]byte{}
	for i, s := range hostile {
		payloads[fmt.Sprintf("dm %d", i)] = eventPayload(dm(s), nil)
	}
	base := dm("reset")
	payloads["no blocks"] = eventPayload(with(base, "blocks", nil), nil)
	payloads["edited"] = eventPayload(with(base, "subtype", "message_changed", "user", nil, "text", nil,
		"message", map[string]any{"type": "message", "user": "U0ALICE", "text": "reset please", "ts": "1700000000.000100", "edited": map[string]any{"user": "U0ALICE", "ts": "1700000001.000000"}},
		"previous_message", map[string]any{"type": "message", "user": "U0ALICE", "text": "reset", "ts": "1700000000.000100"}), nil)
	payloads["deleted"] = eventPayload(with(base, "subtype", "message_deleted", "deleted_ts", "1700000000.000100", "user", nil), nil)
	payloads["bot message"] = eventPayload(with(base, "subtype", "bot_message", "bot_id", "B0BOT", "user", nil), nil)
	payloads["own bot"] = eventPayload(with(base, "bot_id", "B0BOT", "user", "U0BOT", "bot_profile", map[string]any{"id": "B0BOT", "name": "passcodebot"}), nil)
	payloads["channel"] = eventPayload(with(base, "channel_type", "channel", "channel", "C0GENERAL"), nil)
	payloads["thread"] = eventPayload(with(base, "thread_ts", "1699999999.000001", "parent_user_id", "U0BOT"), nil)
	payloads["file share"] = eventPayload(with(base, "subtype", "file_share", "files", []any{map[string]any{"id": "F1", "name": "a.png"}}), nil)
	payloads["no event id"] = eventPayload(base, func(m map[string]any) { delete(m, "event_id") })
	payloads["no user"] = eventPayload(with(base, "user", nil), nil)
	payloads["home"] = eventPayload(map[string]any{"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home", "event_ts": "1.2"}, nil)
	payloads["app mention"] = eventPayload(map[string]any{"type": "app_mention", "user": "U0ALICE", "text": "<@U0BOT> reset", "ts": "1.2", "channel": "C1", "event_ts": "1.2"}, nil)
	payloads["not a callback"] = eventPayload(base, func(m map[string]any) { m["type"] = "app_rate_limited" })
	payloads["null event"] = eventPayload(nil, nil)
	for name, p := range payloads {
		wantID, want, wantOK := viaSlackGo(t, p)
		cb, ok := parseMessageCallback(p)
		if ok != wantOK {
			t.Errorf("%s: message event %v, slack-go %v", name, ok, wantOK)
			continue
		}
		if ok && (cb.EventID != wantID || cb.Event != want) {
			t.Errorf("%s:\n got %q %+v\nwant %q %+v", name, cb.EventID, cb.Event, wantID, want)
		}
	}
	// The cases above include both answers and people's DMs that reach the engine.
	if _, m, ok := viaSlackGo(t, payloads["dm 0"]); !ok || m.User != "U0ALICE" || m.ChannelType != "im" {
		t.Fatalf("the plain DM is not a DM: %+v", m)
	}
	if _, _, ok := viaSlackGo(t, payloads["home"]); ok {
		t.Fatal("the Home tab is a message")
	}
}

// BenchmarkMessageEvent is one DM's Events API payload decoded: by slack-go
// (before) and into the fields the adapter reads (after).
func BenchmarkMessageEvent(b *testing.B) {
	p := eventPayload(map[string]any{"type": "message", "user": "U0ALICE", "text": "reset", "ts": "1700000000.000100", "channel": "D0ALICE",
		"channel_type": "im", "event_ts": "1700000000.000100", "client_msg_id": "c1",
		"blocks": []any{map[string]any{"type": "rich_text", "block_id": "b1", "elements": []any{map[string]any{"type": "rich_text_section",
			"elements": []any{map[string]any{"type": "text", "text": "reset"}}}}}}}, nil)
	b.Run("slack-go", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := slackevents.ParseEvent(p, slackevents.OptionNoVerifyToken()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok := parseMessageCallback(p); !ok {
				b.Fatal("not a message")
			}
		}
	})
}
