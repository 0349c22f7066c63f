package loadtest

// Discord and Teams (issue 17 §4): the same employees through the real bot
// binary with chat: [discord] against the fake Discord (discordtest: gateway
// websocket and REST) or chat: [teams] against the fake Bot Framework
// (teamstest: activities POSTed to the bot, replies to the fake Connector),
// each with its own fake Graph. What is shared with the Slack run: the
// employees and their phones, the browser (device link, demo sign-in), the
// bot's settings (audit trail in SQLite, log level, polling), CPU and memory
// readings. What differs is how a person talks to the bot, so the reply and
// acknowledgement figures are the platform's own (see PlatformLevel).

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passcodebot/passcodebot/intune"
	"github.com/passcodebot/passcodebot/intune/graphtest"
)

// Platforms the benchmark drives.
const (
	PlatformSlack   = "slack"
	PlatformDiscord = "discord"
	PlatformTeams   = "teams"
)

// AllPlatforms are the platforms a run drives by default.
var AllPlatforms = []string{PlatformSlack, PlatformDiscord, PlatformTeams}

// platformChatActions are the actions of a Discord or Teams reset that start
// with something the person does in the chat (a message, a button press);
// the device pick is a link opened in the browser there, timed apart.
var platformChatActions = []string{actReset, actConfirm}

// PlatformLevel is one concurrency level of passcodebot on Discord or Teams.
type PlatformLevel struct {
	Platform    string
	Concurrency int
	Resets      int // attempted
	Completed   int // reached the success notice
	Errors      int
	FirstErrors []string
	// Reply is the time from the person's chat action (the DM "reset"
	// dispatched on the gateway / the activity POSTed; the "Reset passcode"
	// press) to the fake receiving the bot's next message.
	Reply    Latencies
	ByAction map[string]Latencies // reset, pick (device link: GET + POST of the pick page -> sign-in form), signin, confirm, result
	// Acks: Discord, from the interaction dispatched to the bot's accepted
	// interaction callback (REST); Teams, from the activity POST sent to its
	// HTTP response. Late: after AckLate; Missing: no callback / no 2xx.
	Acks  Acks
	Bot   Memory
	Heap  uint64 // live heap after the run (after a GC)
	Graph GraphPerReset
	// API is the platform calls the fake served per completed reset, by
	// route: Discord REST ("POST /channels/{cid}/messages"), Teams Connector
	// and token ("POST /v3/conversations/{conv}/activities").
	API map[string]float64
	// Durable is the durable writes and syncs per completed reset; Allocs
	// the heap allocated and the GCs run per completed reset.
	Durable Durable
	Allocs  Allocs
	// CPU is the bot's over the level; DriverCPU this driver's with the fakes.
	CPU, DriverCPU time.Duration
	Elapsed        time.Duration
	Start          Startup
	// Floor is bench/baseline/floor through the same resets on the same
	// platform, against its own fakes (nil when no floor binary was given).
	Floor *PlatformLevel
}

func (l PlatformLevel) floor() PlatformLevel {
	if l.Floor == nil {
		return PlatformLevel{}
	}
	return *l.Floor
}

// CPUPerReset is the bot's CPU time per completed reset.
func (l PlatformLevel) CPUPerReset() time.Duration { return perReset(l.CPU, l.Completed) }

func (o *Options) drives(platform string) bool {
	if len(o.Platforms) == 0 {
		return true
	}
	return slices.Contains(o.Platforms, platform)
}

// ParsePlatforms reads a comma-separated list of platforms.
func ParsePlatforms(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(AllPlatforms, f) {
			return nil, fmt.Errorf("-platforms: %q is not one of %s", f, strings.Join(AllPlatforms, ", "))
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-platforms: none given")
	}
	return out, nil
}

