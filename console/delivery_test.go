package console_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
)

// undeliverableUser is the chat user whose chat refuses the passcode message.
const undeliverableUser = "D-bob"

// undeliverable is the harness's chat: messages carrying a passcode to one
// chat user fail, as a chat that is down would (the engine then records the
// delivery as failed); everything else reaches the recording chat.
type undeliverable struct {
	h  *harness
	to string
}

func (u *undeliverable) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	if to.UserID == u.to && m.Secret != nil {
		u.h.mu.Lock()
		u.h.secrets = append(u.h.secrets, m.Secret.Reveal()) // never shown, yet must not leak either
		u.h.mu.Unlock()
		return errors.New("chat unavailable")
	}
	return u.h.chat.Send(ctx, to, m)
}

// TestOverviewCompletedIsShown: the overview counts a reset as completed only
// when its result was shown in chat (delivery "sent"), reports a done reset
// whose result was not shown (delivery "missing", "failed", ...) as "Done,
// not shown", and times the unlock from the confirmation to the delivery.
// A result "done" still waiting for its delivery has not ended.
func TestOverviewCompletedIsShown(t *testing.T) {
	h := newHarness(t, demo)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var evs []resetflow.Event
	var devs []resetflow.Device
	for i, delivery := range []string{"sent", "sent", "missing", "failed", "too_old", ""} {
		flow, dev := fmt.Sprint("flow", i), fmt.Sprint("dev", i)
		devs = append(devs, resetflow.Device{ID: dev, OS: "iOS"})
		at := day.Add(9*time.Hour + time.Duration(i)*time.Hour)
		ev := func(d time.Duration, step, outcome string) {
			evs = append(evs, resetflow.Event{Time: at.Add(d), Flow: flow, Step: step, Outcome: outcome, Platform: "slack", ChatUser: "U1", DeviceID: dev})
		}
		ev(0, "request", "")
		ev(time.Second, "eligibility", "allow")
		ev(time.Minute, "confirm", "")
		ev(time.Minute+10*time.Second, "result", "done")
		if delivery != "" {
			// The first is shown 20 s after its result, the second 40 s.
			ev(time.Minute+10*time.Second+time.Duration(20*(i+1))*time.Second, "delivery", delivery)
		}
	}
	if err := h.cs.RecordWithDevices(ctx, evs, devs); err != nil {
		t.Fatal(err)
	}
	o, err := console.ComputeOverview(ctx, h.cs, console.Period{Name: "custom", Since: day, Until: day.AddDate(0, 0, 1)}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if o.Requests != 6 || o.Completed != 2 {
		t.Errorf("requests %d, completed %d; want 6 and 2 (the results shown, not the 6 results done)", o.Requests, o.Completed)
	}
	got := map[string]int{}
	for _, l := range o.Outcomes {
		got[l.Key] = l.N
	}
	if want := map[string]int{"completed": 2, "not_shown": 3, "other": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("outcomes %v, want %v", got, want)
	}
	if o.UnlockCount != 2 || o.UnlockP50 != 30*time.Second || o.UnlockP90 != 50*time.Second {
		t.Errorf("time to unlock: %d, p50 %v, p90 %v; want 2, 30s, 50s (confirmation to the result shown)", o.UnlockCount, o.UnlockP50, o.UnlockP90)
	}
	if len(o.Platforms) != 1 || o.Platforms[0].Completed != 2 || o.Platforms[0].Failed != 0 || o.Platforms[0].Picked != 6 {
		t.Errorf("platforms %+v; want iOS with 6 picked, 2 completed, none failed", o.Platforms)
	}
	if len(o.Chats) != 1 || o.Chats[0].Completed != 2 {
		t.Errorf("chats %+v; want slack with 2 completed", o.Chats)
	}
	if d := o.Days[0]; d.Outcomes["completed"] != 2 || d.Outcomes["not_shown"] != 3 || d.Unlocks != 2 {
		t.Errorf("the day: %+v", d)
	}
}
