package resetflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// TestPasscodeMessageCarriesLocale: the message with the temporary passcode
// says which language it is written in (Message.Locale), so an adapter renders
// and later removes it in that language without guessing: Japanese for a
// Japanese conversation, English for an English one.
func TestPasscodeMessageCarriesLocale(t *testing.T) {
	for _, loc := range []string{"ja", "en"} {
		t.Run(loc, func(t *testing.T) {
			h := newHarness(t)
			in := func(text, action string) {
				h.eng.Handle(context.Background(), resetflow.Input{From: addr(alice), Email: alice, Locale: loc, Text: text, Action: action})
			}
			in("reset", "")
			var pick string
			for _, c := range h.last(alice).Choices {
				if c.Label == "Alice's Pixel 8" {
					pick = c.Value
				}
			}
			if pick == "" {
				t.Fatalf("device not offered: %+v", h.last(alice))
			}
			in("", pick)
			h.signIn(alice, token(t, h.last(alice)))
			in("", button(t, h.last(alice), h.cat.T(loc, "button_reset")))
			n := len(h.chat.All())
			got := make(chan resetflow.Message, 1)
			go func() {
				got <- h.chat.WaitFrom(n, alice, func(m resetflow.Message) bool { return m.Secret != nil })
			}()
			for {
				timers := make(chan struct{})
				go func() { h.clk.WaitForTimers(1); close(timers) }()
				select {
				case m := <-got:
					if m.Locale != loc {
						t.Fatalf("the passcode message has Locale %q, want %q", m.Locale, loc)
					}
					if m.Secret.Label != h.cat.T(loc, "passcode_label") {
						t.Fatalf("label %q is not in %s", m.Secret.Label, loc)
					}
					return
				case <-timers:
					h.clk.Advance(time.Second)
				}
			}
		})
	}
}
