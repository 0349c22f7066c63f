package resetflow_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// benchDirectory knows everyone: the email is the object id and the UPN.
type benchDirectory struct{}

func (benchDirectory) LookupUser(_ context.Context, email string) (resetflow.User, error) {
	return resetflow.User{ID: email, UPN: email}, nil
}

// benchDevices gives everyone one Android Enterprise phone.
type benchDevices struct{}

func (benchDevices) ListDevices(_ context.Context, u resetflow.User) ([]resetflow.Device, error) {
	return []resetflow.Device{{ID: "dev-" + u.ID, UserID: u.ID, UserUPN: u.UPN, Name: "Pixel 8", Maker: "Google", Model: "Pixel 8",
		OS: "Android", OSVersion: "15", Mode: resetflow.ModeAndroidEnterpriseFullyManaged, Owner: resetflow.OwnerCompany, LastSync: t0}}, nil
}
func (benchDevices) ResetPasscode(context.Context, resetflow.Device) error { return nil }
func (benchDevices) ResetResult(context.Context, resetflow.Device) (resetflow.ActionResult, error) {
	return resetflow.ActionResult{State: resetflow.ActionDone}, nil
}

// lastMessage keeps each person's latest message.
type lastMessage struct {
	mu   sync.Mutex
	last map[string]resetflow.Message
}

func (l *lastMessage) Send(_ context.Context, to resetflow.Address, m resetflow.Message) error {
	l.mu.Lock()
	l.last[to.UserID] = m
	l.mu.Unlock()
	return nil
}

type nopAlerter struct{}

func (nopAlerter) Alert(context.Context, resetflow.Alert) {}

func benchEngine(b *testing.B) (*resetflow.Engine, *lastMessage) {
	b.Helper()
	chat := &lastMessage{last: map[string]resetflow.Message{}}
	cfg := resetflow.DefaultConfig()
	cfg.PublicURL = "http://bot.test"
	eng, err := resetflow.New(cfg, resetflow.Deps{Clock: clock.NewFake(t0), Catalog: catalog.MustNew("en"),
		Devices: benchDevices{}, Directory: benchDirectory{}, Messenger: chat, Alerter: nopAlerter{}})
	if err != nil {
		b.Fatal(err)
	}
	return eng, chat
}

func benchUser(i int) string { return fmt.Sprintf("user%07d@contoso.example", i) }

func benchInput(user, text, action string) resetflow.Input {
	return resetflow.Input{From: resetflow.Address{Platform: "bench", UserID: user, Channel: "D" + user}, Email: user, Locale: "en", Text: text, Action: action}
}

// BenchmarkEngineStep is one step of a conversation through the engine, with
// in-memory ports: the work the bot adds to each chat message, apart from the
// platform and the backends.
func BenchmarkEngineStep(b *testing.B) {
	ctx := context.Background()
	// reset: "reset" -> the device list (directory, limit, device list, audit).
	b.Run("reset", func(b *testing.B) {
		eng, _ := benchEngine(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			eng.Handle(ctx, benchInput(benchUser(i), "reset", ""))
		}
	})
	// pick: the device button -> the sign-in link (rules, window, audit).
	b.Run("pick", func(b *testing.B) {
		eng, chat := benchEngine(b)
		const people = 4096
		picks := make([]string, people)
		for i := range people {
			eng.Handle(ctx, benchInput(benchUser(i), "reset", ""))
			picks[i] = chat.last[benchUser(i)].Choices[0].Value
		}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			u := benchUser(i % people)
			if i >= people {
				// The conversation moved on: start it again, untimed.
				b.StopTimer()
				eng.Handle(ctx, benchInput(u, "cancel", ""))
				eng.Handle(ctx, benchInput(u, "reset", ""))
				picks[i%people] = chat.last[u].Choices[0].Value
				b.StartTimer()
			}
			eng.Handle(ctx, benchInput(u, "", picks[i%people]))
		}
	})
	// signin: the sign-in completes -> the warning with its confirm button.
	b.Run("signin", func(b *testing.B) {
		eng, chat := benchEngine(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			u := benchUser(i)
			eng.Handle(ctx, benchInput(u, "reset", ""))
			eng.Handle(ctx, benchInput(u, "", chat.last[u].Choices[0].Value))
			link := chat.last[u].Link.URL
			tok := link[strings.LastIndex(link, "/r/")+3:]
			b.StartTimer()
			if r := eng.CompleteSignIn(ctx, tok, resetflow.Identity{Subject: u, UPN: u, AuthTime: t0}); r.Status != resetflow.SignInOK {
				b.Fatalf("sign-in %v", r.Status)
			}
		}
	})
	// help: a message that changes nothing.
	b.Run("help", func(b *testing.B) {
		eng, _ := benchEngine(b)
		b.ReportAllocs()
		for b.Loop() {
			eng.Handle(ctx, benchInput(benchUser(0), "help", ""))
		}
	})
}
