// Package graphtest is a fake Microsoft Graph (Intune) with its Entra ID token
// endpoint, served over HTTP on loopback so tests drive the real net/http and
// x/oauth2 clients. It speaks Graph's JSON shapes: paged managedDevices with
// @odata.nextLink, resetPasscode, deviceActionResults, Graph error bodies, and
// Entra token responses and errors.
//
// Tests add users and devices, script faults per route, expire tokens, and read
// how many calls each endpoint took.
package graphtest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Defaults for Options.
const (
	DefaultTenantID     = "9e8d7c6b-0000-4000-8000-000000007e57"
	DefaultClientID     = "5e1f6a2b-0000-4000-8000-0000000b0771"
	DefaultClientSecret = "graphtest~client~secret~value"
)

// Application permissions the fake enforces.
const (
	RoleRead       = "DeviceManagementManagedDevices.Read.All"
	RoleReadWrite  = "DeviceManagementManagedDevices.ReadWrite.All"
	RolePrivileged = "DeviceManagementManagedDevices.PrivilegedOperations.All"
	RoleUserBasic  = "User.ReadBasic.All"
	RoleUserRead   = "User.Read.All"
)

// ResetPasscodeType is the @odata.type of a passcode reset's action result.
const ResetPasscodeType = "#microsoft.graph.resetPasscodeActionResult"

// Route names an endpoint, for faults, counts and the request log.
type Route string

const (
	RouteToken  Route = "token"  // POST /{tenant}/oauth2/v2.0/token
	RouteUser   Route = "user"   // GET /{version}/users/{id or upn}
	RouteList   Route = "list"   // GET /{version}/users/{id or upn}/managedDevices
	RouteReset  Route = "reset"  // POST /{version}/deviceManagement/managedDevices/{id}/resetPasscode
	RouteResult Route = "result" // GET /{version}/deviceManagement/managedDevices/{id}
	RouteOther  Route = "other"
)

// Options configure a Server; zero fields take defaults.
type Options struct {
	Clock         clock.Clock   // times tokens and actions; default the wall clock
	TenantID      string        // default DefaultTenantID
	ClientID      string        // default DefaultClientID
	ClientSecret  string        // default DefaultClientSecret
	Roles         []string      // permissions granted to the app; default RoleRead and RolePrivileged
	TokenLifetime time.Duration // expires_in of issued tokens; default one hour
	PageSize      int           // devices per page; default 100
}

// User is a directory user.
type User struct {
	ID          string
	UPN         string
	DisplayName string
}

// Device is a managed device. String fields hold Graph's values (beta enums).
type Device struct {
	ID              string
	Name            string // deviceName
	Model           string
	Manufacturer    string
	OperatingSystem string // "iOS", "Android", "Windows", "macOS"
	OSVersion       string
	OwnerType       string // managedDeviceOwnerType: company, personal, unknown
	EnrollmentType  string // deviceEnrollmentType, e.g. androidEnterpriseFullyManaged
	DeviceType      string // deviceType (beta only), e.g. androidEnterprise, iPhone
	LastSync        time.Time
	// Reset says how a passcode reset of this device plays out.
	Reset Plan
	// Actions are earlier device actions, listed in deviceActionResults.
	Actions []Action
}

// Plan is how a passcode reset ends.
type Plan struct {
	// Outcome is the final actionState: "done" (default), "failed",
	// "notSupported", or "pending" for a reset that never ends.
	Outcome string
	// Passcode is issued on done. Empty: a random one, except on iOS/iPadOS
	// (which get none, like the real service).
	Passcode  string
	ErrorCode int // on failed
	// PendingReads is how many result reads still see "pending" (default 1).
	PendingReads int
	// After, when set, ends the reset once this much time has passed on the
	// server's clock instead of after PendingReads reads.
	After time.Duration
}

