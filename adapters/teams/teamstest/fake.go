// Package teamstest is a Bot Framework of its own for tests: the Teams side of
// a bot's conversations. It signs the activities it delivers with its own RSA
// key and serves the OpenID metadata and JWKS the bot checks them against, an
// Entra token endpoint (client credentials), and the Bot Connector REST API
// (/v3/conversations/...: send, reply, update, delete, members, create).
//
// Tests play people with its user API (Say, Click, Choose) and read what the
// bot posted (Messages, with every version of each card) and every Connector
// call (Calls). Faults are injected per conversation (Throttle: 429 with
// Retry-After), and Post sends hand-made activities with bad tokens.
// WaitFor waits for a condition without sleeping.
package teamstest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Issuer is the Bot Framework's token issuer.
const Issuer = "https://api.botframework.com"

// Scope is the scope the Connector's tokens must be asked for.
const Scope = "https://api.botframework.com/.default"

// Options configure a fake. Zero values take defaults.
type Options struct {
	AppID       string // the bot's app id; default a fixed GUID
	AppPassword string // its client secret; default "fake-app-password"
	TenantID    string // the company's tenant; default a fixed GUID
	// Now dates the tokens the fake signs; tests with a fake clock pass its Now.
	Now func() time.Time
	// OnMessage, when set, is called with every activity the bot posts or
	// updates, as it is after (a load driver follows its people with it
	// instead of scanning Messages). It runs with the fake's lock held: it
	// must not call the fake.
	OnMessage func(Message)
}

// User is a person the test plays.
type User struct {
	ID          string // Teams' user id, 29:…
	AADObjectID string
	Name        string
	UPN         string
	TenantID    string
	Locale      string // e.g. "en-US", "ja-JP"
	Guest       bool
}

// Message is an activity the bot posted, as the fake keeps it.
type Message struct {
	ID             string
	ConversationID string
	ReplyToID      string
	Text           string
	Card           map[string]any // the Adaptive Card, latest version
	Versions       []string       // every version of the activity's JSON, first to last
	Deleted        bool
}

// Call is one Connector or token request the fake served.
type Call struct {
	Method string
	Path   string
	Route  string // the route it matched, "POST /v3/conversations/{conv}/activities"
	Body   []byte
	Status int
}

// Server is the fake. Make it with New.
type Server struct {
	opts Options
	srv  *httptest.Server
	key  *rsa.PrivateKey
	kid  string

	mu       sync.Mutex
	changed  chan struct{}
	endpoint string
	users    map[string]*User // by 29: id
	convs    map[string]string
	channels map[string]bool
	msgs     []*Message
	calls    []Call
	counts   map[string]int // calls by Route
	tokens   map[string]bool
	throttle map[string][]time.Duration // conversation -> Retry-After of the next 429s
	refuse   map[string]int             // conversation -> how many of the next updates fail
	holds    map[string]chan struct{}   // conversation -> updates wait until it is closed
	seq      int
	last     []byte
	tokenReq int
}

// New starts a fake; it stops when the test ends.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a fake outside a test (a load driver); Close stops it.
func Start(opts Options) (*Server, error) {
	if opts.AppID == "" {
		opts.AppID = "00000000-0000-4000-8000-00000000b07a"
	}
	if opts.AppPassword == "" {
		opts.AppPassword = "fake-app-password"
	}
	if opts.TenantID == "" {
		opts.TenantID = "72f988bf-0000-4000-8000-00000000c0de"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, key: key, kid: "fake-key-1", changed: make(chan struct{}),
		users: map[string]*User{}, convs: map[string]string{}, channels: map[string]bool{},
		counts: map[string]int{}, tokens: map[string]bool{}, throttle: map[string][]time.Duration{}, refuse: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/.well-known/openidconfiguration", s.metadata)
	mux.HandleFunc("GET /v1/.well-known/keys", s.keys)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.token)
	mux.HandleFunc("POST /amer/v3/conversations", s.authed(s.createConversation))
	mux.HandleFunc("POST /amer/v3/conversations/{conv}/activities", s.authed(s.send))
	mux.HandleFunc("POST /amer/v3/conversations/{conv}/activities/{id}", s.authed(s.send))
	mux.HandleFunc("PUT /amer/v3/conversations/{conv}/activities/{id}", s.authed(s.update))
	mux.HandleFunc("DELETE /amer/v3/conversations/{conv}/activities/{id}", s.authed(s.delete))
	mux.HandleFunc("GET /amer/v3/conversations/{conv}/members/{id}", s.authed(s.member))
	// Unstarted first: the handlers read s.srv.URL, so it is set before any can run.
	s.srv = httptest.NewUnstartedServer(mux)
	s.srv.Start()
	return s, nil
}

