package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/intune"
	"github.com/passcodebot/passcodebot/intune/graphtest"
)

// helpdesk is the helpdesk channel's id in the fake workspace.
const helpdesk = "C0HELPDESK"

// reply is a Web API call as the fake received it, with the wall time it did.
type reply struct {
	at   time.Time
	call slacktest.Call
}

// inbox holds the calls to one channel, in order, for the one goroutine that
// drives that channel's person.
type inbox struct {
	mu    sync.Mutex
	calls []reply
	wake  chan struct{}
}

func newInbox() *inbox { return &inbox{wake: make(chan struct{}, 1)} }

func (b *inbox) push(r reply) {
	b.mu.Lock()
	b.calls = append(b.calls, r)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// next returns the oldest call not yet taken, waiting up to timeout.
func (b *inbox) next(ctx context.Context, timeout time.Duration) (reply, error) {
	var timer *time.Timer
	for {
		b.mu.Lock()
		if len(b.calls) > 0 {
			r := b.calls[0]
			b.calls[0] = reply{}
			b.calls = b.calls[1:]
			b.mu.Unlock()
			if timer != nil {
				timer.Stop()
			}
			return r, nil
		}
		b.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(timeout)
		}
		select {
		case <-b.wake:
		case <-timer.C:
			return reply{}, errTimeout
		case <-ctx.Done():
			timer.Stop()
			return reply{}, ctx.Err()
		}
	}
}

var errTimeout = errors.New("timed out waiting for the bot")

// router hands every call to a channel's inbox; calls to other channels are dropped.
type router struct {
	mu    sync.RWMutex
	boxes map[string]*inbox

	cmu     sync.Mutex
	methods map[string]int // Web API calls by method, all channels
}

// counts is a copy of the Web API calls made so far, by method.
func (r *router) counts() map[string]int {
	r.cmu.Lock()
	defer r.cmu.Unlock()
	return maps.Clone(r.methods)
}

func (r *router) inbox(channel string) *inbox {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.boxes == nil {
		r.boxes = map[string]*inbox{}
	}
	b := r.boxes[channel]
	if b == nil {
		b = newInbox()
		r.boxes[channel] = b
	}
	return b
}

func (r *router) onCall(c slacktest.Call) {
	now := time.Now()
	r.cmu.Lock()
	if r.methods == nil {
		r.methods = map[string]int{}
	}
	r.methods[c.Method]++
	r.cmu.Unlock()
	if c.Channel == "" {
		return
	}
	r.mu.RLock()
	b := r.boxes[c.Channel]
	r.mu.RUnlock()
	if b != nil {
		b.push(reply{at: now, call: c})
	}
}

// process is a bot (passcodebot or the baseline) running as a child process.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startProcess(name, bin, logPath string, args, env []string) (*process, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop asks the process to end (SIGTERM) and kills it after a grace period.
func (p *process) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// logTail is the end of the process's log, for error messages.
func (p *process) logTail() string {
	b, _ := os.ReadFile(p.log)
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "…" + s[len(s)-2000:]
	}
	return s
}

// session is one fake Slack workspace (and, for passcodebot, one fake Graph)
// with one bot process connected to it.
type session struct {
	fs     *slacktest.Server
	graph  *graphtest.Server
	proc   *process
	admin  string // passcodebot's admin listener
	floor  string // the floor's sign-in server, when the session runs it
	routes *router
	plan   func(n int) graphtest.Plan // how employee n's reset plays out; nil: pending once, then done
	start  Startup

	envMu sync.Mutex
	envs  []string // envelope ids delivered, in order
}

// Startup is how a bot process started: from the process's start to /readyz
// answering 200 (passcodebot only) and to its Socket Mode connection, and its
// resident set and live heap once ready, before any conversation.
type Startup struct {
	Ready, Connected time.Duration
	IdleRSS          int64
	IdleAnon         int64  // of IdleRSS: anonymous memory
	IdleFile         int64  // of IdleRSS: file-backed (the binary)
	IdleHeap         uint64 // passcodebot only
}

// idleSettle is how long a started bot is left alone before its idle RSS is read.
const idleSettle = 500 * time.Millisecond

// deliver sends an envelope to the bot and remembers its id, for the acks.
func (s *session) deliver(e slacktest.Envelope) error {
	s.envMu.Lock()
	s.envs = append(s.envs, e.EnvelopeID)
	s.envMu.Unlock()
	return s.fs.Deliver(e)
}

// delivered is how many envelopes were delivered so far.
func (s *session) delivered() int {
	s.envMu.Lock()
	defer s.envMu.Unlock()
	return len(s.envs)
}