// Action is one entry of deviceActionResults.
type Action struct {
	ODataType string // e.g. ResetPasscodeType, "#microsoft.graph.deviceActionResult"
	Name      string // actionName
	State     string // actionState
	Start     time.Time
	Updated   time.Time
	Passcode  string
	ErrorCode int
	// ErrorText, when set, is sent as errorCode instead: a JSON string, as a
	// service that strays from the schema (or a hostile one) would send.
	ErrorText string
}

// Counts are the calls each endpoint took, faulted ones included.
type Counts struct {
	Tokens         int // token requests
	Users          int // directory lookups
	Lists          int // device list pages
	Resets         int // reset requests received
	ResetsAccepted int // resets the fake acted on
	Results        int // action result reads
}

// Graph is the number of Graph calls (token requests not included).
func (c Counts) Graph() int { return c.Users + c.Lists + c.Resets + c.Results }

// Request is one request the server received.
type Request struct {
	Route  Route
	Method string
	Path   string
	Query  string
	Status int // 0 when the server gave no answer (stall, drop)
}

// Fault is a scripted failure; see the constructors.
type Fault struct {
	name       string
	status     int
	code       string
	retryAfter string
	malformed  bool
	accept     bool // reset: act on the reset before failing
	stall      bool
	drop       bool
	foreign    string
}

// Throttle answers 429 TooManyRequests, with Retry-After when retryAfter is
// not empty (seconds or an HTTP date).
func Throttle(retryAfter string) Fault {
	return Fault{name: "throttle", status: http.StatusTooManyRequests, code: "TooManyRequests", retryAfter: retryAfter}
}

// Unavailable answers 503 ServiceUnavailable, with Retry-After when not empty.
func Unavailable(retryAfter string) Fault {
	return Fault{name: "unavailable", status: http.StatusServiceUnavailable, code: "ServiceUnavailable", retryAfter: retryAfter}
}

// Status answers status with a Graph error body carrying code (on the token
// route, an Entra error body whose "error" is code).
func Status(status int, code string) Fault {
	return Fault{name: "status", status: status, code: code}
}

// ExpiredToken answers 401 InvalidAuthenticationToken, whatever the token.
func ExpiredToken() Fault {
	return Fault{name: "expired", status: http.StatusUnauthorized, code: "InvalidAuthenticationToken"}
}

// Malformed answers 200 with the real body cut short by its last byte: the
// JSON is broken after everything it would have carried.
func Malformed() Fault { return Fault{name: "malformed", malformed: true} }

// StallAfterAccept acts on the reset, then sends nothing until the client
// gives up (or the server closes). Each stall is reported on Stalls.
func StallAfterAccept() Fault { return Fault{name: "stall", accept: true, stall: true} }

// DropAfterAccept acts on the reset, then closes the connection unanswered.
func DropAfterAccept() Fault { return Fault{name: "drop-after-accept", accept: true, drop: true} }

// DropBeforeAccept closes the connection unanswered without doing anything.
func DropBeforeAccept() Fault { return Fault{name: "drop", drop: true} }

// GatewayTimeoutAfterAccept acts on the reset, then answers 504.
func GatewayTimeoutAfterAccept() Fault {
	return Fault{name: "504-after-accept", accept: true, status: http.StatusGatewayTimeout, code: "GatewayTimeout"}
}

// ForeignNextLink answers the list page with an @odata.nextLink on base (e.g.
// "https://evil.example") instead of this server.
func ForeignNextLink(base string) Fault { return Fault{name: "foreign-next-link", foreign: base} }

type tokenInfo struct {
	expires time.Time
	roles   []string
}

type device struct {
	Device
	user       *User
	actions    []Action
	accepted   int
	current    int // index in actions of the reset in progress; -1 when none
	readsSince int
}