// Close stops the fake.
func (s *Server) Close() { s.srv.Close() }

// Changed returns a channel closed at the fake's next change (a call served).
func (s *Server) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// AppID, AppPassword and TenantID are the bot's identity the fake accepts.
func (s *Server) AppID() string       { return s.opts.AppID }
func (s *Server) AppPassword() string { return s.opts.AppPassword }
func (s *Server) TenantID() string    { return s.opts.TenantID }

// MetadataURL is the Bot Framework OpenID metadata.
func (s *Server) MetadataURL() string { return s.srv.URL + "/v1/.well-known/openidconfiguration" }

// TokenURL is the tenant's Entra token endpoint.
func (s *Server) TokenURL() string { return s.srv.URL + "/" + s.opts.TenantID + "/oauth2/v2.0/token" }

// ServiceURL is the Connector's base, as activities name it.
func (s *Server) ServiceURL() string { return s.srv.URL + "/amer/" }

// TokenRequests counts the app tokens the bot asked for.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenReq
}

// SetEndpoint is the bot's messaging endpoint, where activities are delivered.
func (s *Server) SetEndpoint(url string) {
	s.mu.Lock()
	s.endpoint = url
	s.mu.Unlock()
}

// AddUser adds a person of the company's tenant (or of u.TenantID, when set).
func (s *Server) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.TenantID == "" {
		u.TenantID = s.opts.TenantID
	}
	if u.ID == "" {
		u.ID = "29:1" + randHex(20)
	}
	if u.Locale == "" {
		u.Locale = "en-US"
	}
	if u.Name == "" {
		u.Name, _, _ = strings.Cut(u.UPN, "@")
	}
	cp := u
	s.users[u.ID] = &cp
	return u
}

// PersonalChat is the id of the person's personal chat with the bot.
func (s *Server) PersonalChat(u User) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.personal(u.ID)
}

func (s *Server) personal(userID string) string {
	id, ok := s.convs[userID]
	if !ok {
		id = "a:1" + randHex(24)
		s.convs[userID] = id
	}
	return id
}

// AddChannel adds a team channel conversation (19:…@thread.tacv2) and returns its id.
func (s *Server) AddChannel(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := "19:" + name + randHex(8) + "@thread.tacv2"
	s.channels[id] = true
	return id
}

// Throttle answers the next len(retryAfter) posts to the conversation with 429
// and these Retry-After values.
func (s *Server) Throttle(conversationID string, retryAfter ...time.Duration) {
	s.mu.Lock()
	s.throttle[conversationID] = append(s.throttle[conversationID], retryAfter...)
	s.mu.Unlock()
}

// HoldUpdates keeps every update of a message in the conversation waiting,
// unanswered, until release is called (a slow Connector).
func (s *Server) HoldUpdates(conversationID string) (release func()) {
	ch := make(chan struct{})
	s.mu.Lock()
	if s.holds == nil {
		s.holds = map[string]chan struct{}{}
	}
	s.holds[conversationID] = ch
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			delete(s.holds, conversationID)
			s.mu.Unlock()
			close(ch)
		})
	}
}

// RefuseUpdates answers the next n updates of messages in the conversation
// with 403 (a failure the client does not retry on its own).
func (s *Server) RefuseUpdates(conversationID string, n int) {
	s.mu.Lock()
	s.refuse[conversationID] += n
	s.mu.Unlock()
}

func randHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) change() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// WaitFor waits, up to 15 s of real time, until cond is true; it checks at
// every change of the fake, never by sleeping.
func (s *Server) WaitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(15 * time.Second)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		ch := s.changed
		s.mu.Unlock()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("teamstest: timed out waiting for %s", what)
		}
	}
}

// Messages is what the bot posted in a conversation, oldest first.
func (s *Server) Messages(conversationID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		if m.ConversationID == conversationID {
			out = append(out, clone(m))
		}
	}
	return out
}

