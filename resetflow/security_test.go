package resetflow_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// failingChat is a chat whose Send fails for messages that match fail; the
// others are recorded by the resetflowtest.Chat.
type failingChat struct {
	*resetflowtest.Chat
	fail func(resetflow.Message) bool
}

func (f failingChat) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	if f.fail(m) {
		return &resetflow.Error{Kind: resetflow.KindUnavailable, Op: "send message", Err: errors.New("slack: cannot_dm_bot")}
	}
	return f.Chat.Send(ctx, to, m)
}

// runUntil advances the fake clock until a message to user satisfies ok.
func (h *harness) runUntil(user string, ok func(resetflow.Message) bool) resetflow.Message {
	h.t.Helper()
	done := make(chan resetflow.Message, 1)
	n := len(h.chat.All())
	go func() { done <- h.chat.WaitFrom(n, user, ok) }()
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

func (h *harness) final(user string) resetflow.Message {
	return h.runUntil(user, func(m resetflow.Message) bool {
		return strings.Contains(m.Text, h.tr("success", map[string]any{"Device": "Phone"})) ||
			strings.Contains(m.Text, "can't show you its result") || strings.Contains(m.Text, "haven't heard back")
	})
}

// TestUndeliveredPasscodeIsNotSuccess (issue 11, finding 2): when the passcode DM
// fails, the person is told it could not be shown and to ask the helpdesk, never
// "success"; the audit trail records the failed delivery; the helpdesk gets a
// delivery_failed alert; the passcode appears nowhere else.
func TestUndeliveredPasscodeIsNotSuccess(t *testing.T) {
	const secret = "Zq7xK2pA"
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", secret), Started: t0}}}
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		d.Devices, d.Directory = s, oneUser{}
		c.PollTimeout = 2 * time.Minute
	})
	h.eng, _ = resetflow.New(resetflow.Config{PublicURL: "http://bot.test", Location: time.UTC, PollTimeout: 2 * time.Minute}, resetflow.Deps{
		Clock: h.clk, Catalog: h.cat, Devices: s, Directory: oneUser{}, Alerter: h.alerts, Recorder: h.rec, Store: h.store,
		Messenger: failingChat{h.chat, func(m resetflow.Message) bool { return m.Secret != nil }},
	})
	h.toConfirmScripted("u1@x")
	got := h.final("u1@x")
	if !strings.Contains(got.Text, "can't show you its result") || !strings.Contains(got.Text, "helpdesk") {
		t.Fatalf("final message %q; want the undelivered sentence naming the helpdesk", got.Text)
	}
	for _, m := range h.chat.All() {
		if strings.Contains(m.M.Text, "successfully") {
			t.Errorf("said success after an undelivered passcode: %q", m.M.Text)
		}
		if m.M.Secret != nil || strings.Contains(m.M.Text+m.M.Notice, secret) {
			t.Errorf("passcode shown in %+v", m.M)
		}
	}
	if !h.rec.Has("delivery", "failed") {
		t.Errorf("audit has no failed delivery: %v", h.rec.Steps())
	}
	if h.rec.Has("delivery", "sent") {
		t.Errorf("audit says sent: %v", h.rec.Steps())
	}
	if k := h.alerts.Kinds(); !slices.Equal(k, []resetflow.AlertKind{resetflow.AlertDeliveryFailed}) {
		t.Errorf("alerts %v, want delivery_failed", k)
	}
	for _, a := range h.alerts.All() {
		if strings.Contains(a.Detail, secret) {
			t.Errorf("alert carries the passcode: %q", a.Detail)
		}
	}
	for _, e := range h.rec.Events() {
		if strings.Contains(e.Detail, secret) {
			t.Errorf("audit carries the passcode: %+v", e)
		}
	}
}

