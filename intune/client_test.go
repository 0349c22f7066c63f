package intune

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/intune/graphtest"
	"github.com/passcodebot/passcodebot/resetflow"
)

func TestListDevicesFollowsEveryPage(t *testing.T) {
	h := newHarness(t, nil)
	got, err := h.list()
	if err != nil {
		t.Fatal(err)
	}
	want := []resetflow.Device{
		{ID: "dev-pixel", UserID: aliceID, UserUPN: aliceUPN, Name: "Alice's Pixel 8", Model: "Pixel 8", Maker: "Google", OS: "Android", OSVersion: "15",
			Mode: resetflow.ModeAndroidEnterpriseCorporateProfile, Owner: resetflow.OwnerCompany, LastSync: t0.Add(-time.Hour)},
		{ID: "dev-iphone", UserID: aliceID, UserUPN: aliceUPN, Name: "Alice's iPhone", Model: "iPhone 15", Maker: "Apple", OS: "iOS", OSVersion: "18.1",
			Mode: resetflow.ModeIOS, Owner: resetflow.OwnerPersonal, LastSync: t0.Add(-2 * time.Hour)},
		{ID: "dev-zebra", UserID: aliceID, UserUPN: aliceUPN, Name: "Scanner 12", Model: "TC52", Maker: "Zebra", OS: "Android", OSVersion: "11",
			Mode: resetflow.ModeAndroidEnterpriseDedicated, Owner: resetflow.OwnerCompany},
		{ID: "dev-surface", UserID: aliceID, UserUPN: aliceUPN, Name: "Alice's Surface", Model: "Surface Pro 9", Maker: "Microsoft", OS: "Windows", OSVersion: "10.0.22631.4317",
			Mode: resetflow.ModeWindows, Owner: resetflow.OwnerCompany},
		{ID: "dev-lumia", UserID: aliceID, UserUPN: aliceUPN, Name: "Alice's Lumia 950", Model: "Lumia 950", Maker: "Microsoft", OS: "Windows", OSVersion: "10.0.15254.1",
			Mode: resetflow.ModeWindows10Mobile, Owner: resetflow.OwnerUnknown},
	}
	if len(got) != len(want) {
		t.Fatalf("ListDevices returned %d devices; want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if !g.LastSync.Equal(w.LastSync) {
			t.Errorf("device %d LastSync = %v; want %v", i, g.LastSync, w.LastSync)
		}
		g.LastSync, w.LastSync = time.Time{}, time.Time{}
		if g != w {
			t.Errorf("device %d = %+v\n          want %+v", i, g, w)
		}
	}
	c := h.srv.Counts()
	if c.Lists != 3 || c.Tokens != 1 {
		t.Errorf("counts = %+v; want 3 list pages and 1 token", c)
	}
	for _, r := range h.srv.Requests() {
		if r.Route != graphtest.RouteList {
			continue
		}
		if r.Path != "/beta/users/"+aliceID+"/managedDevices" || !strings.Contains(r.Query, "deviceType") {
			t.Errorf("list request %s?%s; want the beta path with deviceType selected", r.Path, r.Query)
		}
	}
}

func TestListDevicesByUPNWhenNoID(t *testing.T) {
	h := newHarness(t, nil)
	got, err := h.c.ListDevices(context.Background(), resetflow.User{UPN: aliceUPN})
	if h.record(err) != nil || len(got) != 5 {
		t.Fatalf("ListDevices(by UPN) = %d devices, %v; want 5", len(got), err)
	}
	got, err = h.c.ListDevices(context.Background(), resetflow.User{ID: bobID})
	if h.record(err) != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListDevices(Bob) = %v, %v; want an empty list", got, err)
	}
	_, err = h.c.ListDevices(context.Background(), resetflow.User{ID: "nobody"})
	wantKind(t, h.record(err), resetflow.KindNotFound)
}

func TestListDevicesOnV10(t *testing.T) {
	// An administrator who refuses beta: v1.0 has no deviceType, so it is not
	// selected, and the Android Enterprise modes are not visible.
	h := newHarness(t, func(c *Config) { c.BetaVersion = "v1.0" })
	got, err := h.list()
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Mode != resetflow.ModeUnknown || got[2].Mode != resetflow.ModeUnknown || got[1].Mode != resetflow.ModeIOS || got[4].Mode != resetflow.ModeWindows {
		t.Errorf("modes on v1.0 = %s, %s, %s, %s; want unknown for Android (mode not visible), ios, windows",
			got[0].Mode, got[2].Mode, got[1].Mode, got[4].Mode)
	}
	for _, r := range h.srv.Requests() {
		if r.Route == graphtest.RouteList && (!strings.HasPrefix(r.Path, "/v1.0/") || strings.Contains(r.Query, "deviceType")) {
			t.Errorf("list request %s?%s; want v1.0 without deviceType", r.Path, r.Query)
		}
	}
}

