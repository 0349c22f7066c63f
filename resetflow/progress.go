package resetflow

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// The result polling schedule. Intune usually finishes a reset within a minute or
// two of the phone checking in, so during the first FastPhase the result is read
// every PollFirst (2 s by default): the passcode reaches the person within about
// PollFirst of Graph reporting it done. Afterwards the reads slow down, as
// Atomicwork's re-checks at 2, 5 and 10 minutes do: every 10 s until 5 minutes,
// then every PollMax (30 s) until PollTimeout. With the defaults (2 s, 30 s, 15 m)
// that is at most 60 + 18 + 20 = 98 reads per reset (TestPollSchedule counts them).
const (
	FastPhase   = 2 * time.Minute
	middleUntil = 5 * time.Minute
	middleEvery = 10 * time.Second
)

// pollDelay is the wait before the next result read, elapsed after the reset began.
func pollDelay(cfg Config, elapsed time.Duration) time.Duration {
	switch {
	case elapsed < FastPhase:
		return cfg.PollFirst
	case elapsed < middleUntil:
		return max(cfg.PollFirst, min(middleEvery, cfg.PollMax))
	}
	return cfg.PollMax
}

// GraphReadsPerSecond is the pace of result reads shared by every reset in
// flight: a quarter of Intune's 2,000 calls per 20 s per app and tenant, leaving
// the rest for device lists, resets and other tools. Many resets at once wait
// their turn rather than run into 429s.
const GraphReadsPerSecond = 25

// readPacer spaces result reads across all resets (a virtual-time token bucket on
// the engine's clock).
type readPacer struct {
	mu   sync.Mutex
	next time.Time // the earliest free slot
}

// slot reserves the first free slot at or after want and returns it.
func (p *readPacer) slot(want time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if want.Before(p.next) {
		want = p.next
	}
	p.next = want.Add(time.Second / GraphReadsPerSecond)
	return want
}

var pacers sync.Map // *Engine -> *readPacer; engines are few and live as long as the process

func (e *Engine) pacer() *readPacer {
	v, _ := pacers.LoadOrStore(e, &readPacer{})
	return v.(*readPacer)
}

// nextPoll is how long await waits before its next read of a reset that began at since.
func (e *Engine) nextPoll(since time.Time) time.Duration {
	now := e.d.Clock.Now()
	at := e.pacer().slot(now.Add(pollDelay(e.cfg, now.Sub(since))))
	return at.Sub(now)
}

// progress is the "resetting" message of one reset, updated in place as Intune moves.
type progress struct {
	addr    Address
	loc     string
	key     string
	device  string
	started time.Time
	state   string // catalog id of the phase shown
	shown   time.Time
}

var trackers sync.Map // device id -> *progress, while a reset of it is awaited

func progressKey(flow string) string { return "progress:" + flow }

// track starts showing the progress of r's reset; the returned function ends it.
func (e *Engine) track(r InFlight) func() {
	// The click's answer ("Resetting…", sent by confirm with the same key) shows
	// the request; the reads that follow update it.
	p := &progress{addr: r.Address, loc: r.Locale, key: progressKey(r.Flow), device: r.Device.Name, started: r.Started,
		state: "resetting", shown: e.d.Clock.Now()}
	trackers.Store(e.trackKey(r.Device.ID), p)
	return func() { trackers.Delete(e.trackKey(r.Device.ID)) }
}

func (e *Engine) trackKey(deviceID string) string { return fmt.Sprintf("%p\x00%s", e, deviceID) }

// observe is called by await after every read; it updates the progress message
// when the phase changes, and refreshes the elapsed time at most once a minute.
func (e *Engine) observe(ctx context.Context, d Device, res ActionResult, err error) {
	v, ok := trackers.Load(e.trackKey(d.ID))
	if !ok || err != nil {
		return
	}
	p := v.(*progress)
	now := e.d.Clock.Now()
	phase := p.state
	switch {
	case res.State.Final():
		return // the final state is shown by finishProgress
	case now.Sub(p.started) >= 30*time.Second:
		phase = "progress_waiting_checkin"
	case res.State == ActionPending || res.State == ActionActive:
		phase = "progress_pending"
	}
	if phase != p.state || now.Sub(p.shown) >= time.Minute {
		e.showProgress(ctx, p, phase, false)
	}
}

// finishProgress shows the reset's final state in the progress message.
func (e *Engine) finishProgress(ctx context.Context, deviceID, phase string) {
	v, ok := trackers.Load(e.trackKey(deviceID))
	if !ok || phase == "" {
		return
	}
	e.showProgress(ctx, v.(*progress), phase, true)
}

func (e *Engine) showProgress(ctx context.Context, p *progress, phase string, final bool) {
	now := e.d.Clock.Now()
	p.state, p.shown = phase, now
	el := max(now.Sub(p.started), 0).Round(time.Second)
	elapsed := fmt.Sprintf("%d:%02d", int(el.Minutes()), int(el.Seconds())%60)
	e.send(ctx, p.addr, Message{
		Text:    e.cat.T(p.loc, phase, map[string]any{"Device": p.device, "Elapsed": elapsed}),
		Replace: p.key, Final: final,
	})
}

// finalPhase is the progress message's last state; "" when shutting down (the
// reset stays in flight and the next start tells the person).
func finalPhase(ctx context.Context, res ActionResult, err error) string {
	switch {
	case ctx.Err() != nil:
		return ""
	case err != nil:
		return "progress_timed_out"
	case res.State == ActionDone:
		return "progress_done"
	}
	return "progress_failed"
}
