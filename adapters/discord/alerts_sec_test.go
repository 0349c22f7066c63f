package discord

import (
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestAlertEmbedNewKindsAndRepeats (issue 11): the delivery_failed and
// alerts_folded kinds have their own title and colour, and a folded alert
// says how many times it was raised since when.
func TestAlertEmbedNewKindsAndRepeats(t *testing.T) {
	for _, loc := range []string{"en", "ja"} {
		a, err := New(Config{Token: "x", Catalog: catalog.MustNew(loc), Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		since := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
		for _, kind := range []resetflow.AlertKind{resetflow.AlertDeliveryFailed, resetflow.AlertsFolded} {
			e := a.alertEmbed(resetflow.Alert{ID: "a1", Kind: kind, Time: since.Add(10 * time.Minute), Repeats: 99, Since: since, User: resetflow.User{UPN: "bob@x"}})
			if want := a.cat.T(loc, "alert_title_"+string(kind)); e.Title != want || strings.HasPrefix(e.Title, "alert_title") {
				t.Errorf("%s %s: title %q, want %q", loc, kind, e.Title, want)
			}
			if e.Color == 0x5865F2 {
				t.Errorf("%s: default colour", kind)
			}
			last := e.Fields[len(e.Fields)-1]
			if last.Name != a.cat.T(loc, "alert_repeats") || !strings.Contains(last.Value, "99") || !strings.Contains(last.Value, "2026-11-25 09:00:00 UTC") {
				t.Errorf("%s %s: repeats field %+v", loc, kind, last)
			}
		}
		if e := a.alertEmbed(resetflow.Alert{ID: "a2", Kind: resetflow.AlertResetFailed}); e.Fields[len(e.Fields)-1].Name == a.cat.T(loc, "alert_repeats") {
			t.Errorf("an alert raised once has a repeats field")
		}
	}
}
