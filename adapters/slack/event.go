package slack

import "encoding/json"

// messageEvent is the part of an Events API message event the adapter reads.
type messageEvent struct {
	Type        string `json:"type"`
	SubType     string `json:"subtype"`
	User        string `json:"user"`
	BotID       string `json:"bot_id"`
	Channel     string `json:"channel"`
	ChannelType string `json:"channel_type"`
	Text        string `json:"text"`
	TimeStamp   string `json:"ts"`
}

// messageCallback is an event_callback whose event is a message, decoded
// into only what the adapter reads. slack-go's ParseEvent decodes the
// envelope, then the event twice (its MessageEvent, then a whole slack.Msg
// with the message's blocks); a DM is the first step of every reset (issue
// 17). Other events (the Home tab) still go through slack-go's types;
// event_test.go compares the two decodes.
type messageCallback struct {
	Type    string       `json:"type"`
	EventID string       `json:"event_id"`
	Event   messageEvent `json:"event"`
}

// parseMessageCallback decodes an Events API payload that is an
// event_callback of a message event; ok is false for anything else (the
// caller then decodes it with slack-go).
func parseMessageCallback(payload []byte) (messageCallback, bool) {
	var cb messageCallback
	if err := json.Unmarshal(payload, &cb); err != nil || cb.Type != "event_callback" || cb.Event.Type != "message" {
		return messageCallback{}, false
	}
	return cb, true
}
