package resetflow_test

import (
	"strings"
	"testing"
)

// TestTypedDeviceChoice: a device is picked by a full-width digit or by its name,
// and a name that fits no device (or several) picks nothing.
func TestTypedDeviceChoice(t *testing.T) {
	tests := []struct {
		typed string
		want  string // device named in the sign-in message; "" for no pick
	}{
		{"１", "Alice's iPhone"},
		{"２", "Alice's Pixel 8"},
		{"Alice's Lumia 950", "Alice's Lumia 950"},
		{"alice's pixel 8", "Alice's Pixel 8"},
		{"Ｌｕｍｉａ", "Alice's Lumia 950"},
		{"pixel", "Alice's Pixel 8"},
		{"Alice's", ""}, // all three
		{"Galaxy", ""},  // none of hers
	}
	for _, tt := range tests {
		t.Run(tt.typed, func(t *testing.T) {
			h := newHarness(t)
			h.say(alice, "reset")
			h.say(alice, tt.typed)
			m := h.last(alice)
			if tt.want == "" {
				if m.Link != nil || h.eng.Active() != 1 {
					t.Fatalf("%q picked a device: %q", tt.typed, m.Text)
				}
				if m.Text != h.tr("unknown_input") {
					t.Errorf("%q said %q", tt.typed, m.Text)
				}
				return
			}
			if m.Link == nil && len(m.Buttons) == 0 {
				t.Fatalf("%q did not pick: %q", tt.typed, m.Text)
			}
			if !strings.Contains(m.Text, tt.want) {
				t.Errorf("%q: next message %q does not name %q", tt.typed, m.Text, tt.want)
			}
		})
	}
	t.Run("a name outside the device list is not a pick", func(t *testing.T) {
		h := newHarness(t)
		h.say(alice, "Alice's iPhone")
		if h.eng.Active() != 0 || h.last(alice).Text != h.tr("unknown_input") {
			t.Fatalf("a device name with no conversation did something: %q", h.last(alice).Text)
		}
	})
}
