package discordtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"
)

const apiPrefix = "/api/v9"

func (s *Server) routes(mux *http.ServeMux) {
	bot := func(pattern string, h func(w http.ResponseWriter, r *http.Request, body []byte)) {
		mux.HandleFunc(pattern, s.serve(true, h))
	}
	open := func(pattern string, h func(w http.ResponseWriter, r *http.Request, body []byte)) {
		mux.HandleFunc(pattern, s.serve(false, h))
	}
	p := func(method, path string) string { return method + " " + apiPrefix + path }

	bot(p("GET", "/gateway"), s.gateway)
	bot(p("GET", "/gateway/bot"), s.gatewayBot)
	bot(p("GET", "/users/@me"), s.me)
	bot(p("GET", "/applications/@me"), s.application)
	bot(p("GET", "/oauth2/applications/@me"), s.application)
	bot(p("POST", "/users/@me/channels"), s.createDM)
	bot(p("GET", "/channels/{cid}"), s.getChannel)
	bot(p("POST", "/channels/{cid}/messages"), s.postMessage)
	bot(p("GET", "/channels/{cid}/messages/{mid}"), s.getMessage)
	bot(p("PATCH", "/channels/{cid}/messages/{mid}"), s.editMessage)
	bot(p("DELETE", "/channels/{cid}/messages/{mid}"), s.deleteMessage)
	bot(p("GET", "/applications/{app}/commands"), s.listCommands)
	bot(p("POST", "/applications/{app}/commands"), s.createCommand)
	bot(p("PUT", "/applications/{app}/commands"), s.overwriteCommands)
	bot(p("PATCH", "/applications/{app}/commands/{cmd}"), s.editCommand)
	bot(p("DELETE", "/applications/{app}/commands/{cmd}"), s.deleteCommand)
	open(p("POST", "/interactions/{iid}/{token}/callback"), s.callback)
	open(p("POST", "/webhooks/{app}/{token}"), s.followup)
	open(p("GET", "/webhooks/{app}/{token}/messages/{mid}"), s.webhookGet)
	open(p("PATCH", "/webhooks/{app}/{token}/messages/{mid}"), s.webhookEdit)
	open(p("DELETE", "/webhooks/{app}/{token}/messages/{mid}"), s.webhookDelete)
	mux.HandleFunc("GET /gateway-ws", s.serveWS)
	mux.HandleFunc("GET /gateway-ws/", s.serveWS) // discordgo adds a slash
	mux.HandleFunc(apiPrefix+"/", s.serve(false, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		apiError(w, http.StatusNotFound, 0, "404: Not Found")
	}))
}

// recorder captures the status a handler wrote.
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// serve records the call, applies injected rate limits and checks the bot token.
func (s *Server) serve(needAuth bool, h func(w http.ResponseWriter, r *http.Request, body []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		path := strings.TrimPrefix(r.URL.Path, apiPrefix)
		authed := r.Header.Get("Authorization") == "Bot "+s.opts.Token
		rec := &recorder{ResponseWriter: w}
		route := routeOf(r.Pattern)
		defer func() {
			s.mu.Lock()
			s.calls = append(s.calls, Call{Seq: len(s.calls) + 1, Method: r.Method, Path: path, Route: route, Query: r.URL.RawQuery, Body: body, Status: rec.status, Authed: authed})
			s.routeCounts[route]++
			s.bump()
			s.mu.Unlock()
		}()
		if rl := s.takeLimit(r.Method, path); rl != nil {
			secs := rl.retryAfter.Seconds()
			rec.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(secs))))
			if rl.global {
				rec.Header().Set("X-RateLimit-Global", "true")
			}
			rec.Header().Set("X-RateLimit-Scope", "user")
			writeJSON(rec, http.StatusTooManyRequests, map[string]any{"message": "You are being rate limited.", "retry_after": secs, "global": rl.global})
			return
		}
		if needAuth && !authed {
			apiError(rec, http.StatusUnauthorized, 0, "401: Unauthorized")
			return
		}
		h(rec, r, body)
	}
}

// routeOf is a mux pattern without the API prefix: "POST /channels/{cid}/messages";
// the catch-all (an unknown route) is "".
func routeOf(pattern string) string {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		return ""
	}
	return method + " " + strings.TrimPrefix(path, apiPrefix)
}

