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
)

// journal is the order of what the engine writes durably and what it does
// outside: each durable write (one commit) and each message sent and device
// request, as they happen.
type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(s string) {
	j.mu.Lock()
	j.entries = append(j.entries, s)
	j.mu.Unlock()
}

func (j *journal) all() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.entries)
}

// durable is a Recorder, Store and Conversations in one database, like SQLite:
// a Committer. Each method call is one commit; it is journaled once it returned.
type durable struct {
	*resetflow.MemoryStore
	j *journal

	mu     sync.Mutex
	events []resetflow.Event
	open   map[string]bool
	// failCommit, when set, fails every Commit (writing nothing); failApart
	// fails every other write.
	failCommit, failApart error
}

func newDurable(j *journal) *durable {
	return &durable{MemoryStore: resetflow.NewMemoryStore(), j: j, open: map[string]bool{}}
}

func (d *durable) fail(commit, apart error) {
	d.mu.Lock()
	d.failCommit, d.failApart = commit, apart
	d.mu.Unlock()
}

func (d *durable) apartErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.failApart
}

func steps(evs []resetflow.Event) string {
	var s []string
	for _, e := range evs {
		s = append(s, e.Step)
	}
	return strings.Join(s, ",")
}

func (d *durable) Record(ctx context.Context, e resetflow.Event) error {
	return d.RecordBatch(ctx, []resetflow.Event{e})
}

func (d *durable) RecordBatch(_ context.Context, evs []resetflow.Event) error {
	if err := d.apartErr(); err != nil {
		return err
	}
	d.mu.Lock()
	d.events = append(d.events, evs...)
	d.mu.Unlock()
	d.j.add("commit " + steps(evs))
	return nil
}

func (d *durable) Keeps(port any) bool {
	p, ok := port.(*durable)
	return ok && p == d
}

func (d *durable) Commit(ctx context.Context, c resetflow.Commit) error {
	d.mu.Lock()
	err := d.failCommit
	d.mu.Unlock()
	if err != nil {
		return err
	}
	parts := []string{steps(c.Events)}
	if c.Begin != nil {
		// The memory store's own check of the limit, inside this "transaction".
		err = d.MemoryStore.BeginReset(ctx, c.Begin.Reset, c.Begin.Since, c.Begin.Limit)
		if err != nil && !errors.Is(err, resetflow.ErrLimitReached) {
			return err
		}
		parts = append(parts, "+begin")
	}
	d.mu.Lock()
	d.events = append(d.events, c.Events...)
	if c.Opened != nil {
		d.open[c.Opened.Flow] = true
		parts = append(parts, "+opened")
	}
	if c.Closed != "" {
		delete(d.open, c.Closed)
		parts = append(parts, "+closed")
	}
	d.mu.Unlock()
	if c.Delivered != "" {
		d.MemoryStore.MarkDelivered(ctx, c.Delivered)
		parts = append(parts, "+delivered")
	}
	if c.End != nil {
		d.MemoryStore.EndReset(ctx, c.End.Flow, c.End.Outcome)
		parts = append(parts, "+end")
	}
	d.j.add("commit " + strings.Join(parts, ""))
	return err
}

func (d *durable) BeginReset(ctx context.Context, r resetflow.InFlight, since time.Time, limit int) error {
	if err := d.apartErr(); err != nil {
		return err
	}
	err := d.MemoryStore.BeginReset(ctx, r, since, limit)
	d.j.add("commit begin")
	return err
}

func (d *durable) MarkDelivered(ctx context.Context, flow string) error {
	if err := d.apartErr(); err != nil {
		return err
	}
	d.j.add("commit delivered")
	return d.MemoryStore.MarkDelivered(ctx, flow)
}

func (d *durable) EndReset(ctx context.Context, flow, outcome string) error {
	if err := d.apartErr(); err != nil {
		return err
	}
	d.j.add("commit end")
	return d.MemoryStore.EndReset(ctx, flow, outcome)
}