// runPlatformLevel runs the floor, then passcodebot, on Discord or Teams at
// one concurrency, each against its own fakes.
func runPlatformLevel(ctx context.Context, o *Options, platform string, c int) (PlatformLevel, error) {
	var floor *PlatformLevel
	if o.FloorBin != "" {
		fmt.Fprintf(o.Progress, "%s, level %d: floor…\n", platform, c)
		f, err := measurePlatform(ctx, o, platform, c, true)
		if err != nil {
			return f, fmt.Errorf("the floor: %w", err)
		}
		floor = &f
	}
	fmt.Fprintf(o.Progress, "%s, level %d: passcodebot…\n", platform, c)
	l, err := measurePlatform(ctx, o, platform, c, false)
	l.Floor = floor
	return l, err
}

// measurePlatform drives one bot process (passcodebot, or the floor when
// floor is set) through max(c, MinResets) resets, c at once.
func measurePlatform(ctx context.Context, o *Options, platform string, c int, floor bool) (PlatformLevel, error) {
	total := max(c, o.MinResets)
	var d platformDriver
	switch platform {
	case PlatformDiscord:
		d = newDiscordDriver()
	case PlatformTeams:
		d = newTeamsDriver()
	default:
		return PlatformLevel{}, fmt.Errorf("no driver for %s", platform)
	}
	// User.ReadBasic.All besides the defaults: the Discord preload looks the employees up.
	ps := &platformSession{graph: graphtest.New(graphtest.Options{Roles: []string{graphtest.RoleRead, graphtest.RolePrivileged, graphtest.RoleUserBasic}}), d: d}
	defer ps.close()
	for n := range total {
		e := employeeAt(n)
		addDirectoryUser(ps.graph, e, resettable, graphtest.Plan{Outcome: "done", PendingReads: 1})
		d.addEmployee(e)
	}
	l := PlatformLevel{Platform: platform, Concurrency: c, Resets: total}
	tag := fmt.Sprintf("%s-level%d", platform, c)
	startBot := ps.startBot
	if floor {
		startBot, tag = ps.startFloor, tag+"-floor"
	}
	if err := startBot(ctx, o, tag); err != nil {
		return l, err
	}
	l.Start = ps.start
	var sm samples
	var errs errorLog
	var completed atomic.Int64
	before := ps.graph.Counts()
	apiBefore := d.calls()
	read := func() totals {
		if floor {
			return readTotals(httpClient, ps.listen, true)
		}
		return readTotals(httpClient, ps.admin, false)
	}
	totalsBefore := read()
	if !floor && o.ProfileDir != "" {
		profiled := ps.profile(o, tag)
		defer profiled()
	}
	cpu := startCPU(ps.proc.pid())
	start := time.Now()
	workers(ctx, c, 0, total, &errs, func(ctx context.Context, e employee) error {
		if err := d.fullReset(ctx, o, ps, e, &sm); err != nil {
			return err
		}
		completed.Add(1)
		return nil
	})
	l.Elapsed = time.Since(start)
	l.CPU, l.DriverCPU = cpu.stop()
	l.Completed = int(completed.Load())
	l.Errors, l.FirstErrors = errs.get()
	l.Reply = sm.summary(platformChatActions...)
	l.ByAction = map[string]Latencies{}
	for _, k := range []string{actReset, actPick, actSignIn, actConfirm, actResult} {
		l.ByAction[k] = sm.summary(k)
	}
	l.Graph = graphPerReset(before, ps.graph.Counts(), l.Completed)
	l.Acks = d.acks(ctx)
	// After the acks: they wait for the callbacks still due, which are calls of the level.
	l.API = apiPerReset(apiBefore, d.calls(), l.Completed)
	l.Durable, l.Allocs = countsPerReset(totalsBefore, read(), l.Completed)
	l.Bot, _ = ReadMemory(ps.proc.pid())
	if !floor {
		l.Heap, _ = ReadHeap(httpClient, ps.admin)
	}
	return l, nil
}