// ackWait is how long acks are waited for after a run: past Slack's 3 s, an
// envelope not acknowledged counts as late.
const ackWait = AckLate + 500*time.Millisecond

// acks summarises the acknowledgements of the envelopes delivered from the
// from-th on, waiting up to ackWait for those not acknowledged yet.
func (s *session) acks(ctx context.Context, from int) Acks {
	s.envMu.Lock()
	ids := append([]string(nil), s.envs[from:]...)
	s.envMu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, ackWait)
	defer cancel()
	pending := slices.Clone(ids)
	_ = s.fs.WaitFor(wctx, func() bool {
		pending = slices.DeleteFunc(pending, func(id string) bool { _, ok := s.fs.Acked(id); return ok })
		return len(pending) == 0
	})
	a := Acks{Sent: len(ids)}
	var ds []time.Duration
	for _, id := range ids {
		ack, ok := s.fs.Acked(id)
		if !ok {
			a.Missing++
			continue
		}
		ds = append(ds, ack.Latency)
		if ack.Latency > AckLate {
			a.Late++
		}
	}
	a.Latencies = Summarize(ds)
	return a
}

func newSession() *session {
	s := &session{routes: &router{}}
	s.fs = slacktest.New(slacktest.Options{OnCall: s.routes.onCall, ForgetCalls: true})
	s.fs.AddChannel(slacktest.Channel{ID: helpdesk, Name: "helpdesk"})
	return s
}

// close stops the process and the fakes.
func (s *session) close() {
	if s.proc != nil {
		s.proc.stop(15 * time.Second)
	}
	s.fs.Close()
	if s.graph != nil {
		s.graph.Close()
	}
}

// waitConnected waits until the bot holds the Socket Mode connection.
func (s *session) waitConnected(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.fs.WaitConnections(ctx, 1) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s did not connect to the fake Slack: %w\n%s", s.proc.name, err, s.proc.logTail())
		}
		return nil
	case <-s.proc.done:
		return fmt.Errorf("%s exited at start: %v\n%s", s.proc.name, s.proc.err, s.proc.logTail())
	}
}

// startBaseline runs the bare slack-go bot against the session's fake.
func (s *session) startBaseline(ctx context.Context, o *Options, tag string) error {
	t0 := time.Now()
	p, err := startProcess("baseline", o.BaselineBin, filepath.Join(o.WorkDir, tag+"-baseline.log"), nil, []string{
		"BASELINE_SLACK_API_URL=" + s.fs.APIURL(), "BASELINE_SLACK_BOT_TOKEN=" + s.fs.BotToken, "BASELINE_SLACK_APP_TOKEN=" + s.fs.AppToken,
	})
	if err != nil {
		return err
	}
	s.proc = p
	if err := s.waitConnected(ctx, o.Timeout); err != nil {
		return err
	}
	s.start.Connected = time.Since(t0)
	s.settle()
	return nil
}

// settle leaves the started bot alone for idleSettle, then reads its resident set.
func (s *session) settle() {
	time.Sleep(idleSettle)
	if m, err := ReadMemory(s.proc.pid()); err == nil {
		s.start.IdleRSS, s.start.IdleAnon, s.start.IdleFile = m.RSS, m.Anon, m.File
	}
}

