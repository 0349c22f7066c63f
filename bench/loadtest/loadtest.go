// Package loadtest is passcodebot's load benchmark. It starts a fake
// Slack workspace (adapters/slack/slacktest) and a fake Microsoft Graph
// (intune/graphtest) on loopback, runs the real passcodebot binary against
// them as a child process (the demo sign-in on its own HTTP server), and
// drives simulated employees through complete passcode resets at a chosen
// concurrency. In the same run it drives two yardsticks against their own
// instances of the same fakes: the floor (bench/baseline/floor), a bot with no
// logic doing the I/O a reset needs at minimum, through the same resets; and
// the echo bot (bench/baseline), a bare slack-go bot, through the same number
// of chat round trips.
//
// bench/load is the command; this package is its engine, tested with a short run.
package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passcodebot/passcodebot/intune/graphtest"
)

// Options choose what to run. Zero values take the defaults of Defaults.
type Options struct {
	BotBin      string // the passcodebot binary (see Build)
	BaselineBin string // the bench/baseline binary (the echo bot)
	FloorBin    string // the bench/baseline/floor binary
	WorkDir     string // configs, audit databases and the processes' logs
	// AuditDir holds the bot's audit databases (default WorkDir). The audit
	// trail syncs every commit to disk, so the disk's fsync time is part of
	// every reply that waits for a record; a tmpfs here leaves it out.
	AuditDir string

	// Levels are the numbers of employees resetting at once. Each level runs
	// max(level, MinResets) resets, with a fresh bot and fakes.
	Levels    []int
	MinResets int

	// Hold is how many conversations are held open at once (at the device
	// list) to measure the heap each takes; 0 skips it. While they are held,
	// HoldLoad employees reset at once, to compare reply times with the level
	// of the same size. HoldOpeners is how many open them at a time.
	Hold        int
	HoldLoad    int
	HoldOpeners int

	// Alerts is how many helpdesk alerts are raised, evenly over AlertsOver,
	// into one channel that takes one post per second; 0 skips it.
	// AlertsWithin is the deadline for all of them, from the first.
	Alerts       int
	AlertsOver   time.Duration
	AlertsWithin time.Duration

	// ProfileDir, when set, receives pprof profiles of the bot: the heap before
	// and after the conversations are held, and CPU profiles of each level's
	// first ProfileSeconds (go tool pprof -diff_base hold-heap-before.pprof …).
	ProfileDir     string
	ProfileSeconds int

	// Starts is how many times passcodebot is started apart (fresh fakes,
	// nothing else running) to measure start to ready and idle RSS; 0 skips.
	Starts int

	// Unlock is how many resets measure the time to unlock (unlock.go), all at
	// once, with the bot's default polling; 0 skips it.
	Unlock int

	// Platforms are the chats driven (PlatformSlack, PlatformDiscord,
	// PlatformTeams); empty: all of them. The start, hold, alert and unlock
	// measurements run on Slack only.
	Platforms []string

	PollFirst time.Duration // the bot's first wait before reading a reset's result
	Timeout   time.Duration // the longest wait for any one reply
	Progress  io.Writer     // progress lines; nil: none
}

// Defaults are the benchmark's standard settings.
func Defaults() Options {
	return Options{
		Levels: []int{1, 100, 1000}, MinResets: 200,
		Hold: 10000, HoldLoad: 100, HoldOpeners: 100,
		Alerts: 1000, AlertsOver: 10 * time.Second, AlertsWithin: 60 * time.Second,
		Starts:    5,
		PollFirst: 20 * time.Millisecond, Timeout: 2 * time.Minute, // 1,000 resets' result reads paced at 25/s take 80 s
		Unlock: 20,
	}
}

func (o *Options) fill() {
	d := Defaults()
	if o.MinResets <= 0 {
		o.MinResets = 1
	}
	if o.HoldLoad <= 0 {
		o.HoldLoad = d.HoldLoad
	}
	if o.HoldOpeners <= 0 {
		o.HoldOpeners = d.HoldOpeners
	}
	if o.AlertsOver <= 0 {
		o.AlertsOver = d.AlertsOver
	}
	if o.AlertsWithin <= 0 {
		o.AlertsWithin = d.AlertsWithin
	}
	if o.PollFirst <= 0 {
		o.PollFirst = d.PollFirst
	}
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if o.AuditDir == "" {
		o.AuditDir = o.WorkDir
	}
	if o.ProfileSeconds <= 0 {
		o.ProfileSeconds = 10
	}
}

