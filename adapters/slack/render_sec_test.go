package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestRenderAlertsNewKindsAndRepeats (issue 11): the delivery_failed and
// alerts_folded kinds are rendered with their titles, and a folded alert says
// how many times it was raised since when.
func TestRenderAlertsNewKindsAndRepeats(t *testing.T) {
	for _, loc := range []string{"en", "ja"} {
		cat := catalog.MustNew(loc)
		a, err := New(Config{BotToken: "xoxb-t", AppToken: "xapp-t", Catalog: cat, Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		since := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		text, blocks := a.renderAlerts([]resetflow.Alert{
			{ID: "a1", Kind: resetflow.AlertDeliveryFailed, Time: since, User: resetflow.User{UPN: "bob@x"}},
			{ID: "a2", Kind: resetflow.AlertsFolded, Time: since.Add(time.Minute), Repeats: 40, Since: since, Detail: "queue full"},
		})
		raw, _ := json.Marshal(blocks)
		for _, want := range []string{cat.T(loc, "alert_title_delivery_failed"), cat.T(loc, "alert_title_alerts_folded")} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: text %q lacks %q", loc, text, want)
			}
		}
		repeats := cat.T(loc, "alert_repeats_value", map[string]any{"Count": 40, "Since": "2026-11-25 09:00:00 UTC"})
		if got := strings.Count(string(raw), cat.T(loc, "alert_repeats")+":*"); got != 1 || !strings.Contains(string(raw), repeats) {
			t.Errorf("%s: %d repeats lines, want 1 saying %q:\n%s", loc, got, repeats, raw)
		}
	}
}
