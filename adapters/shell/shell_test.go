package shell

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/resetflow"
)

type record struct {
	mu  sync.Mutex
	ins []resetflow.Input
}

func (r *record) Handle(_ context.Context, in resetflow.Input) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ins = append(r.ins, in)
}

func TestNumbersPickOptionsAndAsSwitchesUser(t *testing.T) {
	var out bytes.Buffer
	a := New(strings.NewReader(""), &out, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	a.Send(context.Background(), resetflow.Address{}, resetflow.Message{
		Text:    "pick",
		Choices: []resetflow.Choice{{Value: "pick:f:0", Label: "Phone", Detail: "iOS"}},
		Buttons: []resetflow.Button{{Value: "cancel:f", Label: "Cancel"}},
	})
	if got := a.input("2"); got.Action != "cancel:f" || got.Text != "" {
		t.Errorf("2 = %+v", got)
	}
	if got := a.input("3"); got.Action != "" || got.Text != "3" {
		t.Errorf("3 (out of range) = %+v; want text for the engine", got)
	}
	if !strings.Contains(out.String(), "  [1] Phone — iOS\n  [2] Cancel\n") {
		t.Errorf("rendering:\n%s", out.String())
	}
	r := &record{}
	in := strings.NewReader("/as bob@x\nreset\n")
	b := New(in, &out, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	if err := b.Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(r.ins) != 1 || r.ins[0].Email != "bob@x" || r.ins[0].From.UserID != "bob@x" {
		t.Errorf("inputs %+v", r.ins)
	}
}

func TestAlertsAreMarkedAndCarryNoSecret(t *testing.T) {
	var out bytes.Buffer
	a := New(strings.NewReader(""), &out, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	a.PostAlerts(context.Background(), []resetflow.Alert{{Kind: resetflow.AlertContactSupport, User: resetflow.User{UPN: "bob@x"},
		Device: &resetflow.Device{Name: "Scanner", Maker: "Zebra", Model: "TC52", OS: "Android", OSVersion: "11"}, Time: time.Unix(0, 0)}})
	s := out.String()
	if !strings.HasPrefix(s, "[helpdesk] Passcode reset: company device needs support") || !strings.Contains(s, "bob@x") || !strings.Contains(s, "Zebra TC52") {
		t.Errorf("alert line: %q", s)
	}
}

// BenchmarkSend renders a device list to the terminal.
func BenchmarkSend(b *testing.B) {
	a := New(strings.NewReader(""), io.Discard, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	m := resetflow.Message{Text: "Which device?", Notice: "Pick a device.",
		Choices: []resetflow.Choice{{Value: "pick:f:0", Label: "Phone 0", Detail: "Google Pixel 8 · Android 15"}, {Value: "pick:f:1", Label: "Phone 1", Detail: "Apple iPhone 15 · iOS 18.1"}},
		Buttons: []resetflow.Button{{Value: "cancel:f", Label: "Cancel"}}}
	b.ReportAllocs()
	for b.Loop() {
		a.Send(context.Background(), resetflow.Address{}, m)
	}
}

// TestPromptAndLeaving: on a terminal the chat prompts "you> ", and "exit"
// cancels an open conversation, says goodbye and leaves.
func TestPromptAndLeaving(t *testing.T) {
	var out bytes.Buffer
	r := &record{}
	a := New(strings.NewReader("reset\nexit\nreset\n"), &out, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	a.Prompt = true
	a.Note = "logs elsewhere"
	a.Send(context.Background(), resetflow.Address{}, resetflow.Message{Text: "pick", Buttons: []resetflow.Button{{Value: "cancel:f", Label: "Cancel"}}})
	if err := a.Run(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if len(r.ins) != 2 || r.ins[0].Text != "reset" || r.ins[1].Text != "cancel" {
		t.Errorf("inputs %+v; want reset, then the cancel of exit, and nothing after exit", r.ins)
	}
	s := out.String()
	if !strings.Contains(s, "logs elsewhere\nyou> ") || !strings.HasSuffix(s, "Bye.\n") {
		t.Errorf("output:\n%q", s)
	}
	if !isLeave("QUIT") || isLeave("quit now") {
		t.Errorf("isLeave")
	}
}

// TestProgressIsDrawnOverOnATerminal: on a terminal, updates of one progress
// message (same Replace key) are drawn over the previous one, the final one
// included; through a pipe every update is a new line, so a script reads them all.
func TestProgressIsDrawnOverOnATerminal(t *testing.T) {
	send := func(a *Adapter) {
		ctx := context.Background()
		a.Send(ctx, resetflow.Address{}, resetflow.Message{Text: "Resetting (0:02)", Replace: "progress:f"})
		a.Send(ctx, resetflow.Address{}, resetflow.Message{Text: "Pending (0:10)", Replace: "progress:f"})
		a.Send(ctx, resetflow.Address{}, resetflow.Message{Text: "Done (0:12)", Replace: "progress:f", Final: true})
		a.Send(ctx, resetflow.Address{}, resetflow.Message{Text: "Your passcode"})
	}
	var term bytes.Buffer
	a := New(strings.NewReader(""), &term, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	a.Prompt = true
	send(a)
	if got, want := term.String(), "bot> Resetting (0:02)\n\033[1A\r\033[Jbot> Pending (0:10)\n\033[1A\r\033[Jbot> Done (0:12)\nbot> Your passcode\n"; got != want {
		t.Errorf("terminal output\n%q\nwant\n%q", got, want)
	}
	var pipe bytes.Buffer
	p := New(strings.NewReader(""), &pipe, catalog.MustNew("en"), "en", time.UTC, "alice@x", nil)
	send(p)
	if got, want := pipe.String(), "bot> Resetting (0:02)\nbot> Pending (0:10)\nbot> Done (0:12)\nbot> Your passcode\n"; got != want {
		t.Errorf("pipe output\n%q\nwant\n%q", got, want)
	}
}