// Server is the fake. It is safe for concurrent use.
type Server struct {
	// URL is the base of both Graph and the login authority, e.g.
	// http://127.0.0.1:41234: configure it as graph_url and login_url.
	URL          string
	TenantID     string
	ClientID     string
	ClientSecret string

	hs      *httptest.Server
	clock   clock.Clock
	closing chan struct{}
	stalls  chan string
	once    sync.Once

	mu       sync.Mutex
	roles    []string
	lifetime time.Duration
	pageSize int
	users    []*User
	devices  []*device // in insertion order
	// Indexes, by lower-cased key; the first one added wins, as a scan would find it.
	userIdx   map[string]*User
	deviceIdx map[string]*device
	owned     map[*User][]*device // devices by primary user, in insertion order
	tokens    map[string]tokenInfo
	issued    []string
	faults    map[Route][]Fault
	counts    Counts
	log       []Request
}

// New starts a server on loopback. Close it when done.
func New(opts Options) *Server {
	s := &Server{
		TenantID: opts.TenantID, ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
		clock: opts.Clock, roles: slices.Clone(opts.Roles), lifetime: opts.TokenLifetime, pageSize: opts.PageSize,
		closing: make(chan struct{}), stalls: make(chan string, 64),
		tokens: map[string]tokenInfo{}, faults: map[Route][]Fault{},
		userIdx: map[string]*User{}, deviceIdx: map[string]*device{}, owned: map[*User][]*device{},
	}
	if s.TenantID == "" {
		s.TenantID = DefaultTenantID
	}
	if s.ClientID == "" {
		s.ClientID = DefaultClientID
	}
	if s.ClientSecret == "" {
		s.ClientSecret = DefaultClientSecret
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.roles == nil {
		s.roles = []string{RoleRead, RolePrivileged}
	}
	if s.lifetime <= 0 {
		s.lifetime = time.Hour
	}
	if s.pageSize <= 0 {
		s.pageSize = 100
	}
	s.hs = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.hs.URL
	return s
}

// Close stops the server, releasing stalled requests.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closing) })
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// AddUser adds a user with devices; the devices' primary user is u.
func (s *Server) AddUser(u User, devices ...Device) {
	s.mu.Lock()
	defer s.mu.Unlock()
	uu := u
	s.users = append(s.users, &uu)
	for _, k := range []string{uu.ID, uu.UPN} {
		if k := strings.ToLower(k); k != "" && s.userIdx[k] == nil {
			s.userIdx[k] = &uu
		}
	}
	for _, d := range devices {
		dd := &device{Device: d, user: &uu, actions: slices.Clone(d.Actions), current: -1}
		s.devices = append(s.devices, dd)
		s.owned[&uu] = append(s.owned[&uu], dd)
		if k := strings.ToLower(d.ID); s.deviceIdx[k] == nil {
			s.deviceIdx[k] = dd
		}
	}
}

// SetRoles sets the permissions carried by tokens issued from now on.
func (s *Server) SetRoles(roles ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roles = slices.Clone(roles)
}

// ExpireTokens makes every issued token invalid, as if it had expired or been
// revoked: Graph answers 401 until the client fetches a new one.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Tokens returns every access token issued, for checking that none leaks.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.issued)
}

// Fail queues faults for route: each of the next requests to it takes one, in order.
func (s *Server) Fail(route Route, faults ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[route] = append(s.faults[route], faults...)
}

// Counts returns the calls so far.
func (s *Server) Counts() Counts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts
}

// Requests returns the requests so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log)
}

// Stalls receives a device id each time a StallAfterAccept fault starts holding a request.
func (s *Server) Stalls() <-chan string { return s.stalls }

// ResetsAccepted counts the resets the fake acted on for a device.
func (s *Server) ResetsAccepted(deviceID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.device(deviceID); d != nil {
		return d.accepted
	}
	return 0
}

// Actions returns a device's deviceActionResults as they stand.
func (s *Server) Actions(deviceID string) []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.device(deviceID); d != nil {
		return slices.Clone(d.actions)
	}
	return nil
}

func (s *Server) device(id string) *device {
	return s.deviceIdx[strings.ToLower(id)]
}