// Report is everything a run measured.
type Report struct {
	Levels []Level
	Hold   *Hold
	Alerts *Alerts
	Starts []Startup // passcodebot started apart, Options.Starts times
	// BinarySize is the size of the passcodebot binary run, built by Build
	// as a release is (-trimpath -ldflags='-s -w').
	BinarySize int64
	Unlock     *Unlock
	// Platforms are passcodebot on Discord and Teams, level by level (platforms.go).
	Platforms []PlatformLevel
}

// Acks are the Socket Mode acknowledgements of the envelopes a run delivered:
// the time from the envelope written to the websocket to the fake reading its
// ack. Late counts those acknowledged after AckLate; Missing those never
// acknowledged (within AckLate and a little more), which are late too.
type Acks struct {
	Latencies
	Sent, Late, Missing int
}

// Level is one concurrency level: passcodebot, the floor and the echo bot.
type Level struct {
	Concurrency int
	Resets      int // attempted
	Completed   int // reached the success notice
	Errors      int
	FirstErrors []string
	// Reply is the time from an envelope sent (DM "reset", device click,
	// "Reset passcode" click) to the fake receiving the bot's answer.
	Reply    Latencies
	ByAction map[string]Latencies // reset, pick, signin, confirm, result
	Bot      Memory
	Heap     uint64        // the bot's live heap after the run (after a GC)
	Graph    GraphPerReset // over completed resets
	// API is the fake Slack's Web API calls per completed reset, by method
	// (Slack levels only).
	API map[string]float64
	// Durable is the durable writes and syncs per completed reset; Allocs
	// the heap allocated and the GCs run per completed reset.
	Durable Durable
	Allocs  Allocs
	Elapsed time.Duration

	// CPU is the CPU time the bot used during the run; DriverCPU is this
	// driver's, with the fake Slack and Graph (they share the machine).
	CPU, DriverCPU time.Duration

	Acks  Acks    // the bot's acknowledgements of the level's envelopes
	Start Startup // how the level's bot process started

	// Floor is bench/baseline/floor through the same resets, against its own
	// fakes (nil inside a Hold, or when the level's floor run failed to start).
	Floor *Level

	Baseline          Latencies // the echo bot, same round trips
	BaselineAcks      Acks
	BaselineCPU       time.Duration
	BaselineDriverCPU time.Duration
	BaselineErrors    int
	BaselineMemory    Memory
	BaselineElapsed   time.Duration
	BaselineFirstErr  []string
}

// FloorP50, FloorP99, FloorCPU and FloorRSS compare passcodebot with the floor:
// reply times, CPU per completed reset and peak resident sets.
func (l Level) FloorP50() float64 { return ratio(l.Reply.P50, l.floor().Reply.P50) }
func (l Level) FloorP99() float64 { return ratio(l.Reply.P99, l.floor().Reply.P99) }
func (l Level) FloorCPU() float64 {
	f := l.floor()
	return ratio(perReset(l.CPU, l.Completed), perReset(f.CPU, f.Completed))
}
func (l Level) FloorRSS() float64 {
	if l.floor().Bot.Peak == 0 {
		return 0
	}
	return float64(l.Bot.Peak) / float64(l.floor().Bot.Peak)
}

func (l Level) floor() Level {
	if l.Floor == nil {
		return Level{}
	}
	return *l.Floor
}

// perReset is CPU time per completed reset.
func perReset(cpu time.Duration, completed int) time.Duration {
	if completed == 0 {
		return 0
	}
	return cpu / time.Duration(completed)
}

// RatioP50 and RatioP99 compare passcodebot's reply times with the echo bot's.
func (l Level) RatioP50() float64 { return ratio(l.Reply.P50, l.Baseline.P50) }
func (l Level) RatioP99() float64 { return ratio(l.Reply.P99, l.Baseline.P99) }

// RatioRSS compares peak resident sets.
func (l Level) RatioRSS() float64 {
	if l.BaselineMemory.Peak == 0 {
		return 0
	}
	return float64(l.Bot.Peak) / float64(l.BaselineMemory.Peak)
}

func ratio(a, b time.Duration) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// GraphPerReset is the fake Graph's call count per completed reset.
type GraphPerReset struct {
	Lists, Resets, Results, Users float64
	Tokens                        int // token requests in the whole level
}

