package slack_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

// TestAppHome: opening the Home tab publishes what the bot does, a "Reset a
// passcode" button and the person's recent resets (no passcodes), in their
// language; the button starts a reset in the DM.
func TestAppHome(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{}
	at := time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)
	e := start(t, options{configure: func(c *slackadapter.Config) {
		c.RecentResets = func(_ context.Context, identity string) ([]slackadapter.HomeReset, error) {
			mu.Lock()
			asked[identity]++
			mu.Unlock()
			if identity == "alice@contoso.example" {
				return []slackadapter.HomeReset{{Time: at, Device: "Alice's Pixel 8", Done: true}, {Time: at.Add(time.Hour), Device: "Alice's iPhone"}}, nil
			}
			return nil, nil
		}
	}})

	e.Deliver(e.fs.AppHomeOpened(alice, "home"))
	var home slacktest.Home
	if err := e.fs.WaitFor(e.ctx, func() bool { var ok bool; home, ok = e.fs.Home(alice); return ok }); err != nil {
		t.Fatal("no Home tab published")
	}
	text := home.Texts()
	for _, want := range []string{"Company Portal", "Your recent resets",
		"2026-11-20 10:30 · Alice's iPhone · not completed", "2026-11-20 09:30 · Alice's Pixel 8 · reset"} {
		if !strings.Contains(text, want) {
			t.Errorf("Home tab lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "Alice's iPhone") > strings.Index(text, "Alice's Pixel 8") {
		t.Errorf("recent resets not newest first:\n%s", text)
	}
	var button *slacktest.Action
	for _, a := range home.Actions() {
		if a.Text == "Reset a passcode" {
			button = &a
		}
	}
	if button == nil {
		t.Fatalf("no Reset a passcode button: %+v", home.Actions())
	}
	// The Messages tab's events are not the Home tab's.
	e.Deliver(e.fs.AppHomeOpened(alice, "messages"))
	e.Deliver(e.fs.DM(alice, "help"))
	e.WaitMessage(slacktest.IM(alice), "help", slacktest.HasText("Company Portal"))
	if h, _ := e.fs.Home(alice); h.Publishes != 1 {
		t.Errorf("opening the Messages tab published the Home tab (%d publishes)", h.Publishes)
	}

	// The button starts a reset in the DM.
	env, err := e.fs.ClickHome(alice, button.ActionID)
	if err != nil {
		t.Fatal(err)
	}
	e.Deliver(env)
	e.WaitMessage(slacktest.IM(alice), "device list", slacktest.HasAction("pcb_choice_1"))

	// Bob reads it in Japanese, with no resets yet.
	e.Deliver(e.fs.AppHomeOpened(bob, "home"))
	var bh slacktest.Home
	if err := e.fs.WaitFor(e.ctx, func() bool { var ok bool; bh, ok = e.fs.Home(bob); return ok }); err != nil {
		t.Fatal("no Home tab for bob")
	}
	if !strings.Contains(bh.Texts(), "ポータル サイト") || !strings.Contains(bh.Texts(), "過去 30 日間にリセットはありません") {
		t.Errorf("bob's Home tab:\n%s", bh.Texts())
	}
	for _, c := range e.fs.CallsWhere(func(c slacktest.Call) bool { return c.Method == "views.publish" }) {
		if !c.OK() {
			t.Errorf("views.publish failed: %s", c.Error)
		}
	}
}