func (s *Server) user(key string) *User {
	if key == "" {
		return nil
	}
	return s.userIdx[strings.ToLower(key)]
}

// answer is what a handler decided, written after the lock is released.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	route, segs := classify(r)
	s.mu.Lock()
	idx := len(s.log)
	s.log = append(s.log, Request{Route: route, Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery})
	var a answer
	var f *Fault
	if route == RouteToken {
		s.counts.Tokens++
		f = s.takeFault(route)
		a = s.token(r, segs, f)
	} else {
		a, f = s.graph(r, route, segs)
	}
	if f != nil && (f.stall || f.drop) {
		s.mu.Unlock()
		if f.drop {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					_ = conn.Close()
				}
			}
			return
		}
		select {
		case s.stalls <- deviceSeg(segs):
		default:
		}
		select {
		case <-r.Context().Done():
		case <-s.closing:
		}
		return
	}
	if f != nil && f.malformed && a.status == http.StatusOK && len(a.body) > 1 {
		a.body = a.body[:len(a.body)-1]
	}
	s.log[idx].Status = a.status
	s.mu.Unlock()

	for k, v := range a.header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

func deviceSeg(segs []string) string {
	if len(segs) >= 4 {
		return segs[3]
	}
	return ""
}

// classify names the route of r; segs are the unescaped path segments.
func classify(r *http.Request) (Route, []string) {
	var segs []string
	for _, p := range strings.Split(strings.Trim(r.URL.EscapedPath(), "/"), "/") {
		u, err := url.PathUnescape(p)
		if err != nil {
			u = p
		}
		segs = append(segs, u)
	}
	switch {
	case len(segs) == 4 && segs[1] == "oauth2" && segs[2] == "v2.0" && segs[3] == "token":
		return RouteToken, segs
	case len(segs) == 3 && segs[1] == "users":
		return RouteUser, segs
	case len(segs) == 4 && segs[1] == "users" && segs[3] == "managedDevices":
		return RouteList, segs
	case len(segs) == 4 && segs[1] == "deviceManagement" && segs[2] == "managedDevices":
		return RouteResult, segs
	case len(segs) == 5 && segs[1] == "deviceManagement" && segs[2] == "managedDevices" && segs[4] == "resetPasscode":
		return RouteReset, segs
	}
	return RouteOther, segs
}

func (s *Server) takeFault(route Route) *Fault {
	q := s.faults[route]
	if len(q) == 0 {
		return nil
	}
	f := q[0]
	s.faults[route] = q[1:]
	return &f
}