func (s *Server) takeLimit(method, path string) *rateLimit {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, rl := range s.limits {
		if (rl.method == "" || rl.method == method) && strings.Contains(path, rl.path) {
			if rl.skip > 0 {
				rl.skip--
				return nil
			}
			rl.times--
			if rl.times <= 0 {
				s.limits = slices.Delete(s.limits, i, i+1)
			}
			c := *rl
			return &c
		}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status, code int, msg string) {
	writeJSON(w, status, map[string]any{"code": code, "message": msg})
}

func (s *Server) gateway(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, map[string]any{"url": s.GatewayURL()})
}

func (s *Server) gatewayBot(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	used := len(s.identify)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"url": s.GatewayURL(), "shards": 1,
		"session_start_limit": map[string]any{"total": 1000, "remaining": 1000 - used, "reset_after": 86400000, "max_concurrency": 1},
	})
}

func (s *Server) userJSON(u User) map[string]any {
	return map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "global_name": u.Username, "bot": u.Bot}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	u := s.users[s.opts.BotID]
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.userJSON(u))
}

func (s *Server) application(w http.ResponseWriter, r *http.Request, _ []byte) {
	writeJSON(w, http.StatusOK, map[string]any{"id": s.opts.AppID, "name": s.opts.BotName})
}

func (s *Server) channelJSON(c *Channel) map[string]any {
	m := map[string]any{"id": c.ID, "type": c.Type}
	if c.GuildID != "" {
		m["guild_id"] = c.GuildID
	}
	if c.Recipient != "" {
		m["recipients"] = []any{s.userJSON(s.users[c.Recipient])}
	}
	return m
}