// AllMessages is everything the bot posted, anywhere.
func (s *Server) AllMessages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.msgs {
		out = append(out, clone(m))
	}
	return out
}

// observe hands a posted or updated activity to OnMessage. s.mu is held.
func (s *Server) observe(m *Message) {
	if s.opts.OnMessage != nil {
		s.opts.OnMessage(clone(m))
	}
}

func clone(m *Message) Message {
	c := *m
	c.Versions = slices.Clone(m.Versions)
	return c
}

// Calls is every Connector and token request, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// RouteCounts is how many Connector and token calls each route has served so
// far ("POST /v3/conversations/{conv}/activities": n), whatever their status;
// a load driver takes the difference of two counts instead of copying every call.
func (s *Server) RouteCounts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.counts)
}

func (s *Server) record(r *http.Request, body []byte, status int) {
	route := r.Pattern
	if method, path, ok := strings.Cut(route, " "); ok {
		route = method + " " + strings.TrimPrefix(path, "/amer")
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: r.Method, Path: r.URL.Path, Route: route, Body: body, Status: status})
	s.counts[route]++
	s.change()
	s.mu.Unlock()
}

// --- OpenID metadata, keys, token ---

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) metadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": Issuer, "authorization_endpoint": "https://invalid.example/authorize",
		"jwks_uri":                              s.srv.URL + "/v1/.well-known/keys",
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"private_key_jwt"},
	})
}

func (s *Server) keys(w http.ResponseWriter, r *http.Request) {
	pub := s.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA", "use": "sig", "kid": s.kid,
		"n":            base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e":            base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		"endorsements": []string{"msteams"},
	}}})
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	status := http.StatusOK
	switch {
	case r.PathValue("tenant") != s.opts.TenantID:
		status = http.StatusBadRequest
	case r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") != Scope:
		status = http.StatusBadRequest
	case id != s.opts.AppID || secret != s.opts.AppPassword:
		status = http.StatusUnauthorized
	}
	s.record(r, nil, status)
	if status != http.StatusOK {
		writeJSON(w, status, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
		return
	}
	tok := "fake-connector-token-" + randHex(16)
	s.mu.Lock()
	s.tokens[tok] = true
	s.tokenReq++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": tok})
}

func (s *Server) authed(next func(w http.ResponseWriter, r *http.Request, body []byte) int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		ok := s.tokens[tok]
		s.mu.Unlock()
		if !ok {
			s.record(r, body, http.StatusUnauthorized)
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "Unauthorized", "message": "Authorization has been denied for this request."}})
			return
		}
		s.record(r, body, next(w, r, body))
	}
}

// --- Connector ---

type postedActivity struct {
	Type        string `json:"type"`
	Text        string `json:"text"`
	ReplyToID   string `json:"replyToId"`
	Attachments []struct {
		ContentType string         `json:"contentType"`
		Content     map[string]any `json:"content"`
	} `json:"attachments"`
}

func (s *Server) known(conv string) bool {
	if s.channels[conv] {
		return true
	}
	for _, c := range s.convs {
		if c == conv {
			return true
		}
	}
	return false
}

func (s *Server) send(w http.ResponseWriter, r *http.Request, body []byte) int {
	conv := r.PathValue("conv")
	var a postedActivity
	if err := json.Unmarshal(body, &a); err != nil || a.Type == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "BadArgument", "message": "bad activity"}})
		return http.StatusBadRequest
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.known(conv) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "ConversationNotFound", "message": "Conversation not found."}})
		return http.StatusNotFound
	}
	if q := s.throttle[conv]; len(q) > 0 {
		s.throttle[conv] = q[1:]
		w.Header().Set("Retry-After", strconv.Itoa(int(q[0].Seconds())))
		writeJSON(w, http.StatusTooManyRequests, map[string]any{"error": map[string]string{"code": "ThrottledRequest", "message": "Too many requests."}})
		return http.StatusTooManyRequests
	}
	s.seq++
	id := "1" + strconv.FormatInt(s.opts.Now().UnixMilli(), 10) + fmt.Sprintf("%03d", s.seq%1000)
	m := &Message{ID: id, ConversationID: conv, ReplyToID: r.PathValue("id"), Text: a.Text, Versions: []string{string(body)}}
	if len(a.Attachments) > 0 {
		m.Card = a.Attachments[0].Content
	}
	s.msgs = append(s.msgs, m)
	s.observe(m)
	writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	return http.StatusCreated
}