func TestNextLinkToForeignHostIsRefused(t *testing.T) {
	var hits atomic.Int32
	foreign := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte(`{"value":[]}`))
	}))
	defer foreign.Close()
	h := newHarness(t, nil)
	h.srv.Fail(graphtest.RouteList, graphtest.ForeignNextLink(foreign.URL))
	_, err := h.list()
	e := wantKind(t, err, resetflow.KindInternal)
	if e.Code != "ForeignNextLink" {
		t.Errorf("code = %q; want ForeignNextLink", e.Code)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the foreign host got %d requests; want none", n)
	}
}

func TestLookupUser(t *testing.T) {
	tests := []struct {
		name     string
		lookup   string
		roles    []string
		email    string
		want     resetflow.User
		wantKind resetflow.ErrorKind
		route    graphtest.Route
	}{
		{name: "upn: no Graph call, the email is the UPN", lookup: LookupUPN, email: "  alice@contoso.example ",
			want: resetflow.User{UPN: aliceUPN}, route: "none"},
		{name: "upn: empty email", lookup: LookupUPN, email: " ", wantKind: resetflow.KindNotFound},
		{name: "directory", lookup: LookupDirectory, roles: []string{graphtest.RoleRead, graphtest.RolePrivileged, graphtest.RoleUserBasic}, email: bobUPN,
			want: resetflow.User{ID: bobID, UPN: bobUPN, DisplayName: "Bob Brown"}, route: graphtest.RouteUser},
		{name: "directory: unknown user", lookup: LookupDirectory, roles: []string{graphtest.RoleRead, graphtest.RolePrivileged, graphtest.RoleUserBasic},
			email: "mallory@contoso.example", wantKind: resetflow.KindNotFound},
		{name: "directory without User.ReadBasic.All", lookup: LookupDirectory, email: bobUPN, wantKind: resetflow.KindForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, func(c *Config) { c.UserLookup = tt.lookup }, graphtest.Options{PageSize: 2, Roles: tt.roles})
			got, err := h.c.LookupUser(context.Background(), tt.email)
			h.record(err)
			if tt.wantKind != "" {
				wantKind(t, err, tt.wantKind)
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("LookupUser(%q) = %+v, %v; want %+v", tt.email, got, err, tt.want)
			}
			c := h.srv.Counts()
			if tt.route == graphtest.RouteUser && (c.Users != 1 || c.Lists != 0) || tt.route == "none" && (c.Users != 0 || c.Lists != 0) {
				t.Errorf("counts = %+v; want exactly one %s call", c, tt.route)
			}
		})
	}
}

func TestTokenRefreshedOnceAfter401(t *testing.T) {
	t.Run("expired token is replaced", func(t *testing.T) {
		h := newHarness(t, nil)
		if _, err := h.list(); err != nil {
			t.Fatal(err)
		}
		h.srv.ExpireTokens()
		if _, err := h.list(); err != nil {
			t.Fatalf("list after expiry: %v", err)
		}
		if n := h.srv.Counts().Tokens; n != 2 {
			t.Errorf("tokens fetched = %d; want 2", n)
		}
		if got := h.statuses(graphtest.RouteList); !slices.Equal(got, []int{200, 200, 200, 401, 200, 200, 200}) {
			t.Errorf("list statuses = %v; want three pages, a 401, three pages", got)
		}
		if len(h.clk.Waits()) != 0 {
			t.Errorf("waited %v; a refresh needs no wait", h.clk.Waits())
		}
	})
	t.Run("second 401 is final", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.Fail(graphtest.RouteList, graphtest.ExpiredToken(), graphtest.ExpiredToken(), graphtest.ExpiredToken())
		_, err := h.list()
		e := wantKind(t, err, resetflow.KindForbidden)
		if e.Code != "InvalidAuthenticationToken" || e.RequestID == "" {
			t.Errorf("err = %v; want code InvalidAuthenticationToken and a request id", e)
		}
		if c := h.srv.Counts(); c.Tokens != 2 || c.Lists != 2 {
			t.Errorf("counts = %+v; want 2 tokens and 2 list calls (one refresh, one retry)", c)
		}
	})
	t.Run("reset after 401 is sent once more and accepted once", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.Fail(graphtest.RouteReset, graphtest.ExpiredToken())
		if err := h.reset("dev-pixel"); err != nil {
			t.Fatal(err)
		}
		if c := h.srv.Counts(); c.Tokens != 2 || c.Resets != 2 || c.ResetsAccepted != 1 {
			t.Errorf("counts = %+v; want 2 tokens, 2 reset requests, 1 accepted", c)
		}
	})
	t.Run("concurrent 401s refresh once", func(t *testing.T) {
		h := newHarness(t, nil)
		if _, err := h.result("dev-pixel"); err != nil {
			t.Fatal(err)
		}
		h.srv.ExpireTokens()
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				if _, err := h.result("dev-pixel"); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := h.srv.Counts().Tokens; n != 2 {
			t.Errorf("tokens fetched = %d; want 2 (one refresh for all)", n)
		}
	})
}

