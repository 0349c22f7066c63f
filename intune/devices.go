package intune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unique"

	"github.com/passcodebot/passcodebot/resetflow"
)

// listFields are the managedDevice properties the engine needs. deviceType
// exists only in beta; v1.0 rejects a $select that names it.
const listFields = "id,userId,userPrincipalName,deviceName,model,manufacturer,operatingSystem,osVersion," +
	"managedDeviceOwnerType,lastSyncDateTime,deviceEnrollmentType"

// preferEnums asks Graph for enum members added after unknownFutureValue,
// which it otherwise hides.
const preferEnums = "include-unknown-enum-members"

type graphDevice struct {
	ID                     string `json:"id"`
	UserID                 string `json:"userId"`
	UserPrincipalName      string `json:"userPrincipalName"`
	UserDisplayName        string `json:"userDisplayName"`
	DeviceName             string `json:"deviceName"`
	Model                  string `json:"model"`
	Manufacturer           string `json:"manufacturer"`
	OperatingSystem        string `json:"operatingSystem"`
	OSVersion              string `json:"osVersion"`
	ManagedDeviceOwnerType string `json:"managedDeviceOwnerType"`
	LastSyncDateTime       string `json:"lastSyncDateTime"`
	DeviceEnrollmentType   string `json:"deviceEnrollmentType"`
	DeviceType             string `json:"deviceType"`
}

func (g graphDevice) device() resetflow.Device {
	return resetflow.Device{
		ID: g.ID, UserID: g.UserID, UserUPN: g.UserPrincipalName, Name: g.DeviceName,
		Model: g.Model, Maker: g.Manufacturer, OS: g.OperatingSystem, OSVersion: g.OSVersion,
		Mode:     modeOf(g.OperatingSystem, g.OSVersion, g.DeviceEnrollmentType, g.DeviceType),
		Owner:    ownerOf(g.ManagedDeviceOwnerType),
		LastSync: parseTime(g.LastSyncDateTime),
	}
}

// share makes d's strings share memory where they can: a conversation keeps
// its device list while the person picks (issue 8: 10,000 conversations held
// at most 2 KiB of heap each). The primary user's id and UPN are u's own when
// equal; maker, model and OS, which a fleet repeats, are canonical copies
// (package unique: kept only while something uses them).
func share(d *resetflow.Device, u resetflow.User) {
	if d.UserID == u.ID {
		d.UserID = u.ID
	}
	if d.UserUPN == u.UPN {
		d.UserUPN = u.UPN
	}
	for _, f := range []*string{&d.Maker, &d.Model, &d.OS, &d.OSVersion} {
		if len(*f) <= 64 {
			*f = unique.Make(*f).Value()
		}
	}
}

