package resetflow_test

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/passcodebot/passcodebot/resetflow"
)

// FuzzHandle feeds arbitrary text and button values, in arbitrary order, to a
// live conversation. Whatever arrives: no panic, every reply is a catalog
// sentence (never an id or an empty text), and nothing is ever reset, because
// no input can stand in for the sign-in.
func FuzzHandle(f *testing.F) {
	f.Add("reset", "", "1", "")
	f.Add("パスコードをリセット", "pick:0000000000000000:0", "help", "confirm:0000000000000000")
	f.Add("", "start", "cancel", "cancel:")
	f.Add("unlink", ":::", "99999999999999999999", "pick::-1")
	f.Fuzz(func(t *testing.T, text1, action1, text2, action2 string) {
		h := newHarness(t)
		ctx := context.Background()
		who := alice
		h.say(who, "reset")
		list := h.last(who)
		for _, in := range []resetflow.Input{
			{Text: text1}, {Action: action1}, {Text: text2}, {Action: action2},
			{Action: strings.Replace(action1, "0000000000000000", flowOf(list), 1)},
			{Action: strings.Replace(action2, "0000000000000000", flowOf(list), 1)},
		} {
			if in.Text == "" && in.Action == "" {
				continue
			}
			in.From, in.Email = addr(who), who
			h.eng.Handle(ctx, in)
		}
		for _, m := range h.chat.all() {
			if strings.TrimSpace(m.M.Text) == "" || !utf8.ValidString(m.M.Text) {
				t.Fatalf("empty or invalid reply %q", m.M.Text)
			}
		}
		if h.fleet.Resets() != 0 {
			t.Fatalf("a reset happened without a sign-in")
		}
	})
}

func flowOf(m resetflow.Message) string {
	if len(m.Choices) == 0 {
		return ""
	}
	parts := strings.Split(m.Choices[0].Value, ":")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}