// startFloor runs bench/baseline/floor against the session's fakes.
func (s *session) startFloor(ctx context.Context, o *Options, tag string) error {
	listen, err := freeAddr()
	if err != nil {
		return err
	}
	ready := filepath.Join(o.WorkDir, tag+"-floor.ready")
	device := "{device}"
	t0 := time.Now()
	p, err := startProcess("floor", o.FloorBin, filepath.Join(o.WorkDir, tag+"-floor.log"), nil, []string{
		"FLOOR_SLACK_API_URL=" + s.fs.APIURL(), "FLOOR_SLACK_BOT_TOKEN=" + s.fs.BotToken, "FLOOR_SLACK_APP_TOKEN=" + s.fs.AppToken,
		"FLOOR_GRAPH_URL=" + s.graph.URL, "FLOOR_LOGIN_URL=" + s.graph.URL, "FLOOR_TENANT_ID=" + s.graph.TenantID,
		"FLOOR_CLIENT_ID=" + s.graph.ClientID, "FLOOR_CLIENT_SECRET=" + s.graph.ClientSecret,
		"FLOOR_DB=" + filepath.Join(o.AuditDir, tag+"-floor.db"), "FLOOR_LISTEN=" + listen, "FLOOR_READY_FILE=" + ready,
		"FLOOR_POLL_FIRST=" + o.PollFirst.String(), "FLOOR_POLL_MAX=" + (4 * o.PollFirst).String(),
		"FLOOR_TEXT_RESETTING=" + en.cat.T("en", "resetting", map[string]any{"Device": device}),
		"FLOOR_TEXT_SUCCESS=" + en.cat.T("en", "success", map[string]any{"Device": device}),
	})
	if err != nil {
		return err
	}
	s.proc, s.floor = p, listen
	deadline := time.Now().Add(o.Timeout)
	for {
		if _, err := os.Stat(ready); err == nil {
			break
		}
		if time.Now().After(deadline) || p.exited() {
			return fmt.Errorf("the floor did not connect: %v\n%s", p.err, p.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
	s.start.Connected = time.Since(t0)
	s.settle()
	return nil
}

// startBot runs passcodebot against the session's fakes, with the local
// sign-in on loopback and Intune on the fake Graph.
func (s *session) startBot(ctx context.Context, o *Options, tag string) error {
	admin, err := freeAddr()
	if err != nil {
		return err
	}
	s.admin = admin
	dir := filepath.Join(o.WorkDir, tag)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`chat: [slack]
devices: intune
reauth: local
insecure_demo_signin_with_real_chat: true
timezone: UTC
http: {listen: "127.0.0.1:0", admin_listen: %q, pprof: true}
log: {level: warn}
audit: {file: %q}
reset: {poll_first: %s, poll_max: %s, poll_timeout: 2m}
slack: {api_url: %q, helpdesk_channel: %s}
intune: {graph_url: %q, login_url: %q}
`, admin, filepath.Join(o.AuditDir, tag+"-audit.db"), o.PollFirst, 4*o.PollFirst, s.fs.APIURL(), helpdesk, s.graph.URL, s.graph.URL)
	path := filepath.Join(dir, "passcodebot.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return err
	}
	t0 := time.Now()
	p, err := startProcess("passcodebot", o.BotBin, filepath.Join(o.WorkDir, tag+"-passcodebot.log"), []string{"-config", path}, []string{
		slackadapter.EnvBotToken + "=" + s.fs.BotToken, slackadapter.EnvAppToken + "=" + s.fs.AppToken,
		intune.EnvTenantID + "=" + s.graph.TenantID, intune.EnvClientID + "=" + s.graph.ClientID,
		intune.EnvClientSecret + "=" + s.graph.ClientSecret,
	})
	if err != nil {
		return err
	}
	s.proc = p
	connected := make(chan error, 1)
	go func() {
		err := s.waitConnected(ctx, o.Timeout)
		s.start.Connected = time.Since(t0)
		connected <- err
	}()
	// Start to ready: /readyz asked every 2 ms from the process's start (a
	// fresh connection each time, so no pooled connection hides the listener
	// coming up).
	probe := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	deadline := time.Now().Add(o.Timeout)
	for {
		resp, err := probe.Get("http://" + admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				s.start.Ready = time.Since(t0)
				break
			}
		}
		if time.Now().After(deadline) || s.proc.exited() {
			return fmt.Errorf("passcodebot is not ready: %v\n%s", err, s.proc.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := <-connected; err != nil {
		return err
	}
	s.settle()
	s.start.IdleHeap, _ = ReadHeap(httpClient, s.admin)
	s.profile(o, tag+"-idle-heap.pprof", "heap?gc=1")
	return nil
}

// totals reads the session's bot's counters so far.
func (s *session) totals() totals {
	if s.floor != "" {
		return readTotals(httpClient, s.floor, true)
	}
	return readTotals(httpClient, s.admin, false)
}

// profile saves /debug/pprof/<what> of the bot into ProfileDir, when set.
func (s *session) profile(o *Options, name, what string) {
	if o.ProfileDir == "" {
		return
	}
	if err := saveProfile("http://"+s.admin+"/debug/pprof/"+what, filepath.Join(o.ProfileDir, name)); err != nil {
		fmt.Fprintf(o.Progress, "profile %s: %v\n", name, err)
	}
}

// profileCPU starts a CPU profile of ProfileSeconds in the background; the
// function it returns waits for it.
func (s *session) profileCPU(o *Options, name string) (wait func()) {
	if o.ProfileDir == "" {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.profile(o, name, fmt.Sprintf("profile?seconds=%d", o.ProfileSeconds))
	}()
	return func() { <-done }
}

func saveProfile(url, path string) error {
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// httpClient is the simulated employees' browser: many connections to the bot.
var httpClient = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 2048
	tr.MaxIdleConnsPerHost = 1024
	return &http.Client{Transport: tr, Timeout: time.Minute}
}()