func TestResetPasscodeAndResults(t *testing.T) {
	tests := []struct {
		name      string
		device    string
		reads     []resetflow.ActionState // states seen by successive result reads
		passcode  string
		errorCode string
	}{
		{"pending then done with a passcode", "dev-pixel", []resetflow.ActionState{resetflow.ActionPending, resetflow.ActionDone}, pixelPasscode, ""},
		{"iOS done without a passcode", "dev-iphone", []resetflow.ActionState{resetflow.ActionPending, resetflow.ActionDone}, "", ""},
		{"failed with an error code", "dev-zebra", []resetflow.ActionState{resetflow.ActionPending, resetflow.ActionFailed}, "", "1004"},
		{"not supported", "dev-surface", []resetflow.ActionState{resetflow.ActionPending, resetflow.ActionNotSupported}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			before, err := h.result(tt.device)
			if err != nil || before.State != resetflow.ActionNone {
				t.Fatalf("result before any reset = %+v, %v; want state none", before, err)
			}
			if err := h.reset(tt.device); err != nil {
				t.Fatalf("ResetPasscode: %v", err)
			}
			if got := h.statuses(graphtest.RouteReset); !slices.Equal(got, []int{204}) {
				t.Errorf("reset statuses = %v; want one 204", got)
			}
			for _, r := range h.srv.Requests() {
				if r.Route == graphtest.RouteReset && (r.Method != "POST" || r.Path != "/v1.0/deviceManagement/managedDevices/"+tt.device+"/resetPasscode") {
					t.Errorf("reset request %s %s; want POST on v1.0", r.Method, r.Path)
				}
				if r.Route == graphtest.RouteResult && (r.Path != "/beta/deviceManagement/managedDevices/"+tt.device || r.Query != "$select=deviceActionResults") {
					t.Errorf("result request %s?%s; want beta with $select=deviceActionResults", r.Path, r.Query)
				}
			}
			var last resetflow.ActionResult
			for i, want := range tt.reads {
				res, err := h.result(tt.device)
				if err != nil {
					t.Fatalf("read %d: %v", i, err)
				}
				if res.State != want {
					t.Fatalf("read %d state = %q; want %q", i, res.State, want)
				}
				if !res.Started.Equal(t0) {
					t.Errorf("read %d Started = %v; want %v", i, res.Started, t0)
				}
				last = res
			}
			got := ""
			if last.Passcode != nil {
				got = last.Passcode.Reveal()
			}
			if got != tt.passcode || last.ErrorCode != tt.errorCode {
				t.Errorf("final passcode %q, error code %q; want %q, %q", got, last.ErrorCode, tt.passcode, tt.errorCode)
			}
			if c := h.srv.Counts(); c.Resets != 1 || c.ResetsAccepted != 1 || c.Results != 1+len(tt.reads) {
				t.Errorf("counts = %+v; want 1 reset and %d result reads", c, 1+len(tt.reads))
			}
		})
	}
}

