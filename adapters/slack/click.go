package slack

import (
	"encoding/json"

	slackgo "github.com/slack-go/slack"
)

// click is the part of an interaction payload the adapter reads. Decoding into
// it leaves the clicked message's blocks as they are: slack-go's
// InteractionCallback decodes every block of the clicked message (its own
// UnmarshalJSON per block type), 7 % of the bot's CPU at 1,000 employees at
// once (issue 17), for fields the adapter never reads. The clicked message's
// blocks are kept as they came (json.RawMessage), for markChosen to pass on
// less its buttons (chosen.go).
type click struct {
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
	Message clickMessage  `json:"message"`
	Actions []clickAction `json:"actions"`
}

// clickMessage is the clicked message: its ts, text and blocks (undecoded).
type clickMessage struct {
	Timestamp string            `json:"ts"`
	Text      string            `json:"text"`
	Blocks    []json.RawMessage `json:"blocks"`
}

// clickAction is one element of a block_actions payload's actions.
type clickAction struct {
	ActionID string `json:"action_id"`
	BlockID  string `json:"block_id"`
	Type     string `json:"type"`
	Value    string `json:"value"`
	Text     struct {
		Text string `json:"text"`
	} `json:"text"`
	SelectedOption struct {
		Value string `json:"value"`
		Text  struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"selected_option"`
}

func parseClick(payload []byte) (click, error) {
	var c click
	err := json.Unmarshal(payload, &c)
	return c, err
}