// token serves the Entra ID v2.0 token endpoint for client credentials.
func (s *Server) token(r *http.Request, segs []string, f *Fault) answer {
	if f != nil && f.status != 0 {
		return s.aadError(f.status, f.code, "AADSTS50000", "Scripted failure.", f.retryAfter)
	}
	if r.Method != http.MethodPost {
		return s.aadError(http.StatusMethodNotAllowed, "invalid_request", "AADSTS900561", "The endpoint only accepts POST requests.", "")
	}
	if err := r.ParseForm(); err != nil {
		return s.aadError(http.StatusBadRequest, "invalid_request", "AADSTS900144", "The request body must contain the following parameter: 'grant_type'.", "")
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	scope := r.PostForm.Get("scope")
	switch {
	case !strings.EqualFold(segs[0], s.TenantID):
		return s.aadError(http.StatusBadRequest, "invalid_request", "AADSTS90002", fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", segs[0]), "")
	case r.PostForm.Get("grant_type") != "client_credentials":
		return s.aadError(http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003", "The app requested an unsupported grant type.", "")
	case id != s.ClientID:
		return s.aadError(http.StatusBadRequest, "unauthorized_client", "AADSTS700016", fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", id, s.TenantID), "")
	case secret != s.ClientSecret:
		return s.aadError(http.StatusUnauthorized, "invalid_client", "AADSTS7000215", "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '"+s.ClientID+"'.", "")
	case !strings.HasSuffix(scope, "/.default") || strings.Contains(strings.TrimSpace(scope), " "):
		return s.aadError(http.StatusBadRequest, "invalid_scope", "AADSTS1002012", fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", scope), "")
	}
	now := s.clock.Now()
	tok := s.newToken(now, strings.TrimSuffix(scope, "/.default"))
	s.tokens[tok] = tokenInfo{expires: now.Add(s.lifetime), roles: slices.Clone(s.roles)}
	s.issued = append(s.issued, tok)
	secs := int(s.lifetime / time.Second)
	return jsonAnswer(http.StatusOK, nil, map[string]any{
		"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok,
	})
}

// newToken makes a JWT-shaped access token (unsigned: nobody verifies it here)
// whose claims say what the app may do, like a real app-only Graph token.
func (s *Server) newToken(now time.Time, audience string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	header := enc(map[string]any{"typ": "JWT", "alg": "none"})
	claims := enc(map[string]any{
		"aud": audience, "iss": "https://sts.windows.net/" + s.TenantID + "/",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(s.lifetime).Unix(),
		"appid": s.ClientID, "tid": s.TenantID, "idtyp": "app", "oid": newID(),
		"roles": slices.Clone(s.roles), "uti": randomString(16),
	})
	return header + "." + claims + "." + randomString(32)
}

func (s *Server) aadError(status int, code, aadsts, text, retryAfter string) answer {
	now := s.clock.Now().UTC()
	n, _ := strconv.Atoi(strings.TrimPrefix(aadsts, "AADSTS"))
	h := http.Header{}
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	trace, corr := newID(), newID()
	return jsonAnswer(status, h, map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("%s: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, text, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{n},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + strconv.Itoa(n),
	})
}

// graph serves the Graph routes. It returns the fault it applied, if any.
func (s *Server) graph(r *http.Request, route Route, segs []string) (answer, *Fault) {
	switch route {
	case RouteUser:
		s.counts.Users++
	case RouteList:
		s.counts.Lists++
	case RouteReset:
		s.counts.Resets++
	case RouteResult:
		s.counts.Results++
	}
	crid := r.Header.Get("client-request-id")
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	info, known := s.tokens[tok]
	if !ok || tok == "" {
		return s.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.", "", crid), nil
	}
	if !known || !s.clock.Now().Before(info.expires) {
		return s.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.", "", crid), nil
	}
	if route == RouteOther || segs[0] != "v1.0" && segs[0] != "beta" {
		return s.graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Resource not found for the segment '%s'.", segs[len(segs)-1]), "", crid), nil
	}
	wantMethod := http.MethodGet
	if route == RouteReset {
		wantMethod = http.MethodPost
	}
	if r.Method != wantMethod {
		return s.graphError(http.StatusMethodNotAllowed, "BadRequest", "The HTTP method '"+r.Method+"' is not allowed.", "", crid), nil
	}
	if need := requiredRoles(route); !slices.ContainsFunc(need, func(p string) bool { return slices.Contains(info.roles, p) }) {
		if route == RouteUser {
			return s.graphError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", "", crid), nil
		}
		return s.graphError(http.StatusForbidden, "Forbidden", "Application is not authorized to perform this operation. Application must have one of the following scopes: "+strings.Join(need, ", ")+" - Operation ID (for customer support): "+newID(), "", crid), nil
	}

	f := s.takeFault(route)
	if f != nil && f.drop && !f.accept {
		return answer{}, f
	}
	if f != nil && f.status != 0 && !f.accept {
		return s.graphError(f.status, f.code, faultMessage(f), f.retryAfter, crid), f
	}
	version := segs[0]
	var a answer
	switch route {
	case RouteUser:
		a = s.getUser(r, version, segs[2], crid)
	case RouteList:
		a = s.list(r, version, segs[2], crid, f)
	case RouteResult:
		a = s.result(r, version, segs[3], crid)
	case RouteReset:
		a = s.reset(segs[3], crid)
		if f != nil && f.accept && a.status == http.StatusNoContent && f.status != 0 {
			a = s.graphError(f.status, f.code, faultMessage(f), f.retryAfter, crid)
		}
		if f != nil && a.status != http.StatusNoContent {
			if f.stall || f.drop {
				f = nil // nothing to accept: answer the error
			}
		}
	}
	return a, f
}

func requiredRoles(route Route) []string {
	switch route {
	case RouteUser:
		return []string{RoleUserBasic, RoleUserRead, "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	case RouteReset:
		return []string{RolePrivileged}
	}
	return []string{RoleRead, RoleReadWrite}
}

func faultMessage(f *Fault) string {
	switch f.status {
	case http.StatusTooManyRequests:
		return "Too many requests. Please try again later."
	case http.StatusServiceUnavailable:
		return "The service is temporarily unavailable. Please try again later."
	case http.StatusGatewayTimeout:
		return "The gateway did not receive a response in time."
	case http.StatusUnauthorized:
		return "Access token has expired or is not yet valid."
	}
	return "Scripted failure (" + http.StatusText(f.status) + ")."
}

// graphError writes Graph's error shape with its request-id headers.
func (s *Server) graphError(status int, code, message, retryAfter, crid string) answer {
	rid := newID()
	h := graphHeader(rid, crid)
	if retryAfter != "" {
		h.Set("Retry-After", retryAfter)
	}
	return jsonAnswer(status, h, map[string]any{"error": map[string]any{
		"code": code, "message": message,
		"innerError": map[string]any{
			"date": s.clock.Now().UTC().Format("2006-01-02T15:04:05"), "request-id": rid, "client-request-id": crid,
		},
	}})
}

func graphHeader(rid, crid string) http.Header {
	h := http.Header{}
	h.Set("request-id", rid)
	if crid != "" {
		h.Set("client-request-id", crid)
	}
	return h
}

func jsonAnswer(status int, h http.Header, v any) answer {
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	b, _ := json.Marshal(v)
	return answer{status: status, header: h, body: b}
}

// v10Enrollment holds the deviceEnrollmentType members that v1.0 knows;
// others read as "unknown" there.
var v10Enrollment = []string{"unknown", "userEnrollment", "deviceEnrollmentManager", "appleBulkWithUser", "appleBulkWithoutUser",
	"windowsAzureADJoin", "windowsBulkUserless", "windowsAutoEnrollment", "windowsBulkAzureDomainJoin", "windowsCoManagement",
	"windowsAzureADJoinUsingDeviceAuth", "appleUserEnrollment", "appleUserEnrollmentWithServiceAccount"}

func graphTime(t time.Time) string {
	if t.IsZero() {
		return "0001-01-01T00:00:00Z"
	}
	return t.UTC().Format("2006-01-02T15:04:05.0000000Z")
}

func (d *device) props(version string) map[string]any {
	enroll := d.EnrollmentType
	if enroll == "" {
		enroll = "unknown"
	}
	if version == "v1.0" && !slices.Contains(v10Enrollment, enroll) {
		enroll = "unknown"
	}
	owner := d.OwnerType
	if owner == "" {
		owner = "unknown"
	}
	results := []map[string]any{}
	for _, a := range d.actions {
		m := map[string]any{
			"@odata.type": a.ODataType, "actionName": a.Name, "actionState": a.State,
			"startDateTime": graphTime(a.Start), "lastUpdatedDateTime": graphTime(a.Updated),
		}
		if a.ODataType == ResetPasscodeType {
			if version == "beta" {
				var pc any
				if a.Passcode != "" {
					pc = a.Passcode
				}
				m["passcode"] = pc
				m["errorCode"] = a.ErrorCode
				if a.ErrorText != "" {
					m["errorCode"] = a.ErrorText
				}
			} else {
				m["@odata.type"] = "#microsoft.graph.deviceActionResult"
			}
		}
		results = append(results, m)
	}
	m := map[string]any{
		"id": d.ID, "userId": d.user.ID, "userPrincipalName": d.user.UPN, "userDisplayName": d.user.DisplayName,
		"deviceName": d.Name, "model": d.Model, "manufacturer": d.Manufacturer,
		"operatingSystem": d.OperatingSystem, "osVersion": d.OSVersion, "managedDeviceOwnerType": owner,
		"lastSyncDateTime": graphTime(d.LastSync), "deviceEnrollmentType": enroll,
		"emailAddress": d.user.UPN, "deviceActionResults": results,
	}
	if version == "beta" {
		dt := d.DeviceType
		if dt == "" {
			dt = "unknown"
		}
		m["deviceType"] = dt
	}
	return m
}

// project applies $select; ok is false with the property Graph would name.
func project(m map[string]any, sel string) (map[string]any, string, bool) {
	if sel == "" {
		return m, "", true
	}
	out := map[string]any{}
	for _, f := range strings.Split(sel, ",") {
		f = strings.TrimSpace(f)
		v, ok := m[f]
		if !ok {
			return nil, f, false
		}
		out[f] = v
	}
	return out, "", true
}

func (s *Server) getUser(r *http.Request, version, key, crid string) answer {
	u := s.user(key)
	if u == nil {
		return s.graphError(http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key), "", crid)
	}
	sel := r.URL.Query().Get("$select")
	m, bad, ok := project(map[string]any{"id": u.ID, "userPrincipalName": u.UPN, "displayName": u.DisplayName, "mail": u.UPN}, sel)
	if !ok {
		return s.graphError(http.StatusBadRequest, "Request_BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.user'.", bad), "", crid)
	}
	m["@odata.context"] = s.URL + "/" + version + "/$metadata#users(" + sel + ")/$entity"
	return jsonAnswer(http.StatusOK, graphHeader(newID(), crid), m)
}

func (s *Server) list(r *http.Request, version, key, crid string, f *Fault) answer {
	u := s.user(key)
	if u == nil {
		return s.graphError(http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", key), "", crid)
	}
	q := r.URL.Query()
	sel := q.Get("$select")
	size := s.pageSize
	if top, err := strconv.Atoi(q.Get("$top")); err == nil && top > 0 && top < size {
		size = top
	}
	offset := 0
	if tok := q.Get("$skiptoken"); tok != "" {
		raw, err := base64.RawURLEncoding.DecodeString(tok)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "o="))
		if err != nil || err2 != nil || n < 0 {
			return s.graphError(http.StatusBadRequest, "BadRequest", "The skip token is invalid.", "", crid)
		}
		offset = n
	}
	mine := s.owned[u]
	value := []map[string]any{}
	for i := offset; i < len(mine) && i < offset+size; i++ {
		m, bad, ok := project(mine[i].props(version), sel)
		if !ok {
			return s.graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.managedDevice'.", bad), "", crid)
		}
		value = append(value, m)
	}
	// Validate $select even on an empty page, as Graph does.
	if len(mine) == 0 && sel != "" {
		probe := &device{Device: Device{}, user: u, current: -1}
		if _, bad, ok := project(probe.props(version), sel); !ok {
			return s.graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.managedDevice'.", bad), "", crid)
		}
	}
	body := map[string]any{
		"@odata.context": s.URL + "/" + version + "/$metadata#users('" + url.PathEscape(key) + "')/managedDevices(" + sel + ")",
		"value":          value,
	}
	next := ""
	if offset+size < len(mine) {
		nq := url.Values{}
		for k, v := range q {
			if k != "$skiptoken" {
				nq[k] = v
			}
		}
		nq.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte("o="+strconv.Itoa(offset+size))))
		next = s.URL + r.URL.EscapedPath() + "?" + odataQuery(nq)
	}
	if f != nil && f.foreign != "" {
		if next == "" {
			next = s.URL + r.URL.EscapedPath() + "?" + r.URL.RawQuery
		}
		next = strings.TrimRight(f.foreign, "/") + strings.TrimPrefix(next, s.URL)
	}
	if next != "" {
		body["@odata.nextLink"] = next
	}
	return jsonAnswer(http.StatusOK, graphHeader(newID(), crid), body)
}

// odataQuery encodes q as Graph writes its links: $ and commas stay literal.
func odataQuery(q url.Values) string {
	keys := slices.Sorted(maps.Keys(q))
	var parts []string
	for _, k := range keys {
		for _, v := range q[k] {
			parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "%2C", ","))
		}
	}
	return strings.Join(parts, "&")
}