func TestResetResultMatchesODataType(t *testing.T) {
	h := newHarness(t, nil)
	old := t0.Add(-48 * time.Hour)
	h.srv.AddUser(graphtest.User{ID: "c0000000-0000-4000-8000-000000000003", UPN: "carol@contoso.example"},
		graphtest.Device{ID: "dev-decoys", OperatingSystem: "Android", Actions: []graphtest.Action{
			{ODataType: "#microsoft.graph.deviceActionResult", Name: "resetPasscode", State: "done", Start: t0.Add(-time.Hour), Updated: t0.Add(-time.Hour)},
			{ODataType: graphtest.ResetPasscodeType, Name: "passcodeReset", State: "failed", ErrorCode: 7, Start: old, Updated: old},
			{ODataType: "#microsoft.graph.remoteLockActionResult", Name: "resetPasscode", State: "done", Start: t0, Updated: t0},
		}},
		graphtest.Device{ID: "dev-only-decoys", OperatingSystem: "Android", Actions: []graphtest.Action{
			{ODataType: "#microsoft.graph.deviceActionResult", Name: "resetPasscode", State: "done", Start: t0, Updated: t0},
		}},
	)
	res, err := h.result("dev-decoys")
	if err != nil {
		t.Fatal(err)
	}
	if res.State != resetflow.ActionFailed || res.ErrorCode != "7" || !res.Started.Equal(old) {
		t.Errorf("result = %+v; want the resetPasscodeActionResult entry (failed, 7, started %v)", res, old)
	}
	res, err = h.result("dev-only-decoys")
	if err != nil || res.State != resetflow.ActionNone {
		t.Errorf("result with only other types = %+v, %v; want state none", res, err)
	}
}

func TestThrottling(t *testing.T) {
	retryAt := t0.Add(5 * time.Second).Format(http.TimeFormat)
	tests := []struct {
		name   string
		route  graphtest.Route
		faults []graphtest.Fault
		waits  []time.Duration
	}{
		{"list 429 with Retry-After seconds", graphtest.RouteList, []graphtest.Fault{graphtest.Throttle("3")}, []time.Duration{3 * time.Second}},
		{"list 429 with Retry-After date", graphtest.RouteList, []graphtest.Fault{graphtest.Throttle(retryAt)}, []time.Duration{5 * time.Second}},
		{"list 429 without Retry-After backs off", graphtest.RouteList, []graphtest.Fault{graphtest.Throttle(""), graphtest.Throttle("")},
			[]time.Duration{750 * time.Millisecond, 1500 * time.Millisecond}},
		{"result 503 with Retry-After", graphtest.RouteResult, []graphtest.Fault{graphtest.Unavailable("2")}, []time.Duration{2 * time.Second}},
		{"result 500, 502, 504 back off", graphtest.RouteResult,
			[]graphtest.Fault{graphtest.Status(500, "InternalServerError"), graphtest.Status(502, "BadGateway"), graphtest.Status(504, "GatewayTimeout")},
			[]time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second}},
		{"reset 429 without Retry-After", graphtest.RouteReset, []graphtest.Fault{graphtest.Throttle("")}, []time.Duration{750 * time.Millisecond}},
		{"reset 429 then 503 with Retry-After", graphtest.RouteReset, []graphtest.Fault{graphtest.Throttle("1"), graphtest.Unavailable("4")},
			[]time.Duration{time.Second, 4 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.srv.Fail(tt.route, tt.faults...)
			var err error
			switch tt.route {
			case graphtest.RouteList:
				_, err = h.list()
			case graphtest.RouteResult:
				_, err = h.result("dev-pixel")
			case graphtest.RouteReset:
				err = h.reset("dev-pixel")
			}
			if err != nil {
				t.Fatalf("call failed: %v", err)
			}
			if got := h.clk.Waits(); !slices.Equal(got, tt.waits) {
				t.Errorf("waits = %v; want %v", got, tt.waits)
			}
			if tt.route == graphtest.RouteReset {
				if c := h.srv.Counts(); c.ResetsAccepted != 1 || c.Resets != len(tt.faults)+1 {
					t.Errorf("counts = %+v; want %d requests and exactly 1 accepted", c, len(tt.faults)+1)
				}
			}
		})
	}
}

