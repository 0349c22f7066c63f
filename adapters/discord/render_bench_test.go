package discord

import (
	"fmt"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

// BenchmarkRender renders each kind of engine message as Discord content and
// components, with allocations (go test -run '^$' -bench Render -benchmem).
func BenchmarkRender(b *testing.B) {
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
		{"devices", resetflow.Message{Text: cat.T("en", "pick_device", map[string]any{"Count": 3}), Choices: []resetflow.Choice{device(0), device(1), device(2)}, Buttons: []resetflow.Button{cancel}}},
		{"devices-select", resetflow.Message{Text: cat.T("en", "pick_device", map[string]any{"Count": 8}),
			Choices: []resetflow.Choice{device(0), device(1), device(2), device(3), device(4), device(5), device(6), device(7)}, Buttons: []resetflow.Button{cancel}}},
		{"link", resetflow.Message{Text: cat.T("en", "signin_needed", map[string]any{"Device": "Phone 1", "Until": "09:05 UTC", "Minutes": 5}),
			Link: &resetflow.Link{URL: "https://bot.example/r/Zm9vYmFyYmF6cXV4", Label: cat.T("en", "signin_button"), Expires: until}, Buttons: []resetflow.Button{cancel}}},
		{"warning", resetflow.Message{Text: cat.T("en", "warning", map[string]any{"Device": "Phone 1", "Until": "09:05 UTC"}),
			Buttons: []resetflow.Button{{Value: "confirm:0123456789abcdef", Label: cat.T("en", "button_reset"), Style: resetflow.StyleDanger}, cancel}}},
		{"passcode", resetflow.Message{Text: cat.T("en", "passcode_intro_android_temporary", map[string]any{"Device": "Phone 1"}),
			Secret: resetflow.NewSecret(cat.T("en", "passcode_label"), "Xy7kP2qR"), Notice: cat.T("en", "guide_android_temporary", map[string]any{"Device": "Phone 1"})}},
	}
	for _, tc := range messages {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := render(tc.m)
				if r.content == "" {
					b.Fatal("empty render")
				}
			}
		})
	}
}