// TestUndeliveredRemovalIsNotSuccess: the iOS-style outcome (no passcode) whose
// message fails is not followed by "success" either.
func TestUndeliveredRemovalIsNotSuccess(t *testing.T) {
	h := newHarness(t)
	fail := true
	var mu sync.Mutex
	h.eng, _ = resetflow.New(resetflow.Config{PublicURL: "http://bot.test", Location: time.UTC}, resetflow.Deps{
		Clock: h.clk, Catalog: h.cat, Devices: h.fleet, Directory: h.fleet, Alerter: h.alerts, Recorder: h.rec, Store: h.store,
		Messenger: failingChat{h.chat, func(m resetflow.Message) bool {
			mu.Lock()
			defer mu.Unlock()
			return fail && strings.Contains(m.Text, "Face ID")
		}},
	})
	h.signIn(alice, token(t, h.pickDevice(alice, "Alice's iPhone")))
	h.click(alice, button(t, h.last(alice), h.tr("button_reset")))
	got := h.runUntil(alice, func(m resetflow.Message) bool {
		return strings.Contains(m.Text, "can't show you its result") || strings.Contains(m.Text, "successfully")
	})
	if strings.Contains(got.Text, "successfully") {
		t.Fatalf("said success: %q", got.Text)
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertDeliveryFailed) || !h.rec.Has("delivery", "failed") {
		t.Errorf("alerts %v, audit %v", h.alerts.Kinds(), h.rec.Steps())
	}
}

// TestDeliveredPasscodeIsAudited: the honest path records the delivery.
func TestDeliveredPasscodeIsAudited(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Zq7xK2pA"), Started: t0}}}
	h := scriptedHarness(t, s)
	h.toConfirmScripted("u1@x")
	h.finishReset("u1@x", "was reset successfully")
	if !h.rec.Has("delivery", "sent") {
		t.Errorf("audit %v", h.rec.Steps())
	}
}

// TestFutureAuthTimeRefused (issue 11, finding 5): an auth_time later than now
// plus auth_skew is not a fresh sign-in; within the skew it is.
func TestFutureAuthTimeRefused(t *testing.T) {
	for _, tt := range []struct {
		ahead time.Duration
		want  resetflow.SignInStatus
	}{
		{2 * time.Minute, resetflow.SignInStale},
		{31 * time.Second, resetflow.SignInStale},
		{10 * time.Second, resetflow.SignInOK},
		{0, resetflow.SignInOK},
	} {
		h := newHarness(t)
		link := h.pickDevice(alice, "Alice's iPhone")
		u, _ := h.fleet.LookupUser(context.Background(), alice)
		res := h.eng.CompleteSignIn(context.Background(), token(t, link), resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: h.clk.Now().Add(tt.ahead)})
		if res.Status != tt.want {
			t.Errorf("auth_time now+%v: status %v, want %v", tt.ahead, res.Status, tt.want)
		}
	}
}

// TestEarlierResultNeverOurs (issue 11, finding 5): a final result without a
// start time, or started more than GraphSkew before our request, is not ours;
// once our reset was seen pending, a final result of another start is not ours.
func TestEarlierResultNeverOurs(t *testing.T) {
	old := resetflow.NewSecret("", "OLDOLD11")
	for name, results := range map[string][]resetflow.ActionResult{
		"zero start":         {{State: resetflow.ActionDone, Passcode: old}},
		"20s before request": {{State: resetflow.ActionDone, Passcode: old, Started: t0.Add(-20 * time.Second)}},
		"other start after ours pending": {{State: resetflow.ActionPending, Started: t0.Add(time.Second)},
			{State: resetflow.ActionDone, Passcode: old, Started: t0.Add(3 * time.Second)}},
	} {
		t.Run(name, func(t *testing.T) {
			s := &scripted{results: results}
			h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
				d.Devices, d.Directory = s, oneUser{}
				c.PollTimeout = time.Minute
			})
			h.toConfirmScripted("u1@x")
			got := h.final("u1@x")
			if !strings.Contains(got.Text, "haven't heard back") {
				t.Fatalf("final %q; want the timeout (the result is not ours)", got.Text)
			}
			for _, m := range h.chat.All() {
				if m.M.Secret != nil {
					t.Fatalf("an earlier reset's passcode was shown")
				}
			}
		})
	}
	t.Run("within graph skew", func(t *testing.T) {
		s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Zq7xK2pA"), Started: t0.Add(-3 * time.Second)}}}
		h := scriptedHarness(t, s)
		h.toConfirmScripted("u1@x")
		h.finishReset("u1@x", "was reset successfully")
	})
}