func (d *durable) ConversationOpened(_ context.Context, flow string, _ resetflow.Address, _ string, _ time.Time) error {
	if err := d.apartErr(); err != nil {
		return err
	}
	d.mu.Lock()
	d.open[flow] = true
	d.mu.Unlock()
	d.j.add("commit opened")
	return nil
}

func (d *durable) ConversationClosed(_ context.Context, flow string) error {
	if err := d.apartErr(); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.open, flow)
	d.mu.Unlock()
	d.j.add("commit closed")
	return nil
}

func (d *durable) has(step string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.ContainsFunc(d.events, func(e resetflow.Event) bool { return e.Step == step })
}

func (d *durable) opened() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.open)
}

// journaled journals each message sent and each device request.
type journaled struct {
	resetflow.Devices
	next resetflow.Messenger
	j    *journal
}

func (m journaled) Send(ctx context.Context, to resetflow.Address, msg resetflow.Message) error {
	label := "text"
	switch {
	case len(msg.Choices) > 0:
		label = "device list"
	case msg.Link != nil:
		label = "sign-in link"
	case len(msg.Buttons) > 0 && msg.Buttons[0].Style == resetflow.StyleDanger:
		label = "warning"
	case msg.Secret != nil:
		label = "passcode"
	case msg.Replace != "":
		label = "progress"
	}
	m.j.add("send " + label)
	return m.next.Send(ctx, to, msg)
}

func (m journaled) ResetPasscode(ctx context.Context, d resetflow.Device) error {
	m.j.add("graph reset")
	return m.Devices.ResetPasscode(ctx, d)
}

// committed stands the engine up on a durable Committer, journaling.
func committed(t *testing.T) (*harness, *durable, *journal) {
	j := &journal{}
	d := newDurable(j)
	h := newHarness(t, func(_ *resetflow.Config, deps *resetflow.Deps) {
		jd := journaled{Devices: deps.Devices, next: deps.Messenger, j: j}
		deps.Recorder, deps.Store, deps.Conversations, deps.Messenger, deps.Devices = d, d, d, jd, jd
	})
	return h, d, j
}

// TestWholeResetCommitsOncePerAction: with one database for the audit trail,
// the store and the open conversations, a whole reset costs one commit per
// chat action before its reply (DM, pick, sign-in, confirm), one after the
// reset request (what the device service was asked), one before the passcode
// (result, delivered, end) and one after it (delivery): 7, where each
// record and state change went apart before (12). And each commit comes
// before the effect it describes.
func TestWholeResetCommitsOncePerAction(t *testing.T) {
	h, _, j := committed(t)
	m := h.pickDevice("alice@contoso.example", "Alice's Pixel 8")
	if r := h.signIn("alice@contoso.example", token(t, m)); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in: %v", r.Status)
	}
	h.click("alice@contoso.example", button(t, h.last("alice@contoso.example"), h.tr("button_reset")))
	h.finishReset("alice@contoso.example", h.tr("success", map[string]any{"Device": "Alice's Pixel 8"}))

	want := []string{
		"commit request,devices_listed+opened", "send device list", // DM: 1
		"commit eligibility,link_issued", "send sign-in link", // pick: 1
		"commit signin", "send warning", // sign-in: 1
		"commit confirm+begin", "send progress", // confirm: 1 before the reply,
		"graph reset", "commit reset_requested", // and 1 for the request, after it
		"commit result+closed+delivered+end", "send passcode", // result: 1 before the passcode,
		"commit delivery", "send text", // 1 after it, before the success notice
	}
	// The progress message may be edited while the reset runs (no commit).
	got := compactProgress(j.all())
	if !slices.Equal(got, want) {
		t.Fatalf("durable writes and effects, in order:\n got  %q\n want %q", got, want)
	}
	commits := 0
	for _, s := range got {
		if strings.HasPrefix(s, "commit ") {
			commits++
		}
	}
	if commits != 7 {
		t.Fatalf("%d commits for a whole reset, want 7", commits)
	}
}

