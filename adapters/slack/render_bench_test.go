package slack

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// BenchmarkRender is one neutral message rendered as Slack Block Kit and
// encoded as the JSON that chat.postMessage carries: with slack-go's types
// (before) and with the append-based writer (render, blockjson.go).
func BenchmarkRender(b *testing.B) {
	a, err := New(Config{BotToken: "xoxb-bench", AppToken: "xapp-bench", Catalog: catalog.MustNew("en"), Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	cat := catalog.MustNew("en")
	until := time.Date(2026, 11, 25, 9, 5, 0, 0, time.UTC)
	device := func(i int) resetflow.Choice {
		return resetflow.Choice{Value: fmt.Sprintf("pick:0123456789abcdef:%d", i), Label: fmt.Sprintf("Phone %d", i),
			Detail: cat.T("en", "device_detail", map[string]any{"Model": "Google Pixel 8", "OS": "Android", "Version": "15", "LastSync": "2026-11-25 08:12"})}
	}
	cancel := resetflow.Button{Value: "cancel:0123456789abcdef", Label: cat.T("en", "button_cancel")}
	messages := []struct {
		name string
		m    resetflow.Message
	}{
		{"text", resetflow.Message{Text: cat.T("en", "unknown_input"), Notice: cat.T("en", "help_hint")}},
		{"devices", resetflow.Message{Text: cat.T("en", "pick_device", map[string]any{"Count": 3}), Notice: cat.T("en", "pick_hint"),
			Choices: []resetflow.Choice{device(0), device(1), device(2)}, Buttons: []resetflow.Button{cancel}}},
		{"devices-select", resetflow.Message{Text: cat.T("en", "pick_device", map[string]any{"Count": 8}),
			Choices: []resetflow.Choice{device(0), device(1), device(2), device(3), device(4), device(5), device(6), device(7)}, Buttons: []resetflow.Button{cancel}}},
		{"link", resetflow.Message{Text: cat.T("en", "signin_needed", map[string]any{"Device": "Phone 1", "Until": "09:05 UTC", "Minutes": 5}),
			Link:    &resetflow.Link{URL: "https://bot.example/r/" + "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5", Label: cat.T("en", "signin_button"), Expires: until},
			Buttons: []resetflow.Button{cancel}}},
		{"warning", resetflow.Message{Text: cat.T("en", "warning", map[string]any{"Device": "Phone 1", "Until": "09:05 UTC"}),
			Buttons: []resetflow.Button{{Value: "confirm:0123456789abcdef", Label: cat.T("en", "button_reset"), Style: resetflow.StyleDanger,
				Confirm: &resetflow.Confirm{Title: cat.T("en", "confirm_title"), Text: cat.T("en", "confirm_text", map[string]any{"Device": "Phone 1"}),
					OK: cat.T("en", "button_reset"), Cancel: cat.T("en", "button_back")}}, cancel}}},
		{"passcode", resetflow.Message{Text: cat.T("en", "passcode_intro_android_temporary", map[string]any{"Device": "Phone 1"}),
			Secret: resetflow.NewSecret(cat.T("en", "passcode_label"), "Xy7kP2qR"), Notice: cat.T("en", "guide_android_temporary", map[string]any{"Device": "Phone 1"})}},
	}
	for _, tc := range messages {
		// slack-go: its block types marshalled, as before blockjson.go.
		b.Run(tc.name+"/slack-go", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, blocks := a.renderSlackGo(tc.m, "en")
				if _, err := json.Marshal(blocks); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/writer", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = a.render(tc.m, "en")
			}
		})
	}
	// A full helpdesk digest: as many alerts as one post holds.
	b.Run("alerts-digest", func(b *testing.B) {
		alerts := make([]resetflow.Alert, MaxAlertsPerPost)
		for i := range alerts {
			alerts[i] = resetflow.Alert{ID: fmt.Sprintf("a%04d", i), Kind: resetflow.AlertContactSupport, Time: until, Platform: Platform, ChatUser: "U0001",
				User:   resetflow.User{UPN: fmt.Sprintf("emp%04d@contoso.example", i), DisplayName: "Employee"},
				Device: &resetflow.Device{Name: "Scanner", Maker: "Zebra", Model: "TC52", OS: "Android", OSVersion: "11"}, Detail: "rule=android-enterprise-dedicated"}
		}
		b.ReportAllocs()
		for b.Loop() {
			_, blocks := a.renderAlerts(alerts)
			if _, err := json.Marshal(blocks); err != nil {
				b.Fatal(err)
			}
		}
	})
}