func (s *Server) find(conv, id string) *Message {
	for _, m := range s.msgs {
		if m.ConversationID == conv && m.ID == id {
			return m
		}
	}
	return nil
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, body []byte) int {
	var a postedActivity
	if err := json.Unmarshal(body, &a); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "BadArgument"}})
		return http.StatusBadRequest
	}
	s.mu.Lock()
	hold := s.holds[r.PathValue("conv")]
	s.mu.Unlock()
	if hold != nil {
		<-hold
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.find(r.PathValue("conv"), r.PathValue("id"))
	if m == nil || m.Deleted {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "ActivityNotFoundInConversation"}})
		return http.StatusNotFound
	}
	if s.refuse[m.ConversationID] > 0 {
		s.refuse[m.ConversationID]--
		writeJSON(w, http.StatusForbidden, map[string]any{"error": map[string]string{"code": "Forbidden", "message": "Refused by the test."}})
		return http.StatusForbidden
	}
	m.Text, m.Card = a.Text, nil
	if len(a.Attachments) > 0 {
		m.Card = a.Attachments[0].Content
	}
	m.Versions = append(m.Versions, string(body))
	s.observe(m)
	writeJSON(w, http.StatusOK, map[string]string{"id": m.ID})
	return http.StatusOK
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, _ []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.find(r.PathValue("conv"), r.PathValue("id"))
	if m == nil || m.Deleted {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "ActivityNotFoundInConversation"}})
		return http.StatusNotFound
	}
	m.Deleted, m.Card, m.Text = true, nil, ""
	w.WriteHeader(http.StatusOK)
	return http.StatusOK
}

func (s *Server) member(w http.ResponseWriter, r *http.Request, _ []byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var u *User
	for _, c := range s.users {
		if c.ID == r.PathValue("id") || c.AADObjectID == r.PathValue("id") {
			u = c
		}
	}
	if u == nil || !s.known(r.PathValue("conv")) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "MemberNotFoundInConversation"}})
		return http.StatusNotFound
	}
	role := "user"
	if u.Guest {
		role = "guest"
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": u.ID, "name": u.Name, "aadObjectId": u.AADObjectID, "objectId": u.AADObjectID,
		"userPrincipalName": u.UPN, "email": u.UPN, "tenantId": u.TenantID, "userRole": role})
	return http.StatusOK
}

func (s *Server) createConversation(w http.ResponseWriter, r *http.Request, body []byte) int {
	var req struct {
		Bot      struct{ ID string }   `json:"bot"`
		Members  []struct{ ID string } `json:"members"`
		TenantID string                `json:"tenantId"`
	}
	_ = json.Unmarshal(body, &req)
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Bot.ID != "28:"+s.opts.AppID || len(req.Members) != 1 || req.TenantID != s.opts.TenantID {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "BadArgument"}})
		return http.StatusBadRequest
	}
	for _, u := range s.users {
		if u.ID == req.Members[0].ID || u.AADObjectID == req.Members[0].ID {
			writeJSON(w, http.StatusCreated, map[string]string{"id": s.personal(u.ID)})
			return http.StatusCreated
		}
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "NotFound"}})
	return http.StatusNotFound
}

// --- delivering activities to the bot ---

// Sign controls the token of a delivered activity; the zero value is a valid token.
type Sign struct {
	None       bool          // no Authorization header
	Expired    bool          // expired ten minutes ago
	Audience   string        // another audience than the bot's app id
	ServiceURL string        // another serviceurl claim than the activity's
	Issuer     string        // another issuer
	OtherKey   bool          // signed with a key the metadata doesn't list
	Age        time.Duration // issued this long ago (still valid unless Expired)
}