func TestRetriesAreBounded(t *testing.T) {
	tests := []struct {
		name     string
		route    graphtest.Route
		fault    graphtest.Fault
		kind     resetflow.ErrorKind
		code     string
		requests int // requests the server sees
		waits    int
	}{
		{"list always 429", graphtest.RouteList, graphtest.Throttle("1"), resetflow.KindThrottled, "TooManyRequests", 4, 3},
		{"result always 503", graphtest.RouteResult, graphtest.Unavailable(""), resetflow.KindUnavailable, "ServiceUnavailable", 4, 3},
		{"reset always 429", graphtest.RouteReset, graphtest.Throttle(""), resetflow.KindThrottled, "TooManyRequests", 4, 3},
		{"Retry-After beyond max_backoff is not waited", graphtest.RouteReset, graphtest.Throttle("120"), resetflow.KindThrottled, "TooManyRequests", 1, 0},
		{"404 is not retried", graphtest.RouteResult, graphtest.Status(404, "ResourceNotFound"), resetflow.KindNotFound, "ResourceNotFound", 1, 0},
		{"403 is not retried", graphtest.RouteList, graphtest.Status(403, "Forbidden"), resetflow.KindForbidden, "Forbidden", 1, 0},
		{"400 is not retried", graphtest.RouteReset, graphtest.Status(400, "BadRequest"), resetflow.KindBadRequest, "BadRequest", 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			for range 6 {
				h.srv.Fail(tt.route, tt.fault)
			}
			var err error
			switch tt.route {
			case graphtest.RouteList:
				_, err = h.list()
			case graphtest.RouteResult:
				_, err = h.result("dev-pixel")
			case graphtest.RouteReset:
				err = h.reset("dev-pixel")
			}
			e := wantKind(t, err, tt.kind)
			if e.Code != tt.code || e.RequestID == "" {
				t.Errorf("err = %v; want code %s and a request id", e, tt.code)
			}
			if got := len(h.statuses(tt.route)); got != tt.requests {
				t.Errorf("server saw %d requests; want %d", got, tt.requests)
			}
			if got := len(h.clk.Waits()); got != tt.waits {
				t.Errorf("waited %d times (%v); want %d", got, h.clk.Waits(), tt.waits)
			}
			if n := h.srv.Counts().ResetsAccepted; n != 0 {
				t.Errorf("%d resets accepted; want none", n)
			}
			for _, w := range h.clk.Waits() {
				if w > h.cfg.MaxBackoff {
					t.Errorf("waited %v, beyond max_backoff %v", w, h.cfg.MaxBackoff)
				}
			}
		})
	}
}

// TestResetNeverSentTwice covers every way a reset's answer can be lost.
func TestResetNeverSentTwice(t *testing.T) {
	tests := []struct {
		name     string
		fault    graphtest.Fault
		stall    bool // the request hangs until the client's timeout
		earlier  bool // the device has a reset from two days ago
		failRead bool // reading the action state fails too
		wantErr  resetflow.ErrorKind
		accepted int
	}{
		{name: "timeout after accepting", fault: graphtest.StallAfterAccept(), stall: true, accepted: 1},
		{name: "connection dropped after accepting", fault: graphtest.DropAfterAccept(), accepted: 1},
		{name: "504 after accepting", fault: graphtest.GatewayTimeoutAfterAccept(), accepted: 1},
		{name: "connection dropped before accepting", fault: graphtest.DropBeforeAccept(), wantErr: resetflow.KindAmbiguous},
		{name: "500 before accepting", fault: graphtest.Status(500, "InternalServerError"), wantErr: resetflow.KindAmbiguous},
		{name: "an earlier reset does not count", fault: graphtest.DropBeforeAccept(), earlier: true, wantErr: resetflow.KindAmbiguous},
		{name: "timeout and the state cannot be read", fault: graphtest.StallAfterAccept(), stall: true, failRead: true, wantErr: resetflow.KindAmbiguous, accepted: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			dev := "dev-pixel"
			if tt.earlier {
				dev = "dev-old"
				old := t0.Add(-48 * time.Hour)
				h.srv.AddUser(graphtest.User{ID: "d0000000-0000-4000-8000-000000000004", UPN: "dave@contoso.example"},
					graphtest.Device{ID: dev, OperatingSystem: "Android", Actions: []graphtest.Action{
						{ODataType: graphtest.ResetPasscodeType, Name: "resetPasscode", State: "pending", Start: old, Updated: old}}})
			}
			h.srv.Fail(graphtest.RouteReset, tt.fault)
			if tt.failRead {
				for range 4 {
					h.srv.Fail(graphtest.RouteResult, graphtest.Unavailable(""))
				}
			}
			done := make(chan error, 1)
			go func() { done <- h.reset(dev) }()
			if tt.stall {
				select {
				case <-h.srv.Stalls():
				case err := <-done:
					t.Fatalf("ResetPasscode returned %v before the server stalled", err)
				}
				h.clk.Advance(h.cfg.Timeout) // the client's request timeout passes
			}
			err := <-done
			if tt.wantErr == "" && err != nil {
				t.Fatalf("ResetPasscode = %v; want nil (Graph shows the reset started)", err)
			}
			if tt.wantErr != "" {
				wantKind(t, err, tt.wantErr)
			}
			c := h.srv.Counts()
			if c.Resets != 1 {
				t.Fatalf("server got %d reset requests; want exactly 1", c.Resets)
			}
			if c.ResetsAccepted != tt.accepted {
				t.Errorf("resets accepted = %d; want %d", c.ResetsAccepted, tt.accepted)
			}
			if tt.accepted == 1 && !tt.failRead {
				// The result is still obtained: pending (the check read), then done.
				res, err := h.result(dev)
				if err != nil || res.State != resetflow.ActionDone || res.Passcode == nil || res.Passcode.Reveal() != pixelPasscode {
					t.Errorf("result after a lost answer = %+v, %v; want done with the passcode", res, err)
				}
			}
			if c := h.srv.Counts(); c.Resets != 1 {
				t.Errorf("server got %d reset requests in the end; want 1", c.Resets)
			}
		})
	}
}

