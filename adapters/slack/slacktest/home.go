package slacktest

import (
	"encoding/json"
	"fmt"
	"net/url"
)

// Home is a person's App Home tab as views.publish left it.
type Home struct {
	User      string
	Blocks    json.RawMessage
	Publishes int
}

// Texts is every text of the tab's blocks, joined by newlines.
func (h Home) Texts() string { return BlockTexts(h.Blocks) }

// Actions lists the interactive elements of the tab.
func (h Home) Actions() []Action { return BlockActions(h.Blocks) }

func (s *Server) publishLocked(p url.Values, call *Call) (map[string]any, *apiError) {
	user := p.Get("user_id")
	if _, ok := s.users[user]; !ok {
		return nil, &apiError{status: 200, code: "user_not_found"}
	}
	var view struct {
		Type   string          `json:"type"`
		Blocks json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(p.Get("view")), &view); err != nil || view.Type != "home" {
		return nil, &apiError{status: 200, code: "invalid_arguments"}
	}
	if errs := ValidateBlocks(view.Blocks); len(errs) > 0 {
		return nil, &apiError{status: 200, code: "invalid_blocks", details: errs}
	}
	call.Blocks = view.Blocks
	if s.homes == nil {
		s.homes = map[string]*Home{}
	}
	h := s.homes[user]
	if h == nil {
		h = &Home{User: user}
		s.homes[user] = h
	}
	h.Blocks = view.Blocks
	h.Publishes++
	s.changedLocked()
	return map[string]any{"view": map[string]any{"id": "V" + user, "type": "home", "blocks": json.RawMessage(view.Blocks)}}, nil
}

// Home returns user's App Home tab, if one was published.
func (s *Server) Home(user string) (Home, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h, ok := s.homes[user]
	if !ok {
		return Home{}, false
	}
	return *h, true
}

// AppHomeOpened is the app_home_opened event: user opens the app's tab.
func (s *Server) AppHomeOpened(user, tab string) Envelope {
	s.mu.Lock()
	ch := s.imLocked(user)
	s.mu.Unlock()
	ts := s.nextTS()
	return s.Event(map[string]any{"type": "app_home_opened", "user": user, "channel": ch.ID, "tab": tab, "event_ts": ts})
}

// ClickHome is a block_actions interaction on user's App Home tab.
func (s *Server) ClickHome(user, actionID string) (Envelope, error) {
	h, ok := s.Home(user)
	if !ok {
		return Envelope{}, fmt.Errorf("slacktest: %s has no home tab", user)
	}
	var act *Action
	for _, a := range h.Actions() {
		if a.ActionID == actionID {
			act = &a
			break
		}
	}
	if act == nil {
		return Envelope{}, fmt.Errorf("slacktest: the home tab has no element %q", actionID)
	}
	s.mu.Lock()
	u := s.users[user]
	s.mu.Unlock()
	action := map[string]any{"action_id": act.ActionID, "block_id": act.BlockID, "type": act.Type, "action_ts": s.nextTS(),
		"value": act.Value, "text": map[string]any{"type": "plain_text", "text": act.Text}}
	payload := map[string]any{
		"type": "block_actions", "token": "legacy", "api_app_id": "A0FAKE", "trigger_id": s.nextID("trig-"),
		"user":      map[string]any{"id": user, "username": u.Name, "name": u.Name, "team_id": cmpOr(u.TeamID, s.TeamID)},
		"team":      map[string]any{"id": s.TeamID, "domain": "fake"},
		"container": map[string]any{"type": "view", "view_id": "V" + user},
		"view":      map[string]any{"id": "V" + user, "type": "home", "blocks": json.RawMessage(h.Blocks)},
		"actions":   []any{action},
	}
	raw, _ := json.Marshal(payload)
	return Envelope{EnvelopeID: s.nextID("env-"), Type: "interactive", Payload: raw}, nil
}