func (s *Server) sign(serviceURL string, sg Sign) string {
	now := s.opts.Now()
	aud, iss := s.opts.AppID, Issuer
	if sg.Audience != "" {
		aud = sg.Audience
	}
	if sg.Issuer != "" {
		iss = sg.Issuer
	}
	if sg.ServiceURL != "" {
		serviceURL = sg.ServiceURL
	}
	iat := now.Add(-sg.Age)
	exp := iat.Add(time.Hour)
	if sg.Expired {
		iat, exp = now.Add(-70*time.Minute), now.Add(-10*time.Minute)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"iss": iss, "aud": aud, "exp": exp.Unix(), "nbf": iat.Unix(), "iat": iat.Unix(), "serviceurl": serviceURL,
	})
	tok.Header["kid"] = s.kid
	key := s.key
	if sg.OtherKey {
		key, _ = rsa.GenerateKey(rand.Reader, 2048)
	}
	raw, err := tok.SignedString(key)
	if err != nil {
		panic(err)
	}
	return raw
}

// Response is the bot's answer to a delivered activity.
type Response struct {
	Status     int
	Body       []byte
	ActivityID string
}

// deliveryClient gives up like the Bot Framework does (it waits 15 s for a bot).
var deliveryClient = &http.Client{Timeout: 15 * time.Second}

// Token signs a token for activities from serviceURL, as Post does.
func (s *Server) Token(serviceURL string, sg Sign) string { return s.sign(serviceURL, sg) }

// Post delivers a hand-made activity (JSON) with the token sg describes.
func (s *Server) Post(activity []byte, sg Sign) (Response, error) {
	if sg.None {
		return s.PostWithToken(activity, "")
	}
	var probe struct {
		ServiceURL string `json:"serviceUrl"`
	}
	_ = json.Unmarshal(activity, &probe)
	return s.PostWithToken(activity, s.sign(probe.ServiceURL, sg))
}

// PostWithToken delivers an activity with this bearer token (none when empty).
func (s *Server) PostWithToken(activity []byte, token string) (Response, error) {
	var probe struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(activity, &probe)
	s.mu.Lock()
	endpoint := s.endpoint
	s.last = activity
	s.mu.Unlock()
	req, err := http.NewRequest(http.MethodPost, endpoint, bytes.NewReader(activity))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := deliveryClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return Response{Status: resp.StatusCode, Body: b, ActivityID: probe.ID}, nil
}

// Last is the JSON of the latest activity delivered, for a redelivery.
func (s *Server) Last() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.last)
}

func (s *Server) user(u User) *User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.users[u.ID]; ok {
		return c
	}
	return &u
}

// Activity builds a message activity from u in a conversation (personal
// chat when conversationID is empty).
func (s *Server) Activity(u User, conversationID string) map[string]any {
	u = *s.user(u)
	s.mu.Lock()
	convType := "personal"
	if conversationID == "" {
		conversationID = s.personal(u.ID)
	} else if s.channels[strings.SplitN(conversationID, ";", 2)[0]] {
		convType = "channel"
	}
	s.seq++
	id := "1" + strconv.FormatInt(s.opts.Now().UnixMilli(), 10) + fmt.Sprintf("%03d", s.seq%1000)
	s.mu.Unlock()
	return map[string]any{
		"type": "message", "id": id, "timestamp": s.opts.Now().UTC().Format(time.RFC3339Nano),
		"serviceUrl": s.ServiceURL(), "channelId": "msteams",
		"from":         map[string]any{"id": u.ID, "name": u.Name, "aadObjectId": u.AADObjectID},
		"conversation": map[string]any{"conversationType": convType, "tenantId": u.TenantID, "id": conversationID},
		"recipient":    map[string]any{"id": "28:" + s.opts.AppID, "name": "passcodebot"},
		"locale":       u.Locale, "textFormat": "plain",
		"channelData": map[string]any{"tenant": map[string]any{"id": u.TenantID}},
		"entities":    []any{map[string]any{"type": "clientInfo", "locale": u.Locale, "country": "US", "platform": "Web"}},
	}
}

// Deliver posts an activity built with Activity, with a valid token.
func (s *Server) Deliver(act map[string]any) (Response, error) {
	raw, err := json.Marshal(act)
	if err != nil {
		return Response{}, err
	}
	return s.Post(raw, Sign{})
}

// Say delivers a message the person typed in their personal chat with the bot.
func (s *Server) Say(u User, text string) (Response, error) {
	act := s.Activity(u, "")
	act["text"] = text
	return s.Deliver(act)
}