// flakyStore fails EndReset while failEnd is set.
type flakyStore struct {
	*resetflow.MemoryStore
	mu       sync.Mutex
	failEnd  int // how many EndResets fail from now; -1: all
	ends     int
	failMark bool
}

func (f *flakyStore) MarkDelivered(ctx context.Context, flow string) error {
	f.mu.Lock()
	fail := f.failMark
	f.mu.Unlock()
	if fail {
		return errors.New("disk I/O error")
	}
	return f.MemoryStore.MarkDelivered(ctx, flow)
}

func (f *flakyStore) EndReset(ctx context.Context, flow, outcome string) error {
	f.mu.Lock()
	f.ends++
	fail := f.failEnd != 0
	if f.failEnd > 0 {
		f.failEnd--
	}
	f.mu.Unlock()
	if fail {
		return errors.New("database is locked")
	}
	return f.MemoryStore.EndReset(ctx, flow, outcome)
}

// TestLostEndRecordNeverDeliversTwice (issue 11, finding 5): EndReset failing
// (always) does not make a restart show the same passcode again: the delivery
// was recorded first, and Resume only ends the delivered reset.
func TestLostEndRecordNeverDeliversTwice(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Zq7xK2pA"), Started: t0}}}
	store := &flakyStore{MemoryStore: resetflow.NewMemoryStore(), failEnd: -1}
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		d.Devices, d.Directory, d.Store = s, oneUser{}, store
	})
	h.toConfirmScripted("u1@x")
	h.finishReset("u1@x", "was reset successfully")
	if l, _ := store.InFlight(context.Background()); len(l) != 1 || !l[0].Delivered {
		t.Fatalf("in flight after lost end record: %+v", l)
	}
	if store.ends < 2 {
		t.Errorf("EndReset tried %d times; want retries", store.ends)
	}

	// The restart, hours later, with the store working again.
	store.mu.Lock()
	store.failEnd = 0
	store.mu.Unlock()
	h2 := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) { d.Devices, d.Directory, d.Store = s, oneUser{}, store })
	h2.clk.Advance(3 * time.Hour)
	if err := h2.eng.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h2.eng.Shutdown(context.Background())
	if n := len(h2.chat.All()); n != 0 {
		t.Fatalf("the restart sent %d messages: %v", n, h2.chat.All())
	}
	if l, _ := store.InFlight(context.Background()); len(l) != 0 {
		t.Errorf("the restart did not end the delivered reset: %+v", l)
	}
}

// TestEndResetRetried: one failed EndReset is retried at once.
func TestEndResetRetried(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Zq7xK2pA"), Started: t0}}}
	store := &flakyStore{MemoryStore: resetflow.NewMemoryStore(), failEnd: 1}
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) { d.Devices, d.Directory, d.Store = s, oneUser{}, store })
	h.toConfirmScripted("u1@x")
	h.finishReset("u1@x", "was reset successfully")
	if l, _ := store.InFlight(context.Background()); len(l) != 0 {
		t.Errorf("still in flight after one failed EndReset: %+v", l)
	}
}

// TestResumedPasscodeOlderThanSecretTTLNotShown (issue 11, finding 5): a
// resumed reset whose passcode is older than secret_ttl is not shown; the
// person is told to ask the helpdesk, which is alerted.
func TestResumedPasscodeOlderThanSecretTTLNotShown(t *testing.T) {
	const secret = "Ab3dEf7h"
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", secret), Started: t0, Updated: t0.Add(time.Minute)}}}
	store := resetflow.NewMemoryStore()
	store.BeginReset(context.Background(), resetflow.InFlight{Flow: "f1", Address: addr("u1@x"), Locale: "en", User: resetflow.User{ID: "u1"},
		Device: resetflow.Device{ID: "d1", Name: "Phone"}, Outcome: resetflow.OutcomeAndroidTemporary, Started: t0}, t0.Add(-24*time.Hour), 3)
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		d.Devices, d.Directory, d.Store = s, oneUser{}, store
		c.SecretTTL = 10 * time.Minute
	})
	h.clk.Advance(2 * time.Hour)
	if err := h.eng.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := h.final("u1@x")
	if !strings.Contains(got.Text, "can't show you its result") {
		t.Fatalf("final %q", got.Text)
	}
	for _, m := range h.chat.All() {
		if m.M.Secret != nil || strings.Contains(m.M.Text, "successfully") {
			t.Fatalf("an old passcode was shown after the restart: %+v", m.M)
		}
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertDeliveryFailed) || !h.rec.Has("delivery", "too_old") {
		t.Errorf("alerts %v, audit %v", h.alerts.Kinds(), h.rec.Steps())
	}
}