// Hold is the conversations-held-open measurement.
type Hold struct {
	Conversations   int // held open at once
	Open            int // the bot's passcodebot_conversations_open
	Errors          int
	FirstErrors     []string
	HeapBefore      uint64
	HeapAfter       uint64
	PerConversation float64 // bytes of live heap per held conversation
	Opening         Latencies
	Bot             Memory
	Control         Level // HoldLoad employees resetting before the others are opened
	Load            Level // the same, while the others are held
}

// Alerts is the helpdesk alert burst.
type Alerts struct {
	Raised       int
	Errors       int
	FirstErrors  []string
	Delivered    int           // alerts seen in full in a helpdesk post
	Incomplete   int           // alerts seen, but not in full
	Duplicates   int           // alerts posted more than once
	Lost         int           // raised, never delivered
	Late         int           // delivered after AlertsWithin
	Over         time.Duration // how long raising them took
	AllIn        time.Duration // from the first alert raised to the last delivered
	Delay        Latencies     // from the click that raised an alert to its post
	Posts        int           // helpdesk posts that went through
	RateLimited  int           // helpdesk posts the fake refused (429)
	MaxPerPost   int
	Within       time.Duration
	BotMemory    Memory
	SentOverSecs float64
}

// Binaries are the programs a run starts.
type Binaries struct{ Bot, Baseline, Floor string }

// ReleaseFlags are the build flags of a release binary; Build uses them for
// all three, with CGO_ENABLED=0: nothing in them needs cgo, and a static
// binary maps no libc (about 1.7 MiB less resident at idle, measured).
var ReleaseFlags = []string{"-trimpath", "-ldflags=-s -w"}

// Build compiles passcodebot, the echo bot and the floor into dir, as releases are built.
func Build(ctx context.Context, dir string) (Binaries, error) {
	b := Binaries{Bot: filepath.Join(dir, "passcodebot"), Baseline: filepath.Join(dir, "baseline"), Floor: filepath.Join(dir, "floor")}
	for out, pkg := range map[string]string{
		b.Bot:      "github.com/passcodebot/passcodebot/cmd/passcodebot",
		b.Baseline: "github.com/passcodebot/passcodebot/bench/baseline",
		b.Floor:    "github.com/passcodebot/passcodebot/bench/baseline/floor",
	} {
		args := append(append([]string{"build"}, ReleaseFlags...), "-o", out, pkg)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return b, nil
}

// Run runs the benchmark.
func Run(ctx context.Context, o Options) (*Report, error) {
	o.fill()
	if o.BotBin == "" || o.BaselineBin == "" || o.FloorBin == "" || o.WorkDir == "" {
		return nil, errors.New("loadtest: BotBin, BaselineBin, FloorBin and WorkDir are required")
	}
	r := &Report{}
	if st, err := os.Stat(o.BotBin); err == nil {
		r.BinarySize = st.Size()
	}
	slack := o.drives(PlatformSlack)
	if !slack {
		o.Starts, o.Hold, o.Alerts, o.Unlock = 0, 0, 0, 0
	}
	for i := range o.Starts {
		fmt.Fprintf(o.Progress, "start to ready, %d of %d…\n", i+1, o.Starts)
		st, err := runStart(ctx, &o, i)
		if err != nil {
			return r, fmt.Errorf("start: %w", err)
		}
		r.Starts = append(r.Starts, st)
	}
	for _, c := range o.Levels {
		if !slack {
			break
		}
		fmt.Fprintf(o.Progress, "level %d: echo bot…\n", c)
		l, err := runLevel(ctx, &o, c)
		if err != nil {
			return r, fmt.Errorf("level %d: %w", c, err)
		}
		r.Levels = append(r.Levels, l)
	}
	for _, p := range []string{PlatformDiscord, PlatformTeams} {
		if !o.drives(p) {
			continue
		}
		for _, c := range o.Levels {
			l, err := runPlatformLevel(ctx, &o, p, c)
			if err != nil {
				return r, fmt.Errorf("%s, level %d: %w", p, c, err)
			}
			r.Platforms = append(r.Platforms, l)
		}
	}
	if o.Hold > 0 {
		fmt.Fprintf(o.Progress, "holding %d conversations…\n", o.Hold)
		h, err := runHold(ctx, &o)
		if err != nil {
			return r, fmt.Errorf("hold: %w", err)
		}
		r.Hold = h
	}
	if o.Alerts > 0 {
		fmt.Fprintf(o.Progress, "helpdesk alert burst: %d alerts…\n", o.Alerts)
		a, err := runAlerts(ctx, &o)
		if err != nil {
			return r, fmt.Errorf("alerts: %w", err)
		}
		r.Alerts = a
	}
	if o.Unlock > 0 {
		fmt.Fprintf(o.Progress, "time to unlock: %d resets…\n", o.Unlock)
		u, err := runUnlock(ctx, &o)
		if err != nil {
			return r, fmt.Errorf("unlock: %w", err)
		}
		r.Unlock = u
	}
	return r, nil
}

// workers runs f for employees [from, from+total) on c goroutines.
func workers(ctx context.Context, c, from, total int, errs *errorLog, f func(context.Context, employee) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c, total) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= total || ctx.Err() != nil {
					return
				}
				e := employeeAt(from + i)
				if err := f(ctx, e); err != nil {
					errs.add("%s: %v", e.user, err)
				}
			}
		}()
	}
	wg.Wait()
}

