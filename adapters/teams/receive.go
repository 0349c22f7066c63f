package teams

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Card action data keys: an engine action, the device choice set, and the
// helpdesk's "I'm on it" (the alert id).
const (
	keyAction = "pc"
	keyChoice = "pc_choice"
	keyTake   = "ht"
)

// invokeWait bounds how long an invoke's answer waits for the card it came
// from to be known (Teams wants invoke answers within a few seconds).
const invokeWait = 2 * time.Second

// memberTTL is how long what the members API said about a person is reused.
const memberTTL = time.Hour

type memberRec struct {
	upn     string
	guest   bool
	tenant  string
	expires time.Time
}

// cardData is the data of an Action.Submit (or Action.Execute) and the inputs of its card.
type cardData struct {
	Action string `json:"pc"`
	Choice string `json:"pc_choice"`
	Take   string `json:"ht"`
}

// ServeHTTP takes an activity from the Bot Framework. It answers at once:
// 401 for a missing, invalid or mismatched token (nothing else happens), 413
// for a body over the limit, 200 otherwise; the work follows in the person's
// queue. An adaptiveCard/action invoke gets its invoke response in the answer.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			a.log.Warn("refused an activity: the body is over the limit", "limit", a.cfg.MaxBody)
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	claimURL, err := a.auth.verify(r.Context(), r.Header.Get("Authorization"))
	if err != nil {
		if errors.Is(err, errKeysUnavailable) {
			a.log.Error("cannot check an activity's token: the Bot Framework keys are unavailable", "err", err)
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		a.log.Warn("refused an activity: bad token", "reason", err.Error())
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	var act Activity
	if err := json.Unmarshal(body, &act); err != nil || act.Type == "" {
		http.Error(w, "malformed activity", http.StatusBadRequest)
		return
	}
	if !sameServiceURL(claimURL, act.ServiceURL) {
		a.log.Warn("refused an activity: its serviceUrl is not the token's", "service_url", act.ServiceURL, "token_service_url", claimURL)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if h, _ := a.handler(); h == nil {
		http.Error(w, "not running", http.StatusServiceUnavailable)
		return
	}
	a.trust(act.ServiceURL)
	if act.Conversation == nil || act.Conversation.ID == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if act.ID != "" && !a.seen.Add(act.Conversation.ID+"\x00"+act.ID, struct{}{}) {
		// Redelivered (the channel did not hear our answer in time): done already.
		a.log.Debug("duplicate activity ignored", "activity", act.ID)
		if act.Type == "invoke" {
			writeInvoke(w, InvokeResponse{StatusCode: http.StatusOK, Type: "application/vnd.microsoft.activity.message", Value: ""})
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	switch act.Type {
	case "message":
		a.onMessage(&act)
		w.WriteHeader(http.StatusOK)
	case "invoke":
		a.onInvoke(w, &act)
	case "conversationUpdate", "installationUpdate":
		a.onInstall(&act)
		w.WriteHeader(http.StatusOK)
	default:
		w.WriteHeader(http.StatusOK)
	}
}

func writeInvoke(w http.ResponseWriter, ir InvokeResponse) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(ir)
}

func tenantOf(act *Activity) string {
	if act.ChannelData != nil && act.ChannelData.Tenant != nil && act.ChannelData.Tenant.ID != "" {
		return act.ChannelData.Tenant.ID
	}
	if act.Conversation != nil {
		return act.Conversation.TenantID
	}
	return ""
}

func personal(act *Activity) bool {
	return act.Conversation != nil && act.Conversation.ConversationType == "personal"
}

// inHelpdesk reports whether the activity comes from the helpdesk channel
// (a reply thread's conversation id carries ";messageid=…").
func (a *Adapter) inHelpdesk(act *Activity) bool {
	if a.cfg.HelpdeskConversationID == "" || act.Conversation == nil {
		return false
	}
	id, _, _ := strings.Cut(act.Conversation.ID, ";")
	return id == a.cfg.HelpdeskConversationID
}

// locale maps Teams' "ja-JP" to a catalog locale, or "" when unknown.
func (a *Adapter) locale(act *Activity) string {
	l := strings.ToLower(act.Locale)
	if l == "" {
		return ""
	}
	return a.cat.Normalize(l)
}

var atTag = regexp.MustCompile(`(?s)<at>.*?</at>`)
var htmlTag = regexp.MustCompile(`(?s)<[^>]+>`)

// plainText is what the person typed, without mentions and markup.
func plainText(s string) string {
	s = atTag.ReplaceAllString(s, "")
	s = htmlTag.ReplaceAllString(s, "")
	s = strings.NewReplacer("&nbsp;", " ", "&amp;", "&", "&lt;", "<", "&gt;", ">", "&quot;", `"`).Replace(s)
	return strings.TrimSpace(s)
}

func (a *Adapter) onInstall(act *Activity) {
	if personal(act) && act.From != nil && act.From.AADObjectID != "" && strings.EqualFold(tenantOf(act), a.cfg.TenantID) {
		a.remember(act)
	}
}

func (a *Adapter) remember(act *Activity) {
	a.mu.Lock()
	a.refs[act.From.AADObjectID] = convRef{serviceURL: act.ServiceURL, conversationID: act.Conversation.ID}
	a.mu.Unlock()
}

// onMessage takes a message activity: typed text, or an Action.Submit (value).
func (a *Adapter) onMessage(act *Activity) {
	if act.From == nil || act.From.Role == "bot" || strings.HasPrefix(act.From.ID, "28:") {
		return
	}
	var data cardData
	if len(act.Value) > 0 {
		if err := json.Unmarshal(act.Value, &data); err != nil {
			return
		}
		a.onCardAction(act, data, nil)
		return
	}
	text := plainText(act.Text)
	if text == "" {
		return
	}
	a.queues.Do(queueKey(act), func() {
		a.toEngine(act, resetflow.Input{Text: text})
	})
}

func queueKey(act *Activity) string {
	if act.From.AADObjectID != "" {
		return act.From.AADObjectID
	}
	return act.From.ID
}

// onInvoke takes an adaptiveCard/action (Action.Execute). It is answered in
// the HTTP response, at once; the work follows in the person's queue.
func (a *Adapter) onInvoke(w http.ResponseWriter, act *Activity) {
	if act.Name != "adaptiveCard/action" || act.From == nil {
		writeInvoke(w, InvokeResponse{StatusCode: http.StatusOK, Type: "application/vnd.microsoft.activity.message", Value: ""})
		return
	}
	var v struct {
		Action struct {
			Data cardData `json:"data"`
		} `json:"action"`
	}
	_ = json.Unmarshal(act.Value, &v)
	answered := make(chan any, 1)
	a.onCardAction(act, v.Action.Data, answered)
	var card any
	select {
	case card = <-answered:
	default:
	}
	if card != nil {
		writeInvoke(w, InvokeResponse{StatusCode: http.StatusOK, Type: ContentTypeAdaptiveCard, Value: card})
		return
	}
	writeInvoke(w, InvokeResponse{StatusCode: http.StatusOK, Type: "application/vnd.microsoft.activity.message", Value: ""})
}

// onCardAction takes a click. A card is used up by its first click (a double
// click or a retried click does nothing); a click on a card a newer one
// replaced is answered with why nothing happens. inline, for an invoke, gets
// the settled card to put in the invoke response.
func (a *Adapter) onCardAction(act *Activity, data cardData, inline chan<- any) {
	cardID := act.ReplyToID
	if data.Take != "" {
		if !a.inHelpdesk(act) || !strings.EqualFold(tenantOf(act), a.cfg.TenantID) {
			return
		}
		a.queues.Do("helpdesk", func() { a.takeAlert(act, data.Take) })
		return
	}
	action := data.Action
	if action == "choice" || (action == "" && data.Choice != "") {
		action = data.Choice
	}
	if action == "" {
		return
	}
	key := act.Conversation.ID + "\x00" + cardID
	if cardID != "" {
		if a.superseded.Has(key) {
			a.queues.Do(queueKey(act), func() { a.reply(act, a.cat.T(a.localeOr(act), "stale_action")) })
			return
		}
		if !a.used.Add(key, struct{}{}) {
			return // a double click, or the same click again
		}
	}
	// An invoke gets the card without buttons in its answer, if the card is
	// known as live within invokeWait; otherwise (and for Action.Submit) the person's
	// queue takes the buttons off with an update, never blocking this request.
	var inlined card
	if inline != nil && cardID != "" && personal(act) {
		if inlined = a.settleLive(act.From.AADObjectID, cardID, action, invokeWait); inlined != nil {
			inline <- inlined
		}
	}
	a.queues.Do(queueKey(act), func() {
		var settled chan struct{}
		if inlined == nil && cardID != "" && personal(act) {
			if c := a.settleLive(act.From.AADObjectID, cardID, action, -1); c != nil {
				// The update and the engine's answer go out together: the
				// answer does not wait a Connector round trip (issue 17). The
				// card is no longer the person's live one, so nothing the
				// engine sends touches it; the job ends with both done.
				settled = make(chan struct{})
				go func() {
					defer close(settled)
					a.updateCard(act.ServiceURL, act.Conversation.ID, cardID, c)
				}()
			}
		}
		a.toEngine(act, resetflow.Input{Action: action})
		if settled != nil {
			<-settled
		}
	})
}

func (a *Adapter) localeOr(act *Activity) string {
	if l := a.locale(act); l != "" {
		return l
	}
	return a.cfg.Locale
}

// toEngine checks who is writing and from where, then hands the input to the
// engine. People from other tenants, guests and group chats are answered with
// a polite refusal and nothing else: they are not alerted as attacks.
func (a *Adapter) toEngine(act *Activity, in resetflow.Input) {
	h, ctx := a.handler()
	if h == nil {
		return
	}
	loc := a.localeOr(act)
	if !strings.EqualFold(tenantOf(act), a.cfg.TenantID) {
		a.log.Info("refused a person from another tenant", "tenant", tenantOf(act))
		a.reply(act, a.cat.T(loc, "teams_other_tenant"))
		return
	}
	if !personal(act) {
		a.reply(act, a.cat.T(loc, "refused_not_dm"))
		return
	}
	oid := act.From.AADObjectID
	if oid == "" {
		a.reply(act, a.cat.T(loc, "teams_no_identity"))
		return
	}
	m, err := a.member(ctx, act)
	if err != nil {
		a.log.Warn("reading the person from the Teams roster failed", "chat_user", oid, "err", err)
		a.reply(act, a.cat.T(loc, "teams_no_identity"))
		return
	}
	if m.guest {
		a.log.Info("refused a guest account", "chat_user", oid)
		a.reply(act, a.cat.T(loc, "teams_guest"))
		return
	}
	if !strings.EqualFold(m.tenant, a.cfg.TenantID) {
		a.reply(act, a.cat.T(loc, "teams_other_tenant"))
		return
	}
	a.remember(act)
	a.mu.Lock()
	a.locales[oid] = loc
	a.mu.Unlock()
	in.From = resetflow.Address{Platform: Platform, UserID: oid, Channel: act.Conversation.ID}
	in.Email = m.upn
	in.Locale = a.locale(act)
	h.Handle(ctx, in)
}

// member reads the person from the conversation's roster: Teams fills it
// from Entra ID, so the user principal name is the directory's own. The
// roster's object id must be the activity's.
func (a *Adapter) member(ctx context.Context, act *Activity) (memberRec, error) {
	oid := act.From.AADObjectID
	a.mu.Lock()
	m, ok := a.members[oid]
	a.mu.Unlock()
	if ok && a.clk.Now().Before(m.expires) {
		return m, nil
	}
	tm, err := a.conn.member(ctx, act.ServiceURL, act.Conversation.ID, act.From.ID)
	if err != nil {
		return memberRec{}, err
	}
	if !strings.EqualFold(tm.objectID(), oid) || tm.UserPrincipalName == "" {
		return memberRec{}, errors.New("the roster's member is not the activity's sender")
	}
	m = memberRec{
		upn:     tm.UserPrincipalName,
		guest:   strings.EqualFold(tm.UserRole, "guest") || strings.Contains(strings.ToUpper(tm.UserPrincipalName), "#EXT#"),
		tenant:  tm.TenantID,
		expires: a.clk.Now().Add(memberTTL),
	}
	if m.tenant == "" {
		m.tenant = tenantOf(act)
	}
	a.mu.Lock()
	if len(a.members) > 10000 {
		clear(a.members)
	}
	a.members[oid] = m
	a.mu.Unlock()
	return m, nil
}

// reply answers an activity with a line of text in its conversation.
func (a *Adapter) reply(act *Activity, text string) {
	if !a.isTrusted(act.ServiceURL) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out := &Activity{Type: "message", Text: text, TextFormat: "plain"}
	if _, err := a.conn.send(ctx, act.ServiceURL, act.Conversation.ID, out, false); err != nil {
		a.log.Warn("answering an activity failed", "err", err)
	}
}
