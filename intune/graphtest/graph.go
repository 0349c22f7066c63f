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
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