// ListDevices returns the managed devices of u (by object id, else by UPN),
// following every page. It reads the beta version: the Android Enterprise
// enrollment modes and deviceType exist only there.
func (c *Client) ListDevices(ctx context.Context, u resetflow.User) ([]resetflow.Device, error) {
	const op = "intune list devices"
	who := u.ID
	if who == "" {
		who = strings.TrimSpace(u.UPN)
	}
	if who == "" {
		return nil, &resetflow.Error{Kind: resetflow.KindBadRequest, Op: op, Err: errors.New("user has neither id nor UPN")}
	}
	beta := c.cfg.BetaVersion == "beta"
	fields := listFields
	if beta {
		fields += ",deviceType"
	}
	first := c.endpoint(c.cfg.BetaVersion, "users", who, "managedDevices") + "?$select=" + fields
	devices := []resetflow.Device{}
	err := eachPage(ctx, c, op, first, preferEnums, func(items []graphDevice) bool {
		for _, g := range items {
			if g.ID == "" {
				continue
			}
			d := g.device()
			share(&d, u)
			if !beta && d.Mode == resetflow.ModeAndroidDeviceAdmin {
				// v1.0 names no Android Enterprise mode, so "device
				// administrator" would be a guess: say unknown instead.
				d.Mode = resetflow.ModeUnknown
			}
			devices = append(devices, d)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return devices, nil
}

// LookupUser maps a chat email to a directory user.
//
// The engine keys its daily reset limit and its one-reset-per-user lock on
// User.ID, so an empty id is not good enough: every such user would share one
// counter. Two ways to get the id, chosen by Config.UserLookup:
//
//   - "upn" (default): the email is taken to be the UPN, with no Graph call.
//     The engine keys its per-person state by the UPN then, and matches the
//     sign-in against the devices' userId. It needs no permission beyond the
//     two Intune ones, and keeps a reset to a single device list.
//   - "directory": GET /users/{upn}?$select=id,userPrincipalName,displayName,
//     one small read that also needs User.ReadBasic.All. It tells an unknown
//     user (KindNotFound) from a user without devices.
func (c *Client) LookupUser(ctx context.Context, email string) (resetflow.User, error) {
	const op = "intune lookup user"
	upn := strings.TrimSpace(email)
	if upn == "" {
		return resetflow.User{}, &resetflow.Error{Kind: resetflow.KindNotFound, Op: op, Err: errors.New("no email")}
	}
	if c.cfg.UserLookup == LookupDirectory {
		resp, err := c.do(ctx, request{op: op, method: http.MethodGet,
			url: c.endpoint(c.cfg.APIVersion, "users", upn) + "?$select=id,userPrincipalName,displayName"})
		if err != nil {
			return resetflow.User{}, err
		}
		var u struct {
			ID                string `json:"id"`
			UserPrincipalName string `json:"userPrincipalName"`
			DisplayName       string `json:"displayName"`
		}
		if err := decode(op, resp, &u); err != nil {
			return resetflow.User{}, err
		}
		if u.ID == "" {
			return resetflow.User{}, &resetflow.Error{Kind: resetflow.KindUnavailable, Op: op, Code: "MalformedResponse", RequestID: resp.requestID, Err: errors.New("user without id")}
		}
		if u.UserPrincipalName == "" {
			u.UserPrincipalName = upn
		}
		return resetflow.User{ID: u.ID, UPN: u.UserPrincipalName, DisplayName: u.DisplayName}, nil
	}

	// No call: the device list the engine asks for next carries the object id
	// (userId) that sign-ins are matched against, so one list serves both.
	return resetflow.User{UPN: upn}, nil
}

// ResetPasscode asks Graph to reset the device's passcode, once.
//
// Graph answers 204 when it has accepted the action. A 429 or 503 comes before
// acceptance and is retried; anything that leaves the request's fate unknown
// (timeout or dropped connection after sending, 500/502/504) is never retried.
// The device's action state is read instead: a reset that started since this
// call began (less Config.ClockSkew) means the request was accepted. Otherwise
// the error has kind resetflow.KindAmbiguous and the engine polls the result
// rather than asking again.
func (c *Client) ResetPasscode(ctx context.Context, d resetflow.Device) error {
	const op = "intune reset passcode"
	if d.ID == "" {
		return &resetflow.Error{Kind: resetflow.KindBadRequest, Op: op, Err: errors.New("device without id")}
	}
	began := c.clock.Now()
	_, err := c.do(ctx, request{op: op, method: http.MethodPost, write: true,
		url: c.endpoint(c.cfg.APIVersion, "deviceManagement", "managedDevices", d.ID, "resetPasscode")})
	var lost *maybeSentError
	if !errors.As(err, &lost) {
		return err
	}
	res, rerr := c.ResetResult(ctx, d)
	if rerr == nil && started(res, began.Add(-c.cfg.ClockSkew)) {
		c.log.Warn("reset request's answer was lost, but Graph shows the reset started",
			"device", d.ID, "state", string(res.State), "cause", lost.err)
		return nil
	}
	why := "no reset started since the request"
	if rerr != nil {
		why = "reading the action state failed: " + rerr.Error()
	}
	return &resetflow.Error{
		Kind: resetflow.KindAmbiguous, Op: op, Code: lost.err.Code, RequestID: lost.err.RequestID,
		Err: fmt.Errorf("the request may have reached Graph (%v); %s", lost.err, why),
	}
}

// started reports whether res is a reset that began at or after since.
func started(res resetflow.ActionResult, since time.Time) bool {
	switch res.State {
	case resetflow.ActionPending, resetflow.ActionActive, resetflow.ActionDone, resetflow.ActionFailed, resetflow.ActionNotSupported:
		return !res.Started.IsZero() && !res.Started.Before(since)
	}
	return false
}

// resetResultType is the @odata.type of a passcode reset's action result.
// Entries are matched on it, not on actionName.
const resetResultType = "#microsoft.graph.resetPasscodeActionResult"

type graphActionResult struct {
	ODataType           string          `json:"@odata.type"`
	ActionName          string          `json:"actionName"`
	ActionState         string          `json:"actionState"`
	StartDateTime       string          `json:"startDateTime"`
	LastUpdatedDateTime string          `json:"lastUpdatedDateTime"`
	Passcode            string          `json:"passcode"`
	ErrorCode           json.RawMessage `json:"errorCode"` // Int32 in the schema; a string is accepted too
}

// ResetResult reads the latest passcode reset of the device, once (the engine
// polls). It reads the beta version: only there does the result carry the
// temporary passcode. A device with no reset yet gives state "none".
func (c *Client) ResetResult(ctx context.Context, d resetflow.Device) (resetflow.ActionResult, error) {
	const op = "intune reset result"
	if d.ID == "" {
		return resetflow.ActionResult{}, &resetflow.Error{Kind: resetflow.KindBadRequest, Op: op, Err: errors.New("device without id")}
	}
	resp, err := c.do(ctx, request{op: op, method: http.MethodGet,
		url: c.endpoint(c.cfg.BetaVersion, "deviceManagement", "managedDevices", d.ID) + "?$select=deviceActionResults"})
	if err != nil {
		return resetflow.ActionResult{}, err
	}
	var body struct {
		Results []graphActionResult `json:"deviceActionResults"`
	}
	if err := decode(op, resp, &body); err != nil {
		return resetflow.ActionResult{}, err
	}
	var (
		latest *graphActionResult
		at     time.Time
	)
	for i := range body.Results {
		r := &body.Results[i]
		if !strings.EqualFold(strings.TrimPrefix(r.ODataType, "#"), strings.TrimPrefix(resetResultType, "#")) {
			continue
		}
		if t := parseTime(r.StartDateTime); latest == nil || t.After(at) {
			latest, at = r, t
		}
	}
	if latest == nil {
		return resetflow.ActionResult{State: resetflow.ActionNone}, nil
	}
	res := resetflow.ActionResult{
		State:     actionState(latest.ActionState),
		ErrorCode: errorCode(latest.ErrorCode),
		Started:   at,
		Updated:   parseTime(latest.LastUpdatedDateTime),
	}
	if latest.Passcode != "" {
		res.Passcode = resetflow.NewSecret("", latest.Passcode)
	}
	return res, nil
}

func actionState(s string) resetflow.ActionState {
	for _, st := range []resetflow.ActionState{
		resetflow.ActionNone, resetflow.ActionPending, resetflow.ActionCanceled, resetflow.ActionActive,
		resetflow.ActionDone, resetflow.ActionFailed, resetflow.ActionNotSupported,
	} {
		if strings.EqualFold(s, string(st)) {
			return st
		}
	}
	if s == "" {
		return resetflow.ActionNone
	}
	return resetflow.ActionState(cleanCode(s)) // not final: the engine keeps polling until its timeout
}

// errorCode renders Graph's errorCode; 0 and null mean no error.
func errorCode(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		if n == "0" {
			return ""
		}
		return cleanCode(n.String())
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if s == "0" {
			return ""
		}
		return cleanCode(s)
	}
	return "unreadable"
}

// parseTime reads Graph's DateTimeOffset; the zero time for empty, unparsable
// or the 0001-01-01 placeholder.
func parseTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