// compactProgress drops the edits of the progress message after the first.
func compactProgress(in []string) []string {
	var out []string
	seen := false
	for _, s := range in {
		if s == "send progress" {
			if seen {
				continue
			}
			seen = true
		}
		out = append(out, s)
	}
	return out
}

// TestFailedCommitShowsNoDeviceList: the request's commit fails: no device
// list, the person reads audit_unavailable, no conversation is open.
func TestFailedCommitShowsNoDeviceList(t *testing.T) {
	h, d, j := committed(t)
	d.fail(errors.New("disk full"), nil)
	h.say("alice@contoso.example", "reset")
	if got := h.last("alice@contoso.example"); got.Text != h.tr("audit_unavailable") || len(got.Choices) != 0 {
		t.Fatalf("said %+v", got)
	}
	if slices.Contains(j.all(), "send device list") || h.eng.Active() != 0 || d.opened() != 0 {
		t.Fatalf("a device list or an open conversation without its commit: %q, %d open", j.all(), h.eng.Active())
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertAuditDown) {
		t.Fatalf("helpdesk not told: %v", h.alerts.Kinds())
	}
}

// TestFailedCommitMakesNoReset: the confirmation's commit fails: the device
// service is not asked, nothing is counted, the person reads audit_unavailable.
func TestFailedCommitMakesNoReset(t *testing.T) {
	h, d, j := committed(t)
	m := h.pickDevice("alice@contoso.example", "Alice's Pixel 8")
	h.signIn("alice@contoso.example", token(t, m))
	d.fail(errors.New("disk full"), nil)
	h.click("alice@contoso.example", button(t, h.last("alice@contoso.example"), h.tr("button_reset")))
	if got := h.last("alice@contoso.example").Text; got != h.tr("audit_unavailable") {
		t.Fatalf("said %q", got)
	}
	if h.fleet.Resets() != 0 || slices.Contains(j.all(), "graph reset") || d.has("confirm") {
		t.Fatalf("reset without its commit: %q", j.all())
	}
	if n, _ := d.ResetsSince(context.Background(), "id-alice", t0.Add(-time.Hour)); n != 0 {
		t.Fatalf("a refused reset was counted: %d", n)
	}
}

// TestFailedResultCommitShowsNoPasscode: the result's commit fails, and so do
// the writes apart that the engine tries then: the delivery is not marked, so
// the passcode is not shown; the person is told whom to ask.
func TestFailedResultCommitShowsNoPasscode(t *testing.T) {
	h, d, j := committed(t)
	m := h.pickDevice("alice@contoso.example", "Alice's Pixel 8")
	h.signIn("alice@contoso.example", token(t, m))
	h.click("alice@contoso.example", button(t, h.last("alice@contoso.example"), h.tr("button_reset")))
	d.fail(errors.New("disk full"), errors.New("disk full"))
	got := h.finishReset("alice@contoso.example", h.tr("result_undelivered", map[string]any{"Device": "Alice's Pixel 8"}))
	if got.Secret != nil || slices.Contains(j.all(), "send passcode") {
		t.Fatalf("passcode shown without its commit: %q", j.all())
	}
	if !slices.Contains(h.alerts.Kinds(), resetflow.AlertDeliveryFailed) {
		t.Fatalf("helpdesk not told: %v", h.alerts.Kinds())
	}
}

// TestFailedResultCommitGoesApart: when only the result's commit fails, the
// engine writes its parts apart, as without a Committer, and shows the
// passcode once the delivery is marked.
func TestFailedResultCommitGoesApart(t *testing.T) {
	h, d, j := committed(t)
	m := h.pickDevice("alice@contoso.example", "Alice's Pixel 8")
	h.signIn("alice@contoso.example", token(t, m))
	h.click("alice@contoso.example", button(t, h.last("alice@contoso.example"), h.tr("button_reset")))
	d.fail(errors.New("transaction too big"), nil)
	h.finishReset("alice@contoso.example", h.tr("success", map[string]any{"Device": "Alice's Pixel 8"}))
	// (The conversation's row is forgotten apart, without waiting.)
	all := slices.DeleteFunc(compactProgress(j.all()), func(s string) bool { return s == "commit closed" })
	i := slices.Index(all, "send passcode")
	if i < 3 || !slices.Equal(all[i-3:i], []string{"commit result", "commit delivered", "commit end"}) {
		t.Fatalf("writes apart before the passcode: %q", all)
	}
	if in, _ := d.InFlight(context.Background()); len(in) != 0 {
		t.Fatalf("reset still in flight: %+v", in)
	}
}