// runLevel measures the baseline, then passcodebot, at one concurrency.
func runLevel(ctx context.Context, o *Options, c int) (Level, error) {
	total := max(c, o.MinResets)
	l := Level{Concurrency: c, Resets: total}

	// The baseline: three chat round trips per employee, like a reset has.
	bs := newSession()
	bs.addEmployees(0, total, resettable)
	if err := bs.startBaseline(ctx, o, fmt.Sprintf("level%d", c)); err != nil {
		bs.close()
		return l, err
	}
	var bsm samples
	var berrs errorLog
	cpu := startCPU(bs.proc.pid())
	start := time.Now()
	workers(ctx, c, 0, total, &berrs, func(ctx context.Context, e employee) error {
		return bs.pings(ctx, o, e, len(chatActions), &bsm)
	})
	l.BaselineElapsed = time.Since(start)
	l.BaselineCPU, l.BaselineDriverCPU = cpu.stop()
	l.Baseline = bsm.summary(actPing)
	l.BaselineErrors, l.BaselineFirstErr = berrs.get()
	l.BaselineMemory, _ = ReadMemory(bs.proc.pid())
	l.BaselineAcks = bs.acks(ctx, 0)
	bs.close()

	fmt.Fprintf(o.Progress, "level %d: floor…\n", c)
	fl := newSession()
	fl.graph = graphtest.New(graphtest.Options{})
	fl.addEmployees(0, total, resettable)
	if err := fl.startFloor(ctx, o, fmt.Sprintf("level%d", c)); err != nil {
		fl.close()
		return l, err
	}
	floor := fl.resets(ctx, o, c, 0, total, "")
	floor.Bot, _ = ReadMemory(fl.proc.pid())
	floor.Start = fl.start
	fl.close()

	fmt.Fprintf(o.Progress, "level %d: passcodebot…\n", c)
	s := newSession()
	s.graph = graphtest.New(graphtest.Options{})
	s.addEmployees(0, total, resettable)
	if err := s.startBot(ctx, o, fmt.Sprintf("level%d", c)); err != nil {
		s.close()
		return l, err
	}
	defer s.close()
	bot := s.resets(ctx, o, c, 0, total, fmt.Sprintf("level%d-cpu.pprof", c))
	bot.Baseline, bot.BaselineErrors, bot.BaselineFirstErr = l.Baseline, l.BaselineErrors, l.BaselineFirstErr
	bot.BaselineMemory, bot.BaselineElapsed = l.BaselineMemory, l.BaselineElapsed
	bot.BaselineCPU, bot.BaselineDriverCPU = l.BaselineCPU, l.BaselineDriverCPU
	bot.BaselineAcks, bot.Floor, bot.Start = l.BaselineAcks, &floor, s.start
	l = bot
	l.Bot, _ = ReadMemory(s.proc.pid())
	l.Heap, _ = ReadHeap(httpClient, s.admin)
	return l, nil
}

func graphPerReset(before, after graphtest.Counts, n int) GraphPerReset {
	if n == 0 {
		n = 1
	}
	f := func(a, b int) float64 { return float64(b-a) / float64(n) }
	return GraphPerReset{
		Lists: f(before.Lists, after.Lists), Resets: f(before.Resets, after.Resets),
		Results: f(before.Results, after.Results), Users: f(before.Users, after.Users),
		Tokens: after.Tokens - before.Tokens,
	}
}