func (s *Server) notFoundDevice(id, crid string) answer {
	return s.graphError(http.StatusNotFound, "ResourceNotFound",
		`{"_version": 3, "Message": "An error has occurred - Operation ID (for customer support): `+newID()+` - Activity ID: `+crid+` - Url: https://fef.msua06.manage.microsoft.com/DeviceFE/StatelessDeviceFEService/deviceManagement/managedDevices('`+id+`')", "CustomApiErrorPhrase": "", "RetryAfter": null, "ErrorSourceService": "", "HttpHeaders": "{}"}`,
		"", crid)
}

// reset acts on a reset request: a pending resetPasscodeActionResult replaces
// the device's previous one.
func (s *Server) reset(id, crid string) answer {
	d := s.device(id)
	if d == nil {
		return s.notFoundDevice(id, crid)
	}
	now := s.clock.Now()
	a := Action{ODataType: ResetPasscodeType, Name: "resetPasscode", State: "pending", Start: now, Updated: now}
	d.actions = slices.DeleteFunc(d.actions, func(x Action) bool { return x.ODataType == ResetPasscodeType })
	d.actions = append(d.actions, a)
	d.current = len(d.actions) - 1
	d.readsSince = 0
	d.accepted++
	s.counts.ResetsAccepted++
	return answer{status: http.StatusNoContent, header: graphHeader(newID(), crid)}
}