// platformDriver is what differs between Discord and Teams.
type platformDriver interface {
	addEmployee(e employee)
	// floorEnv is the floor's environment for this platform.
	floorEnv(dir string) ([]string, error)
	// config is the bot's chat: section and settings, extra intune: settings
	// ("key: value, ..."; may be empty), and its environment.
	config(dir string) (yaml, intune string, env []string, err error)
	// connected waits until the bot is connected (Discord: a ready gateway
	// session; Teams: the endpoint set).
	connected(ctx context.Context, ps *platformSession) error
	fullReset(ctx context.Context, o *Options, ps *platformSession, e employee, sm *samples) error
	acks(ctx context.Context) Acks
	// calls is the platform calls the fake has served so far, by route.
	calls() map[string]int
	close()
}

// platformSession is one bot process on Discord or Teams with its fake Graph.
type platformSession struct {
	d      platformDriver
	graph  *graphtest.Server
	proc   *process
	admin  string // the admin listener (metrics, pprof)
	listen string // the bot's HTTP server (sign-in pages; Teams' endpoint)
	tag    string // names the level's files
	start  Startup
}

func (ps *platformSession) close() {
	if ps.proc != nil {
		ps.proc.stop(15 * time.Second)
	}
	ps.d.close()
	ps.graph.Close()
}