// apiPerReset is the Web API calls between two counts per completed reset.
func apiPerReset(before, after map[string]int, n int) map[string]float64 {
	out := map[string]float64{}
	for m, c := range after {
		if d := c - before[m]; d > 0 && n > 0 {
			out[m] = float64(d) / float64(n)
		}
	}
	return out
}

// runStart starts passcodebot against fresh fakes and measures how it started.
func runStart(ctx context.Context, o *Options, i int) (Startup, error) {
	s := newSession()
	s.graph = graphtest.New(graphtest.Options{})
	defer s.close()
	if err := s.startBot(ctx, o, fmt.Sprintf("start%d", i)); err != nil {
		return Startup{}, err
	}
	return s.start, nil
}

// runHold measures, in one bot process: a warm-up, then HoldLoad employees
// resetting at once (the control), then Hold conversations opened and kept
// open (the heap each takes), then the same load again beside them.
func runHold(ctx context.Context, o *Options) (*Hold, error) {
	h := &Hold{Conversations: o.Hold}
	total := max(o.HoldLoad, o.MinResets)
	warm := o.HoldLoad
	// Employees: the held ones, then the warm-up, the control and the load beside them.
	first := o.Hold
	s := newSession()
	s.graph = graphtest.New(graphtest.Options{})
	s.addEmployees(0, first+warm+2*total, resettable)
	if err := s.startBot(ctx, o, "hold"); err != nil {
		s.close()
		return nil, err
	}
	defer s.close()

	fmt.Fprintf(o.Progress, "holding: warm-up and control, %d resets at once…\n", o.HoldLoad)
	s.resets(ctx, o, o.HoldLoad, first, warm, "")
	h.Control = s.resets(ctx, o, o.HoldLoad, first+warm, total, "")

	var err error
	if h.HeapBefore, err = ReadHeap(httpClient, s.admin); err != nil {
		return nil, err
	}
	s.profile(o, "hold-heap-before.pprof", "heap?gc=1")
	var sm samples
	var errs errorLog
	workers(ctx, o.HoldOpeners, 0, o.Hold, &errs, func(ctx context.Context, e employee) error {
		return s.openConversation(ctx, o, e, &sm)
	})
	h.Errors, h.FirstErrors = errs.get()
	h.Opening = sm.summary(actOpen)
	if h.HeapAfter, err = ReadHeap(httpClient, s.admin); err != nil {
		return nil, err
	}
	s.profile(o, "hold-heap-after.pprof", "heap?gc=1")
	open, err := ReadMetric(httpClient, s.admin, "passcodebot_conversations_open")
	if err != nil {
		return nil, err
	}
	h.Open = int(open)
	if h.Open > 0 {
		h.PerConversation = float64(int64(h.HeapAfter)-int64(h.HeapBefore)) / float64(h.Open)
	}

	fmt.Fprintf(o.Progress, "holding %d conversations: %d resets at once beside them…\n", h.Open, o.HoldLoad)
	h.Load = s.resets(ctx, o, o.HoldLoad, first+warm+total, total, "hold-load-cpu.pprof")
	h.Bot, _ = ReadMemory(s.proc.pid())
	h.Load.Bot = h.Bot
	return h, nil
}

// resets has employees [from, from+total) reset, c at once, and measures them.
func (s *session) resets(ctx context.Context, o *Options, c, from, total int, profile string) Level {
	l := Level{Concurrency: c, Resets: total}
	var sm samples
	var errs errorLog
	var completed atomic.Int64
	before := s.graph.Counts()
	apiBefore := s.routes.counts()
	totalsBefore := s.totals()
	firstEnv := s.delivered()
	if profile != "" {
		profiled := s.profileCPU(o, profile)
		defer profiled()
	}
	cpu := startCPU(s.proc.pid())
	start := time.Now()
	workers(ctx, c, from, total, &errs, func(ctx context.Context, e employee) error {
		if err := s.fullReset(ctx, o, e, &sm); err != nil {
			return err
		}
		completed.Add(1)
		return nil
	})
	l.Elapsed = time.Since(start)
	l.CPU, l.DriverCPU = cpu.stop()
	l.Completed = int(completed.Load())
	l.Errors, l.FirstErrors = errs.get()
	l.Reply = sm.summary(chatActions...)
	l.ByAction = map[string]Latencies{}
	for _, k := range []string{actReset, actPick, actSignIn, actConfirm, actResult, actUnlock} {
		l.ByAction[k] = sm.summary(k)
	}
	l.Graph = graphPerReset(before, s.graph.Counts(), l.Completed)
	l.API = apiPerReset(apiBefore, s.routes.counts(), l.Completed)
	l.Acks = s.acks(ctx, firstEnv)
	// After the acks: the bot's last step of a reset may still be committing.
	l.Durable, l.Allocs = countsPerReset(totalsBefore, s.totals(), l.Completed)
	return l
}

