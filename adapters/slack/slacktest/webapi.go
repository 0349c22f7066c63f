package slacktest

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FailNext makes the next n calls of method to channel (any channel when
// empty) answer 429 with Retry-After.
func (s *Server) FailNext(method, channel string, n int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[method+"|"+channel] = append(s.fails[method+"|"+channel], failure{status: http.StatusTooManyRequests, retryAfter: retryAfter})
	}
}

// FailNextWith makes the next n calls of method to channel answer ok:false with the error code.
func (s *Server) FailNextWith(method, channel string, n int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fails[method+"|"+channel] = append(s.fails[method+"|"+channel], failure{status: http.StatusOK, err: code})
	}
}

// RateLimit allows at most one chat.postMessage per interval in channel (any
// channel when empty, each counted on its own); faster posts answer 429.
// Slack's limit is about one per second per channel.
func (s *Server) RateLimit(channel string, interval time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.every[channel] = interval
}

// SetAuthError makes every Web API method answer ok:false with code
// (invalid_auth, token_revoked, account_inactive); "" restores.
func (s *Server) SetAuthError(code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authErr = code
}

// FailConnectionsOpen makes the next apps.connections.open answer an HTTP
// status (the bot then waits RestartBackoff before it asks again) or, when
// status is 200, ok:false with code.
func (s *Server) FailConnectionsOpen(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.openErrs = append(s.openErrs, failure{status: status, err: code})
}

// --- Web API ---

type apiError struct {
	status     int
	code       string
	retryAfter time.Duration
	details    []string
}

func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	var params url.Values
	bearer := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if r.Method == http.MethodGet {
		params = r.URL.Query()
	} else if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		params = url.Values{}
		var body map[string]any
		_ = json.NewDecoder(r.Body).Decode(&body)
		for k, v := range body {
			switch v.(type) {
			case map[string]any, []any: // an object (a view) stays JSON
				b, _ := json.Marshal(v)
				params.Set(k, string(b))
			default:
				params.Set(k, fmt.Sprint(v))
			}
		}
	} else {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		params = r.PostForm
	}
	token := params.Get("token")
	if token == "" {
		token = bearer
	}
	params.Del("token")
	if method == "apps.connections.open" {
		s.waitOpenHold() // socket.go
	}

	s.mu.Lock()
	call := Call{Method: method, Channel: params.Get("channel"), Text: params.Get("text"), Params: params, At: s.clk.Now(), Status: http.StatusOK}
	if b := params.Get("blocks"); b != "" {
		call.Blocks = json.RawMessage(b)
	}
	result, aerr := s.serveLocked(method, token, params, &call)
	if aerr != nil {
		call.Status = aerr.status
		call.Error = aerr.code
	}
	s.recordLocked(&call)
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(call)
	}

	w.Header().Set("Content-Type", "application/json")
	if method == "auth.test" {
		w.Header().Set("X-OAuth-Scopes", strings.Join(s.opts.Scopes, ","))
	}
	if aerr != nil {
		if aerr.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(aerr.retryAfter.Seconds()))))
		}
		if aerr.status != http.StatusOK && aerr.status != http.StatusTooManyRequests {
			w.WriteHeader(aerr.status)
			return
		}
		w.WriteHeader(aerr.status)
		body := map[string]any{"ok": false, "error": aerr.code}
		if len(aerr.details) > 0 {
			body["errors"] = aerr.details
		}
		_ = json.NewEncoder(w).Encode(body)
		return
	}
	if result == nil {
		result = map[string]any{}
	}
	result["ok"] = true
	_ = json.NewEncoder(w).Encode(result)
}

// recordLocked numbers the call, keeps it (unless ForgetCalls) and wakes waiters. s.mu is held.
func (s *Server) recordLocked(call *Call) {
	s.seq++
	call.Seq = s.seq
	if !s.opts.ForgetCalls {
		s.calls = append(s.calls, *call)
	}
	s.changedLocked()
}

func (s *Server) takeFailureLocked(method, channel string) *failure {
	for _, key := range []string{method + "|" + channel, method + "|"} {
		if q := s.fails[key]; len(q) > 0 {
			f := q[0]
			s.fails[key] = q[1:]
			return &f
		}
	}
	return nil
}