func TestMalformedJSON(t *testing.T) {
	tests := []struct {
		name string
		call func(h *harness) error
	}{
		{"list", func(h *harness) error { _, err := h.list(); return err }},
		{"directory lookup", func(h *harness) error {
			h.c.cfg.UserLookup = LookupDirectory
			h.srv.SetRoles(graphtest.RoleRead, graphtest.RolePrivileged, graphtest.RoleUserBasic)
			h.srv.ExpireTokens()
			h.srv.Fail(graphtest.RouteUser, graphtest.Malformed())
			_, err := h.c.LookupUser(context.Background(), aliceUPN)
			return h.record(err)
		}},
		{"result carrying a passcode", func(h *harness) error {
			if err := h.reset("dev-pixel"); err != nil {
				return err
			}
			h.result("dev-pixel") // pending
			h.srv.Fail(graphtest.RouteResult, graphtest.Malformed())
			_, err := h.result("dev-pixel") // the body holds the passcode, cut short
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.srv.Fail(graphtest.RouteList, graphtest.Malformed())
			err := tt.call(h)
			e := wantKind(t, err, resetflow.KindUnavailable)
			if e.Code != "MalformedResponse" || !strings.Contains(e.Error(), "malformed") {
				t.Errorf("err = %v; want code MalformedResponse saying malformed", e)
			}
		})
	}
}

func TestTokenEndpointFailures(t *testing.T) {
	t.Run("wrong secret", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.ClientSecret = "not-the-secret" })
		_, err := h.list()
		e := wantKind(t, err, resetflow.KindForbidden)
		if e.Code != "invalid_client" || !strings.Contains(e.Error(), "AADSTS7000215") {
			t.Errorf("err = %v; want invalid_client with the AADSTS code", e)
		}
		if strings.Contains(e.Error(), "not-the-secret") {
			t.Errorf("err %q shows the secret sent", e)
		}
		if c := h.srv.Counts(); c.Tokens != 1 || c.Lists != 0 {
			t.Errorf("counts = %+v; want one token try and no Graph call", c)
		}
	})
	t.Run("unknown tenant", func(t *testing.T) {
		h := newHarness(t, func(c *Config) { c.TenantID = "fabrikam.example" })
		_, err := h.list()
		if e := wantKind(t, err, resetflow.KindForbidden); !strings.Contains(e.Error(), "AADSTS90002") {
			t.Errorf("err = %v; want AADSTS90002", e)
		}
	})
	t.Run("token endpoint 503 is retried", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.Fail(graphtest.RouteToken, graphtest.Status(503, "temporarily_unavailable"))
		if _, err := h.list(); err != nil {
			t.Fatal(err)
		}
		if c := h.srv.Counts(); c.Tokens != 2 {
			t.Errorf("tokens requested = %d; want 2", c.Tokens)
		}
	})
}

func TestTokenScopeAndLifetime(t *testing.T) {
	h := newHarness(t, nil, graphtest.Options{PageSize: 2, TokenLifetime: time.Hour})
	for range 3 {
		if _, err := h.result("dev-pixel"); err != nil {
			t.Fatal(err)
		}
	}
	if n := h.srv.Counts().Tokens; n != 1 {
		t.Errorf("tokens fetched for 3 calls = %d; want 1 (cached)", n)
	}
}

func TestContextCancelStopsWaiting(t *testing.T) {
	h := newHarness(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := h.c.ListDevices(ctx, h.alice())
	h.record(err)
	if err == nil {
		t.Fatal("ListDevices with a cancelled context succeeded")
	}
}
