package resetflow_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Intune's limit on any device call, per app and tenant (facts.md): 2,000 per 20 s.
const (
	intuneCalls  = 2000
	intuneWindow = 20 * time.Second
)

// limitedFleet is a Graph that enforces Intune's call limit on the fake clock:
// a read beyond 2,000 in the last 20 s is refused as throttled (a 429), as the
// service does. Each device's reset reads pending until its doneAt, then done.
type limitedFleet struct {
	clk    *clock.Fake
	doneAt map[string]time.Time

	mu        sync.Mutex
	calls     []time.Time // accepted calls, oldest first
	throttled int
	reads     map[string]int
	finals    int // done results handed out: resets that will not read again
	peak1s    int // most reads in one second
}

func (f *limitedFleet) ListDevices(context.Context, resetflow.User) ([]resetflow.Device, error) {
	return nil, nil
}
func (f *limitedFleet) ResetPasscode(context.Context, resetflow.Device) error { return nil }

func (f *limitedFleet) ResetResult(_ context.Context, d resetflow.Device) (resetflow.ActionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clk.Now()
	keep := f.calls[:0]
	inSecond := 0
	for _, at := range f.calls {
		if now.Sub(at) < intuneWindow {
			keep = append(keep, at)
			if now.Sub(at) < time.Second {
				inSecond++
			}
		}
	}
	f.calls = keep
	if len(f.calls) >= intuneCalls {
		f.throttled++
		return resetflow.ActionResult{}, &resetflow.Error{Kind: resetflow.KindThrottled, Op: "read result", Code: "TooManyRequests"}
	}
	f.calls = append(f.calls, now)
	f.peak1s = max(f.peak1s, inSecond+1)
	f.reads[d.ID]++

	if !now.Before(f.doneAt[d.ID]) {
		f.finals++
		defer f.clk.Wake() // this reset arms no more timers: the test stops waiting for it
		return resetflow.ActionResult{State: resetflow.ActionDone, Passcode: resetflow.NewSecret("", "P"+d.ID), Started: t0}, nil
	}
	return resetflow.ActionResult{State: resetflow.ActionPending, Started: t0}, nil
}

func (f *limitedFleet) finished() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.finals
}

// TestManyResetsStayUnderGraphsLimit (issue 13 §2): 500 resets awaited at once
// (a restart finds them in flight, so every one polls from the same moment) never
// take Graph past Intune's 2,000 calls per 20 s: the result reads of all resets
// share one pace (GraphReadsPerSecond), so none is throttled, and every person
// still gets their own passcode. Without the shared pace the reads every 2 s of
// 500 resets would be 5,000 per 20 s.
func TestManyResetsStayUnderGraphsLimit(t *testing.T) {
	const n = 500
	var fl *limitedFleet
	var st *stamped
	h := newHarness(t, func(c *resetflow.Config, d *resetflow.Deps) {
		clk := d.Clock.(*clock.Fake)
		fl = &limitedFleet{clk: clk, doneAt: map[string]time.Time{}, reads: map[string]int{}}
		st = &stamped{inner: d.Messenger, clk: clk}
		d.Devices, d.Messenger = fl, st
	})
	ctx := context.Background()
	for i := range n {
		id := fmt.Sprintf("dev%03d", i)
		// Intune finishes them between 5 s and 155 s after the request.
		fl.doneAt[id] = t0.Add(5*time.Second + time.Duration(i%151)*time.Second)
		u := fmt.Sprintf("u%03d@x", i)
		r := resetflow.InFlight{Flow: fmt.Sprintf("flow%03d", i), Address: addr(u), Locale: "en",
			User:    resetflow.User{ID: u, UPN: u},
			Device:  resetflow.Device{ID: id, UserID: u, UserUPN: u, Name: "Phone " + id, Mode: resetflow.ModeAOSP, OS: "Android", OSVersion: "14"},
			Outcome: resetflow.OutcomeAndroidTemporary, Started: t0}
		if err := h.store.BeginReset(ctx, r, t0.Add(-24*time.Hour), 3); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.eng.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	// Step the clock only once every reset still waiting has armed its next read.
	end := t0.Add(10 * time.Minute)
	for fl.finished() < n {
		h.clk.WaitFor(func() int { return n - fl.finished() })
		if !h.clk.Now().Before(end) {
			t.Fatalf("after 10 minutes %d of %d resets have their result", fl.finished(), n)
		}
		h.clk.Advance(20 * time.Millisecond)
	}
	h.eng.Shutdown(ctx) // waits for the deliveries

	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.throttled > 0 {
		t.Errorf("Graph throttled %d result reads: the resets went past Intune's %d calls per %v", fl.throttled, intuneCalls, intuneWindow)
	}
	if fl.peak1s > resetflow.GraphReadsPerSecond {
		t.Errorf("%d result reads in one second; the shared pace is %d", fl.peak1s, resetflow.GraphReadsPerSecond)
	}
	total := 0
	for _, r := range fl.reads {
		total += r
	}
	t.Logf("%d resets: %d result reads (%.1f each), at most %d in a second", n, total, float64(total)/n, fl.peak1s)

	st.mu.Lock()
	defer st.mu.Unlock()
	got := map[string]int{}
	for _, m := range st.msgs {
		if m.Secret == nil {
			continue
		}
		got[m.Secret.Reveal()]++
	}
	// Each person's own passcode, once, in a message to them.
	for i := range n {
		want := fmt.Sprintf("Pdev%03d", i)
		if got[want] != 1 {
			t.Errorf("passcode %s delivered %d times", want, got[want])
		}
	}
	for _, m := range h.chat.All() {
		var n int
		if _, err := fmt.Sscanf(m.To.UserID, "u%03d@x", &n); m.M.Secret != nil && (err != nil || m.M.Secret.Reveal() != fmt.Sprintf("Pdev%03d", n)) {
			t.Errorf("passcode %s went to %s", m.M.Secret.Reveal(), m.To.UserID)
		}
	}
}
