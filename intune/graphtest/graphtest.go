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
	"net/http"
	"net/http/httptest"
	"slices"
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