// SayIn delivers a message the person wrote in another conversation (a channel).
func (s *Server) SayIn(u User, conversationID, text string) (Response, error) {
	act := s.Activity(u, conversationID)
	act["text"] = "<at>passcodebot</at> " + text
	return s.Deliver(act)
}

// Actions are the titles of a card's actions.
func (m Message) Actions() []string {
	var out []string
	acts, _ := m.Card["actions"].([]any)
	for _, a := range acts {
		if am, ok := a.(map[string]any); ok {
			t, _ := am["title"].(string)
			out = append(out, t)
		}
	}
	return out
}

// Action is the card's action with this title, or nil.
func (m Message) Action(title string) map[string]any {
	acts, _ := m.Card["actions"].([]any)
	for _, a := range acts {
		if am, ok := a.(map[string]any); ok && am["title"] == title {
			return am
		}
	}
	return nil
}

// OpenURL is the address of the card's Action.OpenUrl with this title, or ""
// when the card has none. Teams opens it in the browser and tells the bot
// nothing, so there is no Click for it.
func (m Message) OpenURL(title string) string {
	if a := m.Action(title); a != nil && a["type"] == "Action.OpenUrl" {
		u, _ := a["url"].(string)
		return u
	}
	return ""
}

// Texts is every TextBlock of the card, one a line.
func (m Message) Texts() string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "TextBlock" {
				t, _ := x["text"].(string)
				b.WriteString(t + "\n")
			}
			if x["type"] == "FactSet" {
				for _, f := range x["facts"].([]any) {
					fm := f.(map[string]any)
					fmt.Fprintf(&b, "%v: %v\n", fm["title"], fm["value"])
				}
			}
			for _, k := range []string{"body", "items"} {
				if l, ok := x[k].([]any); ok {
					for _, e := range l {
						walk(e)
					}
				}
			}
		}
	}
	walk(m.Card)
	return m.Text + "\n" + b.String()
}

// ChoiceSet is the card's Input.ChoiceSet: its id and (title, value) pairs.
func (m Message) ChoiceSet() (id string, titles, values []string) {
	body, _ := m.Card["body"].([]any)
	for _, e := range body {
		em, ok := e.(map[string]any)
		if !ok || em["type"] != "Input.ChoiceSet" {
			continue
		}
		id, _ = em["id"].(string)
		for _, c := range em["choices"].([]any) {
			cm := c.(map[string]any)
			titles = append(titles, cm["title"].(string))
			values = append(values, cm["value"].(string))
		}
	}
	return id, titles, values
}

// Click presses the card action with this title, as Teams does: an
// Action.Submit arrives as a message whose value is the action's data, an
// Action.Execute as an adaptiveCard/action invoke. inputs are the card's input
// values (id -> value). The click comes from the message's conversation.
func (s *Server) Click(u User, m Message, title string, inputs map[string]string) (Response, error) {
	act := m.Action(title)
	if act == nil {
		return Response{}, fmt.Errorf("teamstest: card has no action %q (it has %q)", title, m.Actions())
	}
	data := map[string]any{}
	if d, ok := act["data"].(map[string]any); ok {
		for k, v := range d {
			data[k] = v
		}
	}
	for k, v := range inputs {
		data[k] = v
	}
	a := s.Activity(u, m.ConversationID)
	a["replyToId"] = m.ID
	switch act["type"] {
	case "Action.Submit":
		a["value"] = data
	case "Action.Execute":
		a["type"], a["name"] = "invoke", "adaptiveCard/action"
		a["value"] = map[string]any{"action": map[string]any{"type": "Action.Execute", "verb": act["verb"], "data": data}, "trigger": "manual"}
	default:
		return Response{}, fmt.Errorf("teamstest: action %q is a %v, not a button", title, act["type"])
	}
	return s.Deliver(a)
}

// Choose picks a choice by its title in the card's choice set and presses submit.
func (s *Server) Choose(u User, m Message, choiceTitle, submit string) (Response, error) {
	id, titles, values := m.ChoiceSet()
	i := slices.Index(titles, choiceTitle)
	if i < 0 {
		return Response{}, fmt.Errorf("teamstest: no choice %q in %q", choiceTitle, titles)
	}
	return s.Click(u, m, submit, map[string]string{id: values[i]})
}
