package graphtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// These tests pin the wire shapes that other packages' tests rely on, with a
// bare net/http client.

func post(t *testing.T, u string, form url.Values) (int, map[string]any) {
	t.Helper()
	res, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	return decodeBody(t, res)
}

func get(t *testing.T, u, token string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return decodeBody(t, res)
}

func decodeBody(t *testing.T, res *http.Response) (int, map[string]any) {
	t.Helper()
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("HTTP %d body is not JSON: %q", res.StatusCode, b)
		}
	}
	return res.StatusCode, m
}

func TestWireShapes(t *testing.T) {
	s := New(Options{PageSize: 1})
	defer s.Close()
	s.AddUser(User{ID: "u1", UPN: "u1@example.com"},
		Device{ID: "d1", OperatingSystem: "Android", EnrollmentType: "androidEnterpriseFullyManaged", DeviceType: "androidEnterprise"},
		Device{ID: "d2", OperatingSystem: "iOS"})

	status, tok := post(t, s.URL+"/"+s.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if status != 200 || tok["token_type"] != "Bearer" || tok["expires_in"] == nil || tok["access_token"] == "" {
		t.Fatalf("token answer %d %v", status, tok)
	}
	access := tok["access_token"].(string)

	status, bad := post(t, s.URL+"/"+s.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {"nope"}, "scope": {"x/.default"},
	})
	if status != 401 || bad["error"] != "invalid_client" || !strings.HasPrefix(bad["error_description"].(string), "AADSTS7000215") {
		t.Errorf("bad secret answer %d %v", status, bad)
	}

	status, page := get(t, s.URL+"/beta/users/u1@example.com/managedDevices?$select=id,deviceEnrollmentType,deviceType", access)
	if status != 200 {
		t.Fatalf("list answer %d %v", status, page)
	}
	items := page["value"].([]any)
	next, _ := page["@odata.nextLink"].(string)
	if len(items) != 1 || !strings.HasPrefix(next, s.URL+"/beta/users/") || !strings.Contains(next, "$skiptoken=") {
		t.Fatalf("first page = %v", page)
	}
	if d := items[0].(map[string]any); len(d) != 3 || d["deviceEnrollmentType"] != "androidEnterpriseFullyManaged" {
		t.Errorf("selected item = %v; want exactly id, deviceEnrollmentType, deviceType", d)
	}
	_, page2 := get(t, next, access)
	if _, more := page2["@odata.nextLink"]; more || len(page2["value"].([]any)) != 1 {
		t.Errorf("second page = %v; want the last device and no nextLink", page2)
	}

	status, e := get(t, s.URL+"/v1.0/users/u1/managedDevices?$select=id,deviceType", access)
	inner, _ := e["error"].(map[string]any)
	if status != 400 || inner == nil || inner["code"] != "BadRequest" || inner["innerError"].(map[string]any)["request-id"] == "" {
		t.Errorf("v1.0 deviceType answer %d %v; want Graph's 400 error shape", status, e)
	}
	status, e = get(t, s.URL+"/beta/users/u1/managedDevices", "expired-or-unknown")
	if status != 401 || e["error"].(map[string]any)["code"] != "InvalidAuthenticationToken" {
		t.Errorf("unknown token answer %d %v", status, e)
	}
	if c := s.Counts(); c.Tokens != 2 || c.Lists != 4 || c.Graph() != 4 {
		t.Errorf("counts = %+v", c)
	}
}

func TestResetLifecycle(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	s.AddUser(User{ID: "u1", UPN: "u1@example.com"}, Device{ID: "d1", OperatingSystem: "Android", Reset: Plan{PendingReads: 2}})
	_, tok := post(t, s.URL+"/"+s.TenantID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {s.ClientID}, "client_secret": {s.ClientSecret}, "scope": {"https://graph.microsoft.com/.default"},
	})
	access := tok["access_token"].(string)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1.0/deviceManagement/managedDevices/d1/resetPasscode", nil)
	req.Header.Set("Authorization", "Bearer "+access)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 204 {
		t.Fatalf("reset answered %d; want 204", res.StatusCode)
	}
	var states []string
	var last map[string]any
	for range 3 {
		_, m := get(t, s.URL+"/beta/deviceManagement/managedDevices/d1?$select=deviceActionResults", access)
		r := m["deviceActionResults"].([]any)[0].(map[string]any)
		states = append(states, r["actionState"].(string))
		last = r
	}
	if strings.Join(states, ",") != "pending,pending,done" {
		t.Errorf("states = %v; want pending, pending, done", states)
	}
	if last["@odata.type"] != ResetPasscodeType || len(last["passcode"].(string)) != 8 || last["errorCode"] != float64(0) {
		t.Errorf("final result = %v", last)
	}
	if c := s.Counts(); c.Resets != 1 || c.ResetsAccepted != 1 || c.Results != 3 {
		t.Errorf("counts = %+v", c)
	}
}