// runAlerts raises Alerts helpdesk alerts evenly over AlertsOver (employees
// asking to reset a dedicated device, which the bot refuses and reports) into
// a helpdesk channel that takes one post per second, and follows every alert
// to the post that holds it.
func runAlerts(ctx context.Context, o *Options) (*Alerts, error) {
	a := &Alerts{Raised: o.Alerts, Within: o.AlertsWithin}
	s := newSession()
	s.graph = graphtest.New(graphtest.Options{})
	s.addEmployees(0, o.Alerts, contactSupport)
	s.fs.RateLimit(helpdesk, time.Second)
	desk := s.routes.inbox(helpdesk)
	if err := s.startBot(ctx, o, "alerts"); err != nil {
		s.close()
		return nil, err
	}
	defer s.close()

	title := en.cat.T("en", "alert_title_contact_support")
	raised := make([]time.Time, o.Alerts) // when the click that raises each was sent
	var mu sync.Mutex
	delivered := map[int]time.Time{}
	complete := map[int]bool{}
	var first time.Time
	allDone := make(chan struct{})
	collectDone := make(chan struct{})
	collectCtx, stopCollect := context.WithCancel(ctx)
	defer stopCollect()
	go func() {
		defer close(collectDone)
		for {
			r, err := desk.next(collectCtx, time.Hour)
			if err != nil {
				return
			}
			if r.call.Method != "chat.postMessage" {
				continue
			}
			mu.Lock()
			if r.call.Status == 429 {
				a.RateLimited++
			}
			if !r.call.OK() {
				mu.Unlock()
				continue
			}
			a.Posts++
			in, err := alertsIn(r.call, title)
			if err != nil {
				a.Errors++
			}
			a.MaxPerPost = max(a.MaxPerPost, len(in))
			for n, full := range in {
				if _, seen := delivered[n]; seen {
					a.Duplicates++
					continue
				}
				delivered[n] = r.at
				complete[n] = full
			}
			if len(delivered) >= o.Alerts {
				select {
				case <-allDone:
				default:
					close(allDone)
				}
			}
			mu.Unlock()
		}
	}()

	var errs errorLog
	var wg sync.WaitGroup
	gap := o.AlertsOver / time.Duration(max(1, o.Alerts))
	start := time.Now()
	first = start
	for i := range o.Alerts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case <-time.After(time.Until(start.Add(time.Duration(i) * gap))):
			case <-ctx.Done():
				return
			}
			e := employeeAt(i)
			at, err := s.deniedReset(ctx, o, e)
			if !at.IsZero() {
				mu.Lock()
				raised[i] = at
				mu.Unlock()
			}
			if err != nil {
				errs.add("%s: %v", e.user, err)
			}
		}()
	}
	wg.Wait()
	a.Over = time.Since(start)
	a.SentOverSecs = a.Over.Seconds()
	// Wait for the rest, up to twice the deadline, to tell late from lost.
	select {
	case <-allDone:
	case <-time.After(time.Until(first.Add(2 * o.AlertsWithin))):
	case <-ctx.Done():
	}
	stopCollect()
	<-collectDone
	a.Errors, a.FirstErrors = errs.get()

	mu.Lock()
	defer mu.Unlock()
	var delays []time.Duration
	var last time.Time
	for i := range o.Alerts {
		at, ok := delivered[i]
		if !ok {
			a.Lost++
			continue
		}
		if complete[i] {
			a.Delivered++
		} else {
			a.Incomplete++
		}
		if at.After(last) {
			last = at
		}
		if at.Sub(first) > o.AlertsWithin {
			a.Late++
		}
		if !raised[i].IsZero() {
			delays = append(delays, at.Sub(raised[i]))
		}
	}
	if !last.IsZero() {
		a.AllIn = last.Sub(first)
	}
	a.Delay = Summarize(delays)
	a.BotMemory, _ = ReadMemory(s.proc.pid())
	return a, nil
}
