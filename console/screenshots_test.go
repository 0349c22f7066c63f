package console_test

import (
	"context"
	"math/rand/v2"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
)

// TestScreenshots draws the pictures in docs/ (README, "Helpdesk console"):
// 30 days of a 3,000-person company, synthetic, in both languages.
//
//	PASSCODEBOT_SCREENSHOTS=$PWD/docs/console go test -run TestScreenshots ./console/
func TestScreenshots(t *testing.T) {
	if os.Getenv("PASSCODEBOT_SCREENSHOTS") == "" {
		t.Skip("set PASSCODEBOT_SCREENSHOTS to a directory to draw the console's screenshots")
	}
	h := newHarness(t)
	seed(t, h.cs, seedModel{Employees: 3000, Days: 30, PerEmployee: 1}, h.clk.Now(), rand.New(rand.NewPCG(7, 7)))
	// The seeded alerts are all dealt with; three are still open, for the queue.
	old, _ := h.cs.Alerts(context.Background(), console.AlertFilter{OpenOnly: true})
	for _, a := range old {
		h.cs.ResolveAlert(context.Background(), a.ID, "helpdesk", "done", h.clk.Now())
	}
	for i, k := range []string{"contact_support", "reset_failed", "wrong_person"} {
		h.cs.SaveAlert(context.Background(), console.Alert{ID: "open" + string(rune('a'+i)), Time: h.clk.Now().Add(-time.Duration(i+1) * 7 * time.Minute),
			Kind: k, Platform: "slack", UserUPN: "user000042@contoso.example", DeviceName: "iPhone 15", DeviceOS: "iOS", Detail: "synthetic"})
	}
	h.cs.TakeAlert(context.Background(), "openb", "slack:U0HELEN", "slack", h.clk.Now())
	for _, lang := range []string{"en", "ja"} {
		ctx := browser(t, lang)
		within(t, ctx, 60*time.Second, func(ctx context.Context) error {
			if err := h.signIn(ctx, helen); err != nil {
				return err
			}
			if err := load(ctx, h.url("/console/?period=30d")); err != nil {
				return err
			}
			screenshot(t, ctx, "overview-"+lang)
			if err := load(ctx, h.url("/console/alerts")); err != nil {
				return err
			}
			screenshot(t, ctx, "alerts-"+lang)
			evs, _ := h.cs.Trail(context.Background(), console.TrailQuery{Device: "dev-000042-ios", Limit: 1})
			person := "user000042@contoso.example"
			if len(evs) == 0 {
				return nil
			}
			if err := load(ctx, h.url("/console/trail?person="+url.QueryEscape(person))); err != nil {
				return err
			}
			screenshot(t, ctx, "trail-"+lang)
			if err := load(ctx, h.url("/console/flow/"+evs[0].Flow)); err != nil {
				return err
			}
			screenshot(t, ctx, "flow-"+lang)
			return nil
		})
	}
}