func (s *Server) serveLocked(method, token string, p url.Values, call *Call) (map[string]any, *apiError) {
	if method == "apps.connections.open" {
		if token != s.AppToken {
			return nil, &apiError{status: 200, code: "invalid_auth"}
		}
		if s.authErr != "" {
			return nil, &apiError{status: 200, code: s.authErr}
		}
		if len(s.openErrs) > 0 {
			f := s.openErrs[0]
			s.openErrs = s.openErrs[1:]
			if f.status != http.StatusOK {
				return nil, &apiError{status: f.status, code: http.StatusText(f.status)}
			}
			return nil, &apiError{status: 200, code: f.err}
		}
		return map[string]any{"url": "ws" + strings.TrimPrefix(s.http.URL, "http") + "/ws?ticket=" + s.ticketLocked()}, nil
	}
	if token != s.BotToken {
		return nil, &apiError{status: 200, code: "invalid_auth"}
	}
	if s.authErr != "" {
		return nil, &apiError{status: 200, code: s.authErr}
	}
	if f := s.takeFailureLocked(method, call.Channel); f != nil {
		return nil, &apiError{status: f.status, code: cmpOr(f.err, "ratelimited"), retryAfter: f.retryAfter}
	}
	switch method {
	case "auth.test":
		return map[string]any{"url": "https://fake.slack.test/", "team": "Fake", "user": "passcodebot",
			"team_id": s.TeamID, "user_id": s.BotUserID, "bot_id": s.BotID}, nil
	case "users.info":
		u, ok := s.users[p.Get("user")]
		if !ok {
			return nil, &apiError{status: 200, code: "user_not_found"}
		}
		user := map[string]any{"id": u.ID, "team_id": u.TeamID, "name": u.Name, "real_name": u.Name,
			"is_bot": u.IsBot, "is_stranger": u.IsStranger, "deleted": u.Deleted,
			"profile": map[string]any{"email": u.Email, "real_name": u.Name}}
		if p.Get("include_locale") == "true" {
			user["locale"] = u.Locale
		}
		return map[string]any{"user": user}, nil
	case "conversations.open":
		users := p.Get("users")
		if users == "" || strings.Contains(users, ",") {
			return nil, &apiError{status: 200, code: "not_supported_by_fake"}
		}
		if _, ok := s.users[users]; !ok {
			return nil, &apiError{status: 200, code: "user_not_found"}
		}
		ch, ok := s.opens[users]
		if !ok {
			ch = s.imLocked(users)
		}
		if p.Get("return_im") != "true" {
			// Slack answers only the id unless asked for the full IM object.
			return map[string]any{"channel": map[string]any{"id": ch.ID}}, nil
		}
		return map[string]any{"channel": channelJSON(ch)}, nil
	case "conversations.info":
		ch, ok := s.channels[call.Channel]
		if !ok {
			return nil, &apiError{status: 200, code: "channel_not_found"}
		}
		return map[string]any{"channel": channelJSON(*ch)}, nil
	case "chat.postMessage", "chat.postEphemeral":
		if _, ok := s.channels[call.Channel]; !ok {
			return nil, &apiError{status: 200, code: "channel_not_found"}
		}
		if method == "chat.postMessage" {
			if ra := s.rateLimitedLocked(call.Channel); ra > 0 {
				return nil, &apiError{status: http.StatusTooManyRequests, code: "ratelimited", retryAfter: ra}
			}
		}
		if errs := ValidateBlocks(call.Blocks); len(errs) > 0 {
			return nil, &apiError{status: 200, code: "invalid_blocks", details: errs}
		}
		if call.Text == "" && len(call.Blocks) == 0 {
			return nil, &apiError{status: 200, code: "no_text"}
		}
		s.tsSeq++
		ts := fmt.Sprintf("%d.%06d", s.tsSeq/1_000_000, s.tsSeq%1_000_000)
		call.TS = ts
		if method == "chat.postEphemeral" {
			return map[string]any{"message_ts": ts}, nil
		}
		m := &Message{Channel: call.Channel, TS: ts, Text: call.Text, Blocks: call.Blocks}
		s.messages[call.Channel+"/"+ts] = m
		s.byChan[call.Channel] = append(s.byChan[call.Channel], m)
		return map[string]any{"channel": call.Channel, "ts": ts, "message": map[string]any{"text": call.Text, "ts": ts}}, nil
	case "chat.update":
		call.TS = p.Get("ts")
		m, ok := s.messages[call.Channel+"/"+call.TS]
		if !ok || m.Deleted {
			return nil, &apiError{status: 200, code: "message_not_found"}
		}
		if errs := ValidateBlocks(call.Blocks); len(errs) > 0 {
			return nil, &apiError{status: 200, code: "invalid_blocks", details: errs}
		}
		if p.Has("text") {
			m.Text = call.Text
		}
		if p.Has("blocks") {
			m.Blocks = call.Blocks
		}
		m.Updates++
		return map[string]any{"channel": call.Channel, "ts": call.TS, "text": m.Text}, nil
	case "views.publish":
		return s.publishLocked(p, call)
	case "chat.delete":
		call.TS = p.Get("ts")
		m, ok := s.messages[call.Channel+"/"+call.TS]
		if !ok || m.Deleted {
			return nil, &apiError{status: 200, code: "message_not_found"}
		}
		m.Deleted = true
		return map[string]any{"channel": call.Channel, "ts": call.TS}, nil
	}
	return nil, &apiError{status: 200, code: "unknown_method"}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Server) rateLimitedLocked(channel string) time.Duration {
	every, ok := s.every[channel]
	if !ok {
		every, ok = s.every[""]
	}
	if !ok || every <= 0 {
		return 0
	}
	now := s.clk.Now()
	if last, seen := s.lastPost[channel]; seen && now.Sub(last) < every {
		return every - now.Sub(last)
	}
	s.lastPost[channel] = now
	return 0
}

func (s *Server) imLocked(user string) Channel {
	id := IM(user)
	if ch, ok := s.channels[id]; ok {
		return *ch
	}
	ch := &Channel{ID: id, IsIM: true, User: user}
	s.channels[id] = ch
	return *ch
}

func channelJSON(ch Channel) map[string]any {
	m := map[string]any{"id": ch.ID, "is_im": ch.IsIM, "is_channel": !ch.IsIM, "name": ch.Name}
	if ch.User != "" {
		m["user"] = ch.User
	}
	return m
}

// responseURL records a slash command's response_url answer as a call with
// Method "response_url" and the command's channel.
func (s *Server) responseURL(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Text         string          `json:"text"`
		ResponseType string          `json:"response_type"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	blocks := body.Blocks
	if string(blocks) == "null" {
		blocks = nil
	}
	call := Call{
		Method: "response_url", Channel: r.PathValue("channel"), Text: body.Text, Blocks: blocks,
		Params: url.Values{"response_type": {body.ResponseType}, "user": {r.PathValue("user")}}, Status: http.StatusOK, At: s.clk.Now(),
	}
	s.recordLocked(&call)
	s.mu.Unlock()
	if s.opts.OnCall != nil {
		s.opts.OnCall(call)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}