// startBot runs passcodebot with the driver's chat against its fake, Intune
// on the fake Graph and the demo sign-in on loopback, as the Slack run does.
func (ps *platformSession) startBot(ctx context.Context, o *Options, tag string) error {
	ps.tag = tag
	var err error
	if ps.admin, err = freeAddr(); err != nil {
		return err
	}
	if ps.listen, err = freeAddr(); err != nil {
		return err
	}
	dir := filepath.Join(o.WorkDir, tag)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	chat, intuneExtra, env, err := ps.d.config(dir)
	if err != nil {
		return err
	}
	cfg := fmt.Sprintf(`%s
devices: intune
reauth: local
insecure_demo_signin_with_real_chat: true
timezone: UTC
http: {listen: %q, admin_listen: %q, pprof: true}
log: {level: warn}
audit: {file: %q}
reset: {poll_first: %s, poll_max: %s, poll_timeout: 2m}
intune: {graph_url: %q, login_url: %q%s}
`, chat, ps.listen, ps.admin, filepath.Join(o.AuditDir, tag+"-audit.db"), o.PollFirst, 4*o.PollFirst, ps.graph.URL, ps.graph.URL, intuneExtra)
	path := filepath.Join(dir, "passcodebot.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	t0 := time.Now()
	p, err := startProcess("passcodebot", o.BotBin, filepath.Join(o.WorkDir, tag+"-passcodebot.log"), []string{"-config", path}, append(env,
		intune.EnvTenantID+"="+ps.graph.TenantID, intune.EnvClientID+"="+ps.graph.ClientID, intune.EnvClientSecret+"="+ps.graph.ClientSecret))
	if err != nil {
		return err
	}
	ps.proc = p
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(o.Timeout)
	for {
		resp, err := probe.Get("http://" + ps.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				ps.start.Ready = time.Since(t0)
				break
			}
		}
		if time.Now().After(deadline) || p.exited() {
			return fmt.Errorf("passcodebot is not ready: %v\n%s", err, p.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ps.settle(ctx, o, p, t0)
}

// profile saves, into ProfileDir, a CPU profile of the bot's first
// ProfileSeconds of the level and its goroutines 2 s into it; the function
// it returns waits for both.
func (ps *platformSession) profile(o *Options, tag string) (wait func()) {
	var wg sync.WaitGroup
	for _, p := range []struct {
		after      time.Duration
		what, file string
	}{
		{0, fmt.Sprintf("profile?seconds=%d", o.ProfileSeconds), tag + "-cpu.pprof"},
		{2 * time.Second, "goroutine?debug=1", tag + "-goroutines.txt"},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(p.after)
			if err := saveProfile("http://"+ps.admin+"/debug/pprof/"+p.what, filepath.Join(o.ProfileDir, p.file)); err != nil {
				fmt.Fprintf(o.Progress, "profile %s: %v\n", p.file, err)
			}
		}()
	}
	return wg.Wait
}

// startFloor runs bench/baseline/floor with FLOOR_PLATFORM set, against the
// driver's fake and the session's fake Graph.
func (ps *platformSession) startFloor(ctx context.Context, o *Options, tag string) error {
	var err error
	if ps.listen, err = freeAddr(); err != nil {
		return err
	}
	dir := filepath.Join(o.WorkDir, tag)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	env, err := ps.d.floorEnv(dir)
	if err != nil {
		return err
	}
	ready := filepath.Join(dir, "ready")
	device := "{device}"
	t0 := time.Now()
	p, err := startProcess("floor", o.FloorBin, filepath.Join(o.WorkDir, tag+".log"), nil, append(env,
		"FLOOR_GRAPH_URL="+ps.graph.URL, "FLOOR_LOGIN_URL="+ps.graph.URL, "FLOOR_TENANT_ID="+ps.graph.TenantID,
		"FLOOR_CLIENT_ID="+ps.graph.ClientID, "FLOOR_CLIENT_SECRET="+ps.graph.ClientSecret,
		"FLOOR_DB="+filepath.Join(o.AuditDir, tag+".db"), "FLOOR_LISTEN="+ps.listen, "FLOOR_READY_FILE="+ready,
		"FLOOR_POLL_FIRST="+o.PollFirst.String(), "FLOOR_POLL_MAX="+(4*o.PollFirst).String(),
		"FLOOR_TEXT_RESETTING="+en.cat.T("en", "resetting", map[string]any{"Device": device}),
		"FLOOR_TEXT_SUCCESS="+en.cat.T("en", "success", map[string]any{"Device": device}),
		"FLOOR_TEXT_PASSCODE_LABEL="+en.cat.T("en", "passcode_label")))
	if err != nil {
		return err
	}
	ps.proc = p
	deadline := time.Now().Add(o.Timeout)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) || p.exited() {
			return fmt.Errorf("the floor did not start: %v\n%s", p.err, p.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ps.settle(ctx, o, p, t0)
}

// settle waits, after a process started at t0 is ready, for its chat
// connection, then reads its idle memory.
func (ps *platformSession) settle(ctx context.Context, o *Options, p *process, t0 time.Time) error {
	cctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if err := ps.d.connected(cctx, ps); err != nil {
		return fmt.Errorf("%w\n%s", err, p.logTail())
	}
	ps.start.Connected = time.Since(t0)
	time.Sleep(idleSettle)
	if m, err := ReadMemory(p.pid()); err == nil {
		ps.start.IdleRSS, ps.start.IdleAnon, ps.start.IdleFile = m.RSS, m.Anon, m.File
	}
	if ps.admin != "" { // passcodebot, not the floor
		ps.start.IdleHeap, _ = ReadHeap(httpClient, ps.admin)
		if o.ProfileDir != "" {
			if err := saveProfile("http://"+ps.admin+"/debug/pprof/heap?gc=1", filepath.Join(o.ProfileDir, ps.tag+"-idle-heap.pprof")); err != nil {
				fmt.Fprintf(o.Progress, "profile %s-idle-heap.pprof: %v\n", ps.tag, err)
			}
		}
	}
	return nil
}

// addDirectoryUser gives employee e a directory user and a phone in the fake Graph.
func addDirectoryUser(g *graphtest.Server, e employee, kind deviceKind, plan graphtest.Plan) {
	enroll := "androidEnterpriseFullyManaged"
	if kind == contactSupport {
		enroll = "androidEnterpriseDedicatedDevice"
	}
	g.AddUser(graphtest.User{ID: objectIDOf(e), UPN: e.email, DisplayName: fmt.Sprintf("Employee %d", e.n)},
		graphtest.Device{
			ID: deviceIDOf(e), Name: e.device, Model: "Pixel 8", Manufacturer: "Google",
			OperatingSystem: "Android", OSVersion: "15", OwnerType: "company", EnrollmentType: enroll,
			DeviceType: "androidEnterprise", LastSync: time.Now().Add(-time.Hour), Reset: plan,
		})
}

func objectIDOf(e employee) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.n) }

// seen is something a fake received from the bot, with the wall time it did.
type seen[T any] struct {
	at time.Time
	v  T
}

// box holds what the bot sent to one person, in order, for the one goroutine
// that drives that person. push never blocks for long: the fakes call it with
// their lock held.
type box[T any] struct {
	mu    sync.Mutex
	items []seen[T]
	wake  chan struct{}
}

func (b *box[T]) push(v T) {
	now := time.Now()
	b.mu.Lock()
	b.items = append(b.items, seen[T]{at: now, v: v})
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// next returns the oldest item not yet taken, waiting up to timeout.
func (b *box[T]) next(ctx context.Context, timeout time.Duration) (seen[T], error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		b.mu.Lock()
		if len(b.items) > 0 {
			r := b.items[0]
			var zero seen[T]
			b.items[0] = zero
			b.items = b.items[1:]
			b.mu.Unlock()
			return r, nil
		}
		b.mu.Unlock()
		select {
		case <-b.wake:
		case <-timer.C:
			return seen[T]{}, errTimeout
		case <-ctx.Done():
			return seen[T]{}, ctx.Err()
		}
	}
}

// expect waits for the next item that satisfies ok, skipping the others
// (edits of earlier messages, notices such as "the browser is opening the
// sign-in"); a wrong turn shows as a timeout naming what was awaited and
// quoting (with say) the last message skipped.
func (b *box[T]) expect(ctx context.Context, timeout time.Duration, what string, ok func(T) bool, say func(T) string) (seen[T], error) {
	deadline := time.Now().Add(timeout)
	last := "nothing"
	for {
		r, err := b.next(ctx, time.Until(deadline))
		if err != nil {
			return r, fmt.Errorf("waiting for %s (the bot's last message: %q): %w", what, clip(last, 300), err)
		}
		if ok(r.v) {
			return r, nil
		}
		last = say(r.v)
	}
}

// boxes routes what a fake receives to the box of its conversation.
type boxes[T any] struct {
	mu sync.RWMutex
	m  map[string]*box[T]
}

func (r *boxes[T]) get(key string) *box[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*box[T]{}
	}
	b := r.m[key]
	if b == nil {
		b = &box[T]{wake: make(chan struct{}, 1)}
		r.m[key] = b
	}
	return b
}

