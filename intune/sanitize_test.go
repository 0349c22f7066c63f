package intune

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/intune/graphtest"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// hostile is an error code a compromised or broken service could send: line
// breaks, Slack and Discord markup, mentions, a fake log line, and 10 KB.
var hostile = "BadRequest\n*URGENT* <!channel> @everyone [click](https://evil.example/x) `code`\r\nlevel=ERROR msg=forged " +
	strings.Repeat("A", 10<<10)

// checkClean fails unless s is a short code made of letters, digits and . _ - : ? only.
func checkClean(t *testing.T, what, s string) { checkCleanN(t, what, s, maxCodeLen+3) }

// checkCleanN is checkClean for a detail of several codes, at most max bytes.
func checkCleanN(t *testing.T, what, s string, max int) {
	t.Helper()
	if len(s) > max {
		t.Errorf("%s is %d bytes long: %.80q…", what, len(s), s)
	}
	for _, bad := range []string{"\n", "\r", "<", ">", "!channel", "*", "`", "[", "]", "(", ")", "@", " ", "https://"} {
		if strings.Contains(s, bad) {
			t.Errorf("%s carries %q: %.120q", what, bad, s)
		}
	}
}

// TestHostileGraphCodes: whatever error code, request id or action state the
// fake Graph (or its token endpoint) returns, what reaches a helpdesk alert
// (resetflow.Error.Detail, and the result's state and errorCode that the engine
// writes into its alert and audit detail) is a short, plain code.
func TestHostileGraphCodes(t *testing.T) {
	t.Run("reset refused", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.Fail(graphtest.RouteReset, graphtest.Status(http.StatusBadRequest, hostile))
		e := wantKind(t, h.reset("dev-pixel"), resetflow.KindBadRequest)
		checkClean(t, "Code", e.Code)
		checkCleanN(t, "Detail", strings.ReplaceAll(e.Detail(), " ", "_"), 200)
		if !strings.HasPrefix(e.Code, "BadRequest?") {
			t.Errorf("Code = %.80q; want the readable start kept", e.Code)
		}
	})
	t.Run("list refused", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.Fail(graphtest.RouteList, graphtest.Status(http.StatusForbidden, hostile))
		_, err := h.list()
		e := wantKind(t, err, resetflow.KindForbidden)
		checkClean(t, "Code", e.Code)
	})
	t.Run("token refused", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.Fail(graphtest.RouteToken, graphtest.Status(http.StatusUnauthorized, hostile))
		_, err := h.list()
		e := wantKind(t, err, resetflow.KindForbidden)
		checkClean(t, "Code", e.Code)
	})
	t.Run("action result", func(t *testing.T) {
		h := newHarness(t, nil)
		h.srv.AddUser(graphtest.User{ID: "c0000000-0000-4000-8000-000000000003", UPN: "carol@contoso.example"},
			graphtest.Device{ID: "dev-hostile", Name: "Carol's phone", OperatingSystem: "Android",
				Actions: []graphtest.Action{{ODataType: graphtest.ResetPasscodeType, Name: "resetPasscode",
					State: "failed\n<!channel> " + hostile, Start: t0, Updated: t0, ErrorText: hostile}}})
		res, err := h.result("dev-hostile")
		if err != nil {
			t.Fatal(err)
		}
		checkClean(t, "ErrorCode", res.ErrorCode)
		checkClean(t, "State", string(res.State))
		// The engine's alert detail for a failed reset is exactly this.
		checkCleanN(t, "alert detail", "actionState="+string(res.State)+"_errorCode="+res.ErrorCode, 200)
	})
	t.Run("plain codes unchanged", func(t *testing.T) {
		for _, c := range []string{"ResourceNotFound", "Request_BadRequest", "invalid_client", "1004", "AADSTS50126", "e0f1c2a4-1b2c-4d5e-8f90-123456789abc", "notSupported"} {
			if got := cleanCode(c); got != c {
				t.Errorf("cleanCode(%q) = %q", c, got)
			}
		}
	})
}

// eventLog is a resetflow.Recorder that keeps the audit events.
type eventLog struct {
	mu  sync.Mutex
	evs []resetflow.Event
}

func (l *eventLog) Record(_ context.Context, e resetflow.Event) error {
	l.mu.Lock()
	l.evs = append(l.evs, e)
	l.mu.Unlock()
	return nil
}

// TestHostileGraphCodeInAlertAndAudit runs the engine on the client: a device
// list refused with a hostile code raises a helpdesk alert and an audit step
// whose details carry only the cleaned code.
func TestHostileGraphCodeInAlertAndAudit(t *testing.T) {
	h := newHarness(t, nil)
	h.srv.Fail(graphtest.RouteList, graphtest.Status(http.StatusForbidden, hostile))
	alerts, audit := &resetflowtest.Alerts{}, &eventLog{}
	eng, err := resetflow.New(resetflow.Config{PublicURL: "https://bot.example"}, resetflow.Deps{
		Clock: h.clk, Catalog: catalog.MustNew("en"), Devices: h.c, Directory: h.c,
		Messenger: resetflowtest.NewChat(), Alerter: alerts, Recorder: audit,
	})
	if err != nil {
		t.Fatal(err)
	}
	eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "shell", UserID: "alice"}, Email: aliceUPN, Text: "reset"})
	all := alerts.All()
	if len(all) != 1 || all[0].Kind != resetflow.AlertBackendError {
		t.Fatalf("alerts = %+v; want one backend_error", all)
	}
	checkCleanN(t, "Alert.Detail", strings.ReplaceAll(all[0].Detail, " ", "_"), 200)
	if !strings.Contains(all[0].Detail, "code=BadRequest?") {
		t.Errorf("Alert.Detail = %.120q; want the cleaned code", all[0].Detail)
	}
	audit.mu.Lock()
	defer audit.mu.Unlock()
	found := false
	for _, ev := range audit.evs {
		if ev.Step == "devices_listed" {
			found = true
			checkCleanN(t, "audit detail", strings.ReplaceAll(ev.Detail, " ", "_"), 200)
		}
	}
	if !found {
		t.Errorf("no devices_listed audit step in %+v", audit.evs)
	}
}