func (s *Server) createDM(w http.ResponseWriter, r *http.Request, body []byte) {
	var req struct {
		RecipientID string `json:"recipient_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil || req.RecipientID == "" {
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[req.RecipientID]; !ok {
		apiError(w, http.StatusBadRequest, 50033, "Invalid Recipient(s)")
		return
	}
	id := s.dmLocked(req.RecipientID)
	if other, ok := s.misdirect[req.RecipientID]; ok {
		id = other
	}
	writeJSON(w, http.StatusOK, s.channelJSON(s.channels[id]))
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.PathValue("cid")]
	if !ok {
		apiError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	writeJSON(w, http.StatusOK, s.channelJSON(c))
}

// wireMessage is a message create or edit body; absent fields are left alone on edit.
type wireMessage struct {
	Content    *string                           `json:"content"`
	Embeds     *[]*discordgo.MessageEmbed        `json:"embeds"`
	Components *[]json.RawMessage                `json:"components"`
	Flags      *discordgo.MessageFlags           `json:"flags"`
	Mentions   *discordgo.MessageAllowedMentions `json:"allowed_mentions"`
}

func parseMessage(body []byte) (wireMessage, error) {
	var wm wireMessage
	if len(bytes.TrimSpace(body)) == 0 {
		return wm, nil
	}
	err := json.Unmarshal(body, &wm)
	return wm, err
}

func (wm wireMessage) apply(m *Message) error {
	if wm.Content != nil {
		if len([]rune(*wm.Content)) > 2000 {
			return fmt.Errorf("content longer than 2000")
		}
		m.Content = *wm.Content
	}
	if wm.Embeds != nil {
		if len(*wm.Embeds) > 10 {
			return fmt.Errorf("more than 10 embeds")
		}
		m.Embeds = *wm.Embeds
	}
	if wm.Components != nil {
		comps, err := parseComponents(*wm.Components)
		if err != nil {
			return err
		}
		m.Components = comps
	}
	if wm.Flags != nil {
		m.Flags = *wm.Flags
	}
	return nil
}

// parseComponents decodes and checks components as Discord does: rows of at
// most 5 buttons or one select, at most 5 rows, custom ids unique and at most
// 100 characters, labels at most 80.
func parseComponents(raw []json.RawMessage) ([]discordgo.MessageComponent, error) {
	if len(raw) > 5 {
		return nil, fmt.Errorf("more than 5 action rows")
	}
	seen := map[string]bool{}
	var out []discordgo.MessageComponent
	for _, r := range raw {
		c, err := discordgo.MessageComponentFromJSON(r)
		if err != nil {
			return nil, err
		}
		row, ok := c.(*discordgo.ActionsRow)
		if !ok {
			return nil, fmt.Errorf("top-level component is not an action row")
		}
		if len(row.Components) == 0 || len(row.Components) > 5 {
			return nil, fmt.Errorf("an action row holds 1 to 5 components")
		}
		for _, rc := range row.Components {
			switch v := rc.(type) {
			case *discordgo.Button:
				if v.Style == discordgo.LinkButton {
					if v.URL == "" || v.CustomID != "" {
						return nil, fmt.Errorf("a link button has a url and no custom_id")
					}
				} else if v.CustomID == "" || len(v.CustomID) > 100 {
					return nil, fmt.Errorf("button custom_id %q: 1 to 100 characters", v.CustomID)
				}
				if len([]rune(v.Label)) > 80 {
					return nil, fmt.Errorf("button label longer than 80")
				}
				if v.CustomID != "" {
					if seen[v.CustomID] {
						return nil, fmt.Errorf("custom_id %q used twice", v.CustomID)
					}
					seen[v.CustomID] = true
				}
			case *discordgo.SelectMenu:
				if len(row.Components) != 1 {
					return nil, fmt.Errorf("a select menu needs a row of its own")
				}
				if len(v.Options) == 0 || len(v.Options) > 25 {
					return nil, fmt.Errorf("a select menu holds 1 to 25 options")
				}
				if seen[v.CustomID] || v.CustomID == "" {
					return nil, fmt.Errorf("select custom_id %q missing or used twice", v.CustomID)
				}
				seen[v.CustomID] = true
				for _, o := range v.Options {
					if len([]rune(o.Label)) > 100 || len([]rune(o.Description)) > 100 || len(o.Value) > 100 {
						return nil, fmt.Errorf("select option longer than 100")
					}
				}
			default:
				return nil, fmt.Errorf("unexpected component %T in a row", rc)
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func (s *Server) messageJSON(m *Message) map[string]any {
	out := map[string]any{
		"id": m.ID, "channel_id": m.ChannelID, "content": m.Content, "flags": m.Flags,
		"author": s.userJSON(s.users[m.AuthorID]), "embeds": m.Embeds, "components": m.Components,
		"type": 0, "timestamp": time.Now().UTC().Format(time.RFC3339),
	}
	if m.Embeds == nil {
		out["embeds"] = []any{}
	}
	if m.Components == nil {
		out["components"] = []any{}
	}
	if c := s.channels[m.ChannelID]; c != nil && c.GuildID != "" {
		out["guild_id"] = c.GuildID
	}
	return out
}

// newMessageLocked stores a bot message and, in a DM, dispatches its
// MESSAGE_CREATE as Discord does (the bot sees its own DMs). s.mu is held.
func (s *Server) newMessageLocked(channelID string, wm wireMessage, via string) (*Message, error) {
	m := &Message{ID: s.snowflakeAt(s.opts.Now()), ChannelID: channelID, AuthorID: s.opts.BotID, Via: via}
	if err := wm.apply(m); err != nil {
		return nil, err
	}
	if m.Content == "" && len(m.Embeds) == 0 && len(m.Components) == 0 && m.Flags&discordgo.MessageFlagsLoading == 0 {
		return nil, fmt.Errorf("cannot send an empty message")
	}
	m.Versions = []string{m.Content}
	s.messages[m.ID] = m
	s.order = append(s.order, m.ID)
	if c := s.channels[channelID]; c != nil && c.Type == discordgo.ChannelTypeDM {
		s.dispatchLocked("MESSAGE_CREATE", s.messageJSON(m))
	}
	s.observeLocked(m)
	return m, nil
}

func (s *Server) postMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	wm, err := parseMessage(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cid := r.PathValue("cid")
	if _, ok := s.channels[cid]; !ok {
		apiError(w, http.StatusNotFound, 10003, "Unknown Channel")
		return
	}
	m, err := s.newMessageLocked(cid, wm, "channel")
	if err != nil {
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.messageJSON(m))
}

func (s *Server) findMessageLocked(w http.ResponseWriter, channelID, id string) *Message {
	m, ok := s.messages[id]
	if !ok || m.Deleted || (channelID != "" && m.ChannelID != channelID) {
		apiError(w, http.StatusNotFound, 10008, "Unknown Message")
		return nil
	}
	return m
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMessageLocked(w, r.PathValue("cid"), r.PathValue("mid")); m != nil {
		writeJSON(w, http.StatusOK, s.messageJSON(m))
	}
}

func (s *Server) editLocked(w http.ResponseWriter, m *Message, body []byte) {
	wm, err := parseMessage(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	if m.AuthorID != s.opts.BotID {
		apiError(w, http.StatusForbidden, 50005, "Cannot edit a message authored by another user")
		return
	}
	next := *m
	if err := wm.apply(&next); err != nil {
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
		return
	}
	next.Flags &^= discordgo.MessageFlagsLoading
	if next.Content != m.Content || len(next.Versions) == 0 {
		next.Versions = append(slices.Clone(m.Versions), next.Content)
	}
	*m = next
	s.observeLocked(m)
	writeJSON(w, http.StatusOK, s.messageJSON(m))
}

func (s *Server) editMessage(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	hold := s.holds[r.PathValue("cid")]
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMessageLocked(w, r.PathValue("cid"), r.PathValue("mid")); m != nil {
		s.editLocked(w, m, body)
	}
}

func (s *Server) deleteMessage(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findMessageLocked(w, r.PathValue("cid"), r.PathValue("mid")); m != nil {
		m.Deleted = true
		w.WriteHeader(http.StatusNoContent)
	}
}

// --- interactions ---

func (s *Server) callback(w http.ResponseWriter, r *http.Request, body []byte) {
	var resp struct {
		Type discordgo.InteractionResponseType `json:"type"`
		Data json.RawMessage                   `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		apiError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.interactions[r.PathValue("iid")]
	refuse := func(status, code int, msg string) {
		if in != nil {
			in.Refused = append(in.Refused, code)
		}
		apiError(w, status, code, msg)
	}
	switch {
	case in == nil || in.Token != r.PathValue("token"):
		refuse(http.StatusNotFound, 10062, "Unknown interaction")
		return
	case len(in.Callbacks) > 0:
		refuse(http.StatusBadRequest, 40060, "Interaction has already been acknowledged.")
		return
	case in.Expired || time.Since(in.Dispatched) > s.opts.InteractionAckTimeout:
		refuse(http.StatusNotFound, 10062, "Unknown interaction")
		return
	case s.refuse > 0:
		s.refuse--
		refuse(http.StatusNotFound, 10062, "Unknown interaction")
		return
	}
	var wm wireMessage
	if len(resp.Data) > 0 && string(resp.Data) != "null" {
		var err error
		if wm, err = parseMessage(resp.Data); err != nil {
			refuse(http.StatusBadRequest, 50035, "Invalid Form Body")
			return
		}
	}
	switch resp.Type {
	case discordgo.InteractionResponseChannelMessageWithSource, discordgo.InteractionResponseDeferredChannelMessageWithSource:
		if resp.Type == discordgo.InteractionResponseDeferredChannelMessageWithSource {
			flags := discordgo.MessageFlagsLoading
			if wm.Flags != nil {
				flags |= *wm.Flags
			}
			wm = wireMessage{Flags: &flags}
		}
		m, err := s.newMessageLocked(in.ChannelID, wm, "interaction")
		if err != nil {
			refuse(http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
			return
		}
		in.OriginalID = m.ID
	case discordgo.InteractionResponseDeferredMessageUpdate:
		if in.MessageID == "" {
			refuse(http.StatusBadRequest, 40004, "Interaction has no message to update")
			return
		}
	case discordgo.InteractionResponseUpdateMessage:
		m := s.messages[in.MessageID]
		if m == nil {
			refuse(http.StatusBadRequest, 40004, "Interaction has no message to update")
			return
		}
		next := *m
		if err := wm.apply(&next); err != nil {
			refuse(http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
			return
		}
		next.Versions = append(slices.Clone(m.Versions), next.Content)
		*m = next
		s.observeLocked(m)
	default:
		refuse(http.StatusBadRequest, 50035, fmt.Sprintf("unsupported response type %d", resp.Type))
		return
	}
	in.Callbacks = append(in.Callbacks, resp.Type)
	in.AckDelay = time.Since(in.Dispatched)
	w.WriteHeader(http.StatusNoContent)
}

// webhookInteractionLocked finds the interaction of a webhook token; it answers
// the error itself and returns nil when the token is unknown or expired.
func (s *Server) webhookInteractionLocked(w http.ResponseWriter, r *http.Request) *Interaction {
	id, ok := s.byToken[r.PathValue("token")]
	in := s.interactions[id]
	switch {
	case !ok || r.PathValue("app") != s.opts.AppID:
		apiError(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return nil
	case in.Expired || s.opts.Now().Sub(snowflakeTime(in.ID)) > 15*time.Minute:
		apiError(w, http.StatusUnauthorized, 50027, "Invalid Webhook Token")
		return nil
	case len(in.Callbacks) == 0:
		apiError(w, http.StatusNotFound, 10015, "Unknown Webhook")
		return nil
	}
	return in
}

func (s *Server) webhookTargetLocked(w http.ResponseWriter, in *Interaction, mid string) *Message {
	if mid == "@original" {
		mid = in.OriginalID
		if mid == "" {
			mid = in.MessageID
		}
	}
	return s.findMessageLocked(w, in.ChannelID, mid)
}

func (s *Server) followup(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := s.webhookInteractionLocked(w, r)
	if in == nil {
		return
	}
	wm, err := parseMessage(body)
	if err != nil {
		apiError(w, http.StatusBadRequest, 50109, "The request body contains invalid JSON.")
		return
	}
	m, err := s.newMessageLocked(in.ChannelID, wm, "followup")
	if err != nil {
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body: "+err.Error())
		return
	}
	if r.URL.Query().Get("wait") != "true" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, s.messageJSON(m))
}

func (s *Server) webhookGet(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.webhookInteractionLocked(w, r); in != nil {
		if m := s.webhookTargetLocked(w, in, r.PathValue("mid")); m != nil {
			writeJSON(w, http.StatusOK, s.messageJSON(m))
		}
	}
}

func (s *Server) webhookEdit(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.webhookInteractionLocked(w, r); in != nil {
		if m := s.webhookTargetLocked(w, in, r.PathValue("mid")); m != nil {
			s.editLocked(w, m, body)
		}
	}
}

func (s *Server) webhookDelete(w http.ResponseWriter, r *http.Request, _ []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in := s.webhookInteractionLocked(w, r); in != nil {
		if m := s.webhookTargetLocked(w, in, r.PathValue("mid")); m != nil {
			m.Deleted = true
			w.WriteHeader(http.StatusNoContent)
		}
	}
}

// snowflakeTime is when a Discord id was made.
func snowflakeTime(id string) time.Time {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(n>>22 + 1420070400000)
}

// --- application commands ---

func (s *Server) checkApp(w http.ResponseWriter, r *http.Request) bool {
	if r.PathValue("app") != s.opts.AppID {
		apiError(w, http.StatusForbidden, 50001, "Missing Access")
		return false
	}
	return true
}

func (s *Server) listCommands(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !s.checkApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.commands
	if out == nil {
		out = []*discordgo.ApplicationCommand{}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) decodeCommand(w http.ResponseWriter, body []byte) *discordgo.ApplicationCommand {
	var c discordgo.ApplicationCommand
	if err := json.Unmarshal(body, &c); err != nil || c.Name == "" {
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return nil
	}
	return &c
}

func (s *Server) storeCommandLocked(c *discordgo.ApplicationCommand) (*discordgo.ApplicationCommand, bool) {
	c.ApplicationID = s.opts.AppID
	c.Version = s.snowflakeAt(s.opts.Now())
	if c.Type == 0 {
		c.Type = discordgo.ChatApplicationCommand
	}
	for i, old := range s.commands {
		if old.Name == c.Name && old.Type == c.Type {
			c.ID = old.ID
			s.commands[i] = c
			return c, false
		}
	}
	c.ID = s.snowflakeAt(s.opts.Now())
	s.commands = append(s.commands, c)
	return c, true
}

func (s *Server) createCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.checkApp(w, r) {
		return
	}
	c := s.decodeCommand(w, body)
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, created := s.storeCommandLocked(c)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, c)
}

func (s *Server) overwriteCommands(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.checkApp(w, r) {
		return
	}
	var cmds []*discordgo.ApplicationCommand
	if err := json.Unmarshal(body, &cmds); err != nil {
		apiError(w, http.StatusBadRequest, 50035, "Invalid Form Body")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.commands
	s.commands = nil
	for _, c := range cmds {
		for _, o := range old {
			if o.Name == c.Name {
				c.ID = o.ID
			}
		}
		if c.ID == "" {
			c.ID = s.snowflakeAt(s.opts.Now())
		}
		c.ApplicationID, c.Version = s.opts.AppID, s.snowflakeAt(s.opts.Now())
		if c.Type == 0 {
			c.Type = discordgo.ChatApplicationCommand
		}
		s.commands = append(s.commands, c)
	}
	writeJSON(w, http.StatusOK, s.commands)
}

func (s *Server) editCommand(w http.ResponseWriter, r *http.Request, body []byte) {
	if !s.checkApp(w, r) {
		return
	}
	c := s.decodeCommand(w, body)
	if c == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.commands {
		if old.ID == r.PathValue("cmd") {
			c.ID, c.ApplicationID, c.Version = old.ID, s.opts.AppID, s.snowflakeAt(s.opts.Now())
			s.commands[i] = c
			writeJSON(w, http.StatusOK, c)
			return
		}
	}
	apiError(w, http.StatusNotFound, 10063, "Unknown application command")
}

func (s *Server) deleteCommand(w http.ResponseWriter, r *http.Request, _ []byte) {
	if !s.checkApp(w, r) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, old := range s.commands {
		if old.ID == r.PathValue("cmd") {
			s.commands = slices.Delete(s.commands, i, i+1)
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	apiError(w, http.StatusNotFound, 10063, "Unknown application command")
}