// push hands v to key's box; conversations nobody follows are dropped.
func (r *boxes[T]) push(key string, v T) {
	r.mu.RLock()
	b := r.m[key]
	r.mu.RUnlock()
	if b != nil {
		b.push(v)
	}
}

var formToken = regexp.MustCompile(`name="token" value="([^"]+)"`)

// pickInBrowser opens a device link as a browser does: the pick page (GET:
// it changes nothing; link previews stop here), then its form (POST), which
// picks the device and answers with the demo sign-in form. It returns the
// sign-in window's token from that form.
func pickInBrowser(link string) (string, error) {
	if err := httpDo(http.MethodGet, link, nil, "document.forms[0].submit()"); err != nil {
		return "", err
	}
	resp, err := httpClient.PostForm(link, url.Values{})
	if err != nil {
		return "", err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return "", err
	}
	m := formToken.FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("POST %s: %s, no sign-in form", link, resp.Status)
	}
	return string(m[1]), nil
}

// localSignIn posts the demo sign-in form as upn; it returns when it was sent.
func localSignIn(base, token, upn string) (time.Time, error) {
	t0 := time.Now()
	return t0, httpDo(http.MethodPost, base+"/local/signin", url.Values{"token": {token}, "choice": {upn}}, "")
}

// originOf is scheme://host of a link.
func originOf(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	return u.Scheme + "://" + u.Host, nil
}