// result serves GET managedDevices/{id}, moving a reset in progress along.
func (s *Server) result(r *http.Request, version, id, crid string) answer {
	d := s.device(id)
	if d == nil {
		return s.notFoundDevice(id, crid)
	}
	if d.current >= 0 {
		d.readsSince++
		s.advance(d)
	}
	sel := r.URL.Query().Get("$select")
	m, bad, ok := project(d.props(version), sel)
	if !ok {
		return s.graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.managedDevice'.", bad), "", crid)
	}
	m["@odata.context"] = s.URL + "/" + version + "/$metadata#deviceManagement/managedDevices(" + sel + ")/$entity"
	return jsonAnswer(http.StatusOK, graphHeader(newID(), crid), m)
}

// advance ends the reset in progress when its plan says so.
func (s *Server) advance(d *device) {
	a := &d.actions[d.current]
	p := d.Reset
	outcome := p.Outcome
	if outcome == "" {
		outcome = "done"
	}
	if outcome == "pending" {
		return
	}
	now := s.clock.Now()
	if p.After > 0 {
		if now.Before(a.Start.Add(p.After)) {
			return
		}
	} else {
		reads := p.PendingReads
		if reads == 0 {
			reads = 1
		}
		if d.readsSince <= reads {
			return
		}
	}
	a.State, a.Updated = outcome, now
	switch outcome {
	case "done":
		a.Passcode = p.Passcode
		if a.Passcode == "" && !isApple(d.OperatingSystem) {
			a.Passcode = passcode(8)
		}
	case "failed":
		a.ErrorCode = p.ErrorCode
	}
	d.current = -1
}

func isApple(osName string) bool {
	switch strings.ToLower(osName) {
	case "ios", "ipados":
		return true
	}
	return false
}

const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"

func passcode(n int) string {
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(alnum))))
		b[i] = alnum[k.Int64()]
	}
	return string(b)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
