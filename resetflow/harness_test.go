package resetflow_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

var t0 = resetflowtest.T0

type harness struct {
	t      *testing.T
	clk    *clock.Fake
	cat    *catalog.Catalog
	fleet  *fleet.Fleet
	chat   *resetflowtest.Chat
	alerts *resetflowtest.Alerts
	rec    *resetflowtest.Audit
	store  *resetflow.MemoryStore
	links  *resetflow.MemoryLinks
	logs   *resetflowtest.Buffer
	eng    *resetflow.Engine
}

type option func(*resetflow.Config, *resetflow.Deps)

// newHarness stands the engine up with the test kit (the demo fleet answering
// after three seconds).
func newHarness(t *testing.T, opts ...option) *harness {
	t.Helper()
	h := &harness{t: t}
	k := resetflowtest.Start(t, resetflowtest.WithResetDelay(3*time.Second), func(_ *resetflowtest.Kit, cfg *resetflow.Config, deps *resetflow.Deps) {
		for _, o := range opts {
			o(cfg, deps)
		}
	})
	h.clk, h.cat, h.fleet, h.chat, h.alerts, h.rec, h.store, h.links, h.logs, h.eng = k.Clock, k.Catalog, k.Fleet, k.Chat, k.Alerts, k.Audit, k.Store, k.Links, k.Logs, k.Engine
	return h
}

func addr(user string) resetflow.Address {
	return resetflow.Address{Platform: "test", UserID: user}
}

func (h *harness) say(user, text string) {
	h.eng.Handle(context.Background(), resetflow.Input{From: addr(user), Email: user, Text: text})
}

func (h *harness) click(user, value string) {
	h.eng.Handle(context.Background(), resetflow.Input{From: addr(user), Email: user, Action: value})
}

// last returns the latest message to user.
func (h *harness) last(user string) resetflow.Message {
	h.t.Helper()
	all := h.chat.All()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].To.UserID == user {
			return all[i].M
		}
	}
	h.t.Fatalf("no message to %s", user)
	return resetflow.Message{}
}

func (h *harness) count(user string) int {
	n := 0
	for _, s := range h.chat.All() {
		if s.To.UserID == user {
			n++
		}
	}
	return n
}

// tr is the English catalog sentence, for comparing with what the engine said.
func (h *harness) tr(id string, data ...map[string]any) string { return h.cat.T("en", id, data...) }

// pickDevice starts a reset and picks the device with the given name.
func (h *harness) pickDevice(user, name string) resetflow.Message {
	h.t.Helper()
	h.say(user, "reset my passcode")
	m := h.last(user)
	for _, c := range m.Choices {
		if c.Label == name {
			h.click(user, c.Value)
			return h.last(user)
		}
	}
	h.t.Fatalf("device %q not offered; got %+v", name, m)
	return resetflow.Message{}
}

// token is the sign-in token of a link message.
func token(t *testing.T, m resetflow.Message) string {
	t.Helper()
	if m.Link == nil {
		t.Fatalf("message has no link: %q", m.Text)
	}
	i := strings.LastIndex(m.Link.URL, "/r/")
	return m.Link.URL[i+3:]
}

func (h *harness) signIn(user string, tok string) resetflow.SignInResult {
	u, err := h.fleet.LookupUser(context.Background(), user)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.eng.CompleteSignIn(context.Background(), tok, resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: h.clk.Now()})
}

func button(t *testing.T, m resetflow.Message, label string) string {
	t.Helper()
	for _, b := range m.Buttons {
		if b.Label == label {
			return b.Value
		}
	}
	t.Fatalf("no button %q in %+v", label, m)
	return ""
}

// finishReset advances the fake clock until the reset's final message arrives.
func (h *harness) finishReset(user string, final string) resetflow.Message {
	h.t.Helper()
	done := make(chan resetflow.Message, 1)
	n := len(h.chat.All())
	go func() {
		done <- h.chat.WaitFrom(n, user, func(m resetflow.Message) bool { return strings.Contains(m.Text, final) })
	}()
	for {
		timers := make(chan struct{})
		go func() { h.clk.WaitForTimers(1); close(timers) }()
		select {
		case m := <-done:
			return m
		case <-timers:
			h.clk.Advance(time.Second)
		}
	}
}

func (h *harness) String() string { return fmt.Sprint(h.chat.All()) }
