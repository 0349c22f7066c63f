package slacktest

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Envelope is one Socket Mode message from Slack (events_api, interactive, slash_commands).
// The same envelope can be sent over HTTP with HTTPRequest.
type Envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	// EventID is the events_api payload's event_id.
	EventID string `json:"-"`
}

func (s *Server) nextID(prefix string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.idSeq++
	return fmt.Sprintf("%s%06d", prefix, s.idSeq)
}

func (s *Server) nextTS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tsSeq++
	return fmt.Sprintf("%d.%06d", s.tsSeq/1_000_000, s.tsSeq%1_000_000)
}

// Event wraps an inner event (a message, say) in an events_api envelope.
func (s *Server) Event(inner map[string]any) Envelope {
	eventID := s.nextID("Ev")
	payload := map[string]any{
		"token": "legacy", "team_id": s.TeamID, "api_app_id": "A0FAKE", "type": "event_callback",
		"event": inner, "event_id": eventID, "event_time": s.clk.Now().Unix(),
		"authorizations": []map[string]any{{"team_id": s.TeamID, "user_id": s.BotUserID, "is_bot": true}},
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "events_api", Payload: raw, AcceptsResponsePayload: false, EventID: eventID}
}

// DM is a message.im event: user writes text in their direct messages with the bot.
func (s *Server) DM(user, text string) Envelope {
	s.mu.Lock()
	ch := s.imLocked(user)
	s.mu.Unlock()
	ts := s.nextTS()
	return s.Event(map[string]any{
		"type": "message", "user": user, "text": text, "ts": ts, "event_ts": ts,
		"channel": ch.ID, "channel_type": "im", "client_msg_id": s.nextID("cm-"),
	})
}

// Retry is Slack's redelivery of e: a new envelope id, the same event.
func (s *Server) Retry(e Envelope) Envelope {
	r := e
	r.EnvelopeID = s.nextID("env-")
	r.RetryAttempt = e.RetryAttempt + 1
	r.RetryReason = "timeout"
	return r
}

// Click is a block_actions interaction: user presses the element actionID of
// the message channel/ts, as the fake stored it. For a static_select, value is
// the picked option's value; for a button, an empty value takes the button's.
func (s *Server) Click(user, channel, ts, actionID, value string) (Envelope, error) {
	m, ok := s.Message(channel, ts)
	if !ok {
		return Envelope{}, fmt.Errorf("slacktest: no message %s/%s", channel, ts)
	}
	// The same action_id may appear in several blocks (one button per alert):
	// a button is found by its value too.
	var act *Action
	for _, a := range m.Actions() {
		if a.ActionID == actionID && (value == "" || a.Type == "static_select" || a.Value == value) {
			act = &a
			break
		}
	}
	if act == nil {
		return Envelope{}, fmt.Errorf("slacktest: message %s/%s has no element %q", channel, ts, actionID)
	}
	action := map[string]any{"action_id": act.ActionID, "block_id": act.BlockID, "type": act.Type, "action_ts": s.nextTS()}
	switch act.Type {
	case "static_select":
		var opt *Option
		for _, o := range act.Options {
			if o.Value == value {
				opt = &o
			}
		}
		if opt == nil {
			return Envelope{}, fmt.Errorf("slacktest: select %q has no option %q", actionID, value)
		}
		action["selected_option"] = map[string]any{"value": opt.Value, "text": map[string]any{"type": "plain_text", "text": opt.Text}}
	default:
		if value == "" {
			value = act.Value
		}
		if value != act.Value {
			return Envelope{}, fmt.Errorf("slacktest: button %q has value %q, not %q", actionID, act.Value, value)
		}
		if value != "" {
			action["value"] = value
		}
		action["text"] = map[string]any{"type": "plain_text", "text": act.Text}
		if act.URL != "" {
			action["url"] = act.URL
		}
	}
	s.mu.Lock()
	u := s.users[user]
	s.mu.Unlock()
	var blocks any = []any{}
	if len(m.Blocks) > 0 {
		blocks = json.RawMessage(m.Blocks)
	}
	payload := map[string]any{
		"type": "block_actions", "token": "legacy", "api_app_id": "A0FAKE", "trigger_id": s.nextID("trig-"),
		"user":      map[string]any{"id": user, "username": u.Name, "name": u.Name, "team_id": cmpOr(u.TeamID, s.TeamID)},
		"team":      map[string]any{"id": s.TeamID, "domain": "fake"},
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": false},
		"channel":   map[string]any{"id": channel, "name": "directmessage"},
		"message": map[string]any{"type": "message", "user": s.BotUserID, "bot_id": s.BotID, "ts": ts,
			"text": m.Text, "blocks": blocks},
		"response_url": s.http.URL + "/response/" + channel + "/" + user,
		"actions":      []any{action},
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "interactive", Payload: raw, AcceptsResponsePayload: false}, nil
}

// Command is the slash command /reset-passcode typed by user in channel.
func (s *Server) Command(user, channel, text string) Envelope {
	s.mu.Lock()
	u := s.users[user]
	name := "directmessage"
	if ch, ok := s.channels[channel]; ok && !ch.IsIM {
		name = cmpOr(ch.Name, "channel")
	} else if !strings.HasPrefix(channel, "D") {
		name = "channel"
	}
	s.mu.Unlock()
	payload := map[string]any{
		"token": "legacy", "team_id": cmpOr(u.TeamID, s.TeamID), "team_domain": "fake", "channel_id": channel, "channel_name": name,
		"user_id": user, "user_name": u.Name, "command": "/reset-passcode", "text": text,
		"api_app_id": "A0FAKE", "is_enterprise_install": "false",
		"response_url": s.http.URL + "/response/" + channel + "/" + user, "trigger_id": s.nextID("trig-"),
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "slash_commands", Payload: raw, AcceptsResponsePayload: true}
}
