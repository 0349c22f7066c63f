package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

type nopRec struct{ err error }

func (n nopRec) Record(context.Context, resetflow.Event) error { return n.err }

type nopAlert struct{}

func (nopAlert) Alert(context.Context, resetflow.Alert) {}

type dev struct{}

func (dev) ListDevices(context.Context, resetflow.User) ([]resetflow.Device, error) { return nil, nil }
func (dev) ResetPasscode(context.Context, resetflow.Device) error {
	return &resetflow.Error{Kind: resetflow.KindThrottled}
}
func (dev) ResetResult(context.Context, resetflow.Device) (resetflow.ActionResult, error) {
	return resetflow.ActionResult{}, nil
}

func scrape(t *testing.T, m *Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestCounters(t *testing.T) {
	m := New(func() int { return 7 }, func() int { return 2 })
	r := m.Recorder(nopRec{})
	ctx := context.Background()
	r.Record(ctx, resetflow.Event{Step: "signin", Outcome: "ok"})
	r.Record(ctx, resetflow.Event{Step: "result", Outcome: "done", Platform: "slack"})
	m.Recorder(nopRec{errors.New("disk")}).Record(ctx, resetflow.Event{Step: "confirm"})
	m.Alerter(nopAlert{}).Alert(ctx, resetflow.Alert{Kind: resetflow.AlertResetFailed})
	d := m.Devices(dev{})
	d.ResetPasscode(ctx, resetflow.Device{})
	d.ListDevices(ctx, resetflow.User{})
	out := scrape(t, m)
	for _, want := range []string{
		`passcodebot_conversation_steps_total{outcome="ok",step="signin"} 1`,
		`passcodebot_resets_total{platform="slack",result="done"} 1`,
		`passcodebot_reauth_total{outcome="ok"} 1`,
		`passcodebot_helpdesk_alerts_total{kind="reset_failed"} 1`,
		`passcodebot_backend_errors_total{kind="throttled",op="reset_passcode"} 1`,
		`passcodebot_backend_call_seconds_count{op="list_devices"} 1`,
		`passcodebot_conversations_open 7`,
		`passcodebot_alert_queue_depth 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, `step="confirm"`) {
		t.Errorf("a failed record was counted")
	}
}