// TestLimitInTheCommit: over the daily limit (reached by another process
// between the device list and the click), the confirmation's commit records
// the confirmation but not the reset: the person reads limit_reached, nothing
// is asked of the device service.
func TestLimitInTheCommit(t *testing.T) {
	h, d, j := committed(t)
	m := h.pickDevice("alice@contoso.example", "Alice's Pixel 8")
	h.signIn("alice@contoso.example", token(t, m))
	u, _ := h.fleet.LookupUser(context.Background(), "alice@contoso.example")
	for _, f := range []string{"a", "b", "c"} {
		r := resetflow.InFlight{Flow: "other-" + f, User: u, Started: h.clk.Now()}
		if err := d.MemoryStore.BeginReset(context.Background(), r, t0.Add(-24*time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	h.click("alice@contoso.example", button(t, h.last("alice@contoso.example"), h.tr("button_reset")))
	if got := h.last("alice@contoso.example").Text; got != h.tr("limit_reached", map[string]any{"Max": 3}) {
		t.Fatalf("said %q", got)
	}
	if h.fleet.Resets() != 0 || slices.Contains(j.all(), "graph reset") {
		t.Fatalf("reset over the limit: %q", j.all())
	}
	if !d.has("confirm") || !d.has("limit") {
		t.Fatalf("confirmation or refusal not recorded: %q", j.all())
	}
	if n, _ := d.ResetsSince(context.Background(), u.Key(), t0.Add(-time.Hour)); n != 3 {
		t.Fatalf("%d resets counted, want the 3 of before", n)
	}
}

// TestEndingCommitsOnce: a cancel, an expired step and a refused device each
// end the conversation with one commit (the event and the conversation
// forgotten) before the person is told.
func TestEndingCommitsOnce(t *testing.T) {
	after := func(j *journal, mark int) []string { return j.all()[mark:] }
	t.Run("cancel", func(t *testing.T) {
		h, d, j := committed(t)
		h.say("alice@contoso.example", "reset")
		mark := len(j.all())
		h.say("alice@contoso.example", "cancel")
		if got := after(j, mark); !slices.Equal(got, []string{"commit cancel+closed", "send text"}) {
			t.Fatalf("cancel: %q", got)
		}
		if d.opened() != 0 {
			t.Fatal("the cancelled conversation is still remembered")
		}
	})
	t.Run("expired", func(t *testing.T) {
		h, d, j := committed(t)
		h.say("alice@contoso.example", "reset")
		mark := len(j.all())
		h.clk.Advance(resetflow.DefaultConfig().PickTimeout)
		h.chat.WaitFrom(0, "alice@contoso.example", func(m resetflow.Message) bool {
			return m.Text == h.tr("expired_pick", map[string]any{"Minutes": 5})
		})
		if got := after(j, mark); !slices.Equal(got, []string{"commit expired+closed", "send text"}) {
			t.Fatalf("expired: %q", got)
		}
		if d.opened() != 0 {
			t.Fatal("the expired conversation is still remembered")
		}
	})
	t.Run("refused device", func(t *testing.T) {
		h, d, j := committed(t)
		h.say(bob, "reset")
		mark := len(j.all())
		for _, c := range h.last(bob).Choices {
			if c.Label == "Bob's Galaxy S9" { // factory reset only
				h.click(bob, c.Value)
			}
		}
		got := after(j, mark)
		if len(got) != 2 || got[0] != "commit eligibility+closed" || got[1] != "send text" {
			t.Fatalf("refused: %q", got)
		}
		if d.opened() != 0 {
			t.Fatal("the refused conversation is still remembered")
		}
	})
}