// TestStartsThrottled (issue 11, finding 5): past StartLimit starts in
// StartWindow, per chat account and per person, the person is asked to wait
// and the device service is not asked; after the window they may start again.
func TestStartsThrottled(t *testing.T) {
	count := &countingDevices{scripted: &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionNone}}}}
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		d.Devices, d.Directory = count, oneUser{}
		c.StartLimit, c.StartWindow = 3, 10*time.Minute
	})
	for range 20 {
		h.say("u1@x", "reset")
		h.say("u1@x", "cancel")
	}
	if n := count.lists(); n != 3 {
		t.Errorf("%d device lists for 20 starts; want 3", n)
	}
	if got := h.last("u1@x").Text; !strings.Contains(h.chat.All()[len(h.chat.All())-2].M.Text, "Please wait until 09:10 UTC") {
		t.Errorf("refusal %q", got)
	}
	// Another chat account of the same person is throttled by the person's count.
	h.eng.Handle(context.Background(), resetflow.Input{From: resetflow.Address{Platform: "other", UserID: "u1@x"}, Email: "u1@x", Text: "reset"})
	if n := count.lists(); n != 3 {
		t.Errorf("a second chat account of the same person listed devices (%d lists)", n)
	}
	h.clk.Advance(10 * time.Minute)
	h.say("u1@x", "reset")
	if n := count.lists(); n != 4 {
		t.Errorf("after the window: %d lists, want 4", n)
	}
}

type countingDevices struct {
	*scripted
	mu sync.Mutex
	n  int
}

func (c *countingDevices) ListDevices(ctx context.Context, u resetflow.User) ([]resetflow.Device, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.scripted.ListDevices(ctx, u)
}

func (c *countingDevices) lists() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// TestConfirmRefusedWhileShuttingDown: a confirm click that arrives while the
// engine drains starts no reset.
func TestConfirmRefusedWhileShuttingDown(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionNone}}}
	h := scriptedHarness(t, s)
	h.say("u1@x", "reset")
	h.click("u1@x", h.last("u1@x").Choices[0].Value)
	h.eng.CompleteSignIn(context.Background(), token(t, h.last("u1@x")), resetflow.Identity{Subject: "u1", UPN: "u1@x", AuthTime: h.clk.Now()})
	warn := h.last("u1@x")
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.click("u1@x", button(t, warn, h.tr("button_reset")))
	if s.resets != 0 {
		t.Fatalf("a reset was requested during shutdown")
	}
	if got := h.last("u1@x").Text; got != h.tr("shutting_down") {
		t.Errorf("said %q", got)
	}
}

// TestUnrecordedDeliveryNotShown: when the delivery cannot be recorded first,
// the passcode is not shown (a restart could show it again); the person is
// told to ask the helpdesk, which is alerted.
func TestUnrecordedDeliveryNotShown(t *testing.T) {
	s := &scripted{results: []resetflow.ActionResult{{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "Zq7xK2pA"), Started: t0}}}
	store := &flakyStore{MemoryStore: resetflow.NewMemoryStore(), failMark: true}
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) { d.Devices, d.Directory, d.Store = s, oneUser{}, store })
	h.toConfirmScripted("u1@x")
	got := h.final("u1@x")
	if !strings.Contains(got.Text, "can't show you its result") {
		t.Fatalf("final %q", got.Text)
	}
	for _, m := range h.chat.All() {
		if m.M.Secret != nil {
			t.Fatal("the passcode was shown without its delivery recorded")
		}
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertDeliveryFailed) || !h.rec.Has("delivery", "not_recorded") {
		t.Errorf("alerts %v, audit %v", h.alerts.Kinds(), h.rec.Steps())
	}
}
