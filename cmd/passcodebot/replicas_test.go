package main_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/intune/graphtest"
	"github.com/passcodebot/passcodebot/postgres/pgtest"
)

// These tests run two real bot processes (the built binary) against the fake
// Slack, the fake Graph and one real PostgreSQL. They wait on real time where
// the lease's timing is what is measured, always polling with a deadline.

const replicaWait = 40 * time.Second

type person struct{ slackID, upn, deviceID, device string }

var people = []person{
	{"U0ALICE", "alice@contoso.example", "dev-alice", "Alice's Pixel 8"},
	{"U0BOB", "bob@contoso.example", "dev-bob", "Bob's Pixel 7"},
	{"U0CAROL", "carol@contoso.example", "dev-carol", "Carol's Pixel 9"},
}

type cluster struct {
	t     *testing.T
	ctx   context.Context
	pg    *pgtest.Server
	dbURL string
	fs    *slacktest.Server
	graph *graphtest.Server
	cfg   string
	env   []string
}

// newCluster starts PostgreSQL, the fake Slack and Graph, and writes the replicas' config.
// after is how long each reset stays pending on the fake Graph.
func newCluster(t *testing.T, after time.Duration, extra string) *cluster {
	pg := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	c := &cluster{t: t, ctx: ctx, pg: pg, dbURL: pg.NewDatabase(t)}
	c.fs = slacktest.New(slacktest.Options{})
	t.Cleanup(c.fs.Close)
	c.fs.AddChannel(slacktest.Channel{ID: "C0HELP", Name: "helpdesk"})
	c.graph = graphtest.New(graphtest.Options{})
	t.Cleanup(c.graph.Close)
	for i, p := range people {
		c.fs.AddUser(slacktest.User{ID: p.slackID, Name: strings.Split(p.upn, "@")[0], Email: p.upn, Locale: "en-US"})
		c.graph.AddUser(graphtest.User{ID: fmt.Sprintf("a11ce000-0000-4000-8000-00000000000%d", i+1), UPN: p.upn, DisplayName: p.upn},
			graphtest.Device{ID: p.deviceID, Name: p.device, Model: "Pixel", Manufacturer: "Google", OperatingSystem: "Android",
				OSVersion: "15", OwnerType: "company", EnrollmentType: "androidEnterpriseCorporateWorkProfile", DeviceType: "androidEnterprise",
				LastSync: time.Now().Add(-time.Hour), Reset: graphtest.Plan{Passcode: "Pass" + fmt.Sprint(1000+i), After: after}})
	}
	c.cfg = writeConfig(t, `chat: [slack]
devices: intune
reauth: local
insecure_demo_signin_with_real_chat: true
timezone: UTC
log: {level: debug}
store: postgres
reset: {poll_first: 10ms, poll_max: 50ms}
intune: {graph_url: '`+c.graph.URL+`', login_url: '`+c.graph.URL+`'}
slack:
  mode: socket
  api_url: `+c.fs.APIURL()+`
  helpdesk_channel: C0HELP
`+extra)
	c.env = append(graphEnv(c.graph), "PASSCODEBOT_SLACK_BOT_TOKEN="+c.fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN="+c.fs.AppToken,
		"PASSCODEBOT_POSTGRES_URL="+c.dbURL)
	return c
}

// replica is one bot process.
type replica struct {
	*bot
	base string // its HTTP server
	exit chan error
}

func (c *cluster) start(env ...string) *replica {
	c.t.Helper()
	b := launch(c.t, c.cfg, "", append(append([]string{}, c.env...), env...)...)
	i := 0
	base := b.logs.next(c.t, &i, regexp.MustCompile(`passcodebot starting.* public_url=(\S+)`))[1]
	r := &replica{bot: b, base: base, exit: make(chan error, 1)}
	go func() { r.exit <- b.cmd.Wait() }()
	return r
}

var (
	tookLease   = regexp.MustCompile(`took the lease`)
	leaseLostAt = regexp.MustCompile(`time=(\S+) level=ERROR msg="leader: lost the leader lease`)
)

// waitLeads waits until the replica logs that it leads.
func (r *replica) waitLeads(t *testing.T) {
	t.Helper()
	i := 0
	r.logs.next(t, &i, tookLease)
}

func (r *replica) leads() bool { return tookLease.MatchString(r.logs.text()) }

// leadsAndConnected waits until the replica leads and is connected to Slack.
func (c *cluster) leadsAndConnected(r *replica, what string) time.Duration {
	c.t.Helper()
	took := poll(c.t, what, r.leads)
	poll(c.t, "the new leader's Slack connection", c.fs.Connected)
	return took
}

func status(t *testing.T, u string) int {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// poll waits until cond holds, checking every 10 ms, or fails after replicaWait.
func poll(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > replicaWait {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func (c *cluster) deliver(env slacktest.Envelope) {
	c.t.Helper()
	if err := c.fs.Deliver(env); err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.fs.WaitAck(c.ctx, env.EnvelopeID); err != nil {
		c.t.Fatalf("envelope not acked: %v", err)
	}
}

func (c *cluster) wait(p person, what string, match func(slacktest.Message) bool) slacktest.Message {
	c.t.Helper()
	m, err := c.fs.WaitMessage(c.ctx, slacktest.IM(p.slackID), match)
	if err != nil {
		var got []string
		for _, m := range c.fs.Messages(slacktest.IM(p.slackID)) {
			got = append(got, m.Texts())
		}
		c.t.Fatalf("%s: no %s: %v\n%s", p.upn, what, err, strings.Join(got, "\n---\n"))
	}
	return m
}

func texted(s string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool { return strings.Contains(m.Texts(), s) }
}

func withAction(id string) func(slacktest.Message) bool {
	return func(m slacktest.Message) bool {
		for _, a := range m.Actions() {
			if a.ActionID == id {
				return true
			}
		}
		return false
	}
}

func (c *cluster) click(p person, m slacktest.Message, id string) {
	c.t.Helper()
	env, err := c.fs.Click(p.slackID, m.Channel, m.TS, id, "")
	if err != nil {
		c.t.Fatal(err)
	}
	c.deliver(env)
}

// toPick: the person writes "reset" and gets the device list.
func (c *cluster) toPick(p person) slacktest.Message {
	c.t.Helper()
	old := map[string]bool{}
	for _, m := range c.fs.Messages(slacktest.IM(p.slackID)) {
		old[m.TS] = true
	}
	c.deliver(c.fs.DM(p.slackID, "reset"))
	return c.wait(p, "device list", func(m slacktest.Message) bool {
		return !old[m.TS] && withAction("pcb_choice_0")(m) && strings.Contains(m.Texts(), p.device) && len(m.Actions()) > 1
	})
}

// toLink: picks the device and gets the sign-in link.
func (c *cluster) toLink(p person, list slacktest.Message) string {
	c.t.Helper()
	c.click(p, list, "pcb_choice_0")
	var link string
	c.wait(p, "sign-in link", func(m slacktest.Message) bool {
		for _, a := range m.Actions() {
			if a.ActionID == "pcb_link" && !c.seen(a.URL) {
				link = a.URL
				return true
			}
		}
		return false
	})
	return link
}

var seenLinks sync.Map

func (c *cluster) seen(link string) bool { _, dup := seenLinks.LoadOrStore(link, true); return dup }

// toWarning signs in through the link and gets the warning with the Reset button.
func (c *cluster) toWarning(p person, link string) slacktest.Message {
	c.t.Helper()
	u, _ := url.Parse(link)
	res, err := http.PostForm(u.Scheme+"://"+u.Host+"/local/signin", url.Values{"token": {strings.TrimPrefix(u.Path, "/r/")}, "choice": {p.upn}})
	if err != nil {
		c.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		c.t.Fatalf("sign-in: %s", res.Status)
	}
	var warning slacktest.Message
	c.wait(p, "warning", func(m slacktest.Message) bool {
		if strings.Contains(m.Texts(), "Warning: after the passcode") && withAction("pcb_button_0")(m) {
			warning = m
			return true
		}
		return false
	})
	return warning
}

func (c *cluster) untilWarning(p person) slacktest.Message {
	c.t.Helper()
	return c.toWarning(p, c.toLink(p, c.toPick(p)))
}

// passcodes counts the passcode messages the person got.
func (c *cluster) passcodes(p person) int {
	n := 0
	for _, m := range c.fs.Messages(slacktest.IM(p.slackID)) {
		if strings.Contains(string(m.Blocks), `"block_id":"pcb_secret"`) || m.Deleted && strings.Contains(m.Text, "passcode") {
			n++
		}
	}
	return n
}

func (c *cluster) resetRequests(deviceID string) int {
	n := 0
	for _, r := range c.graph.Requests() {
		if r.Route == graphtest.RouteReset && strings.Contains(r.Path, deviceID) {
			n++
		}
	}
	return n
}

func (c *cluster) query(q string, args ...any) int {
	c.t.Helper()
	conn, err := sql.Open("postgres", c.dbURL)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	var n int
	if err := conn.QueryRowContext(c.ctx, q, args...).Scan(&n); err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c *cluster) success(p person) {
	c.t.Helper()
	c.wait(p, "success", texted("Done: the passcode of "+p.device+" was reset successfully."))
}

// twoReplicas starts a leader, then a standby, and checks their health answers.
func (c *cluster) twoReplicas() (*replica, *replica) {
	t := c.t
	a := c.start()
	a.waitLeads(t)
	if err := c.fs.WaitConnections(c.ctx, 1); err != nil {
		t.Fatal(err)
	}
	b := c.start()
	i := 0
	b.logs.next(t, &i, regexp.MustCompile(`standby: waiting to lead`))
	if got := status(t, b.base+"/healthz"); got != http.StatusOK {
		t.Errorf("standby /healthz = %d, want 200", got)
	}
	if got := status(t, b.base+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("standby /readyz = %d, want 503", got)
	}
	if got := status(t, a.base+"/readyz"); got != http.StatusOK {
		t.Errorf("leader /readyz = %d, want 200", got)
	}
	if b.leads() {
		t.Fatal("two leaders")
	}
	return a, b
}

// TestReplicasFullResetAndKilledLeader: a full reset on the leader; then the
// leader is SIGKILLed right after "Reset passcode" was sent to Graph, and the
// standby takes over: the person gets the passcode exactly once, and Graph saw
// exactly one resetPasscode request.
func TestReplicasFullResetAndKilledLeader(t *testing.T) {
	c := newCluster(t, 3*time.Second, "")
	a, b := c.twoReplicas()
	alice, bob := people[0], people[1]

	c.click(alice, c.untilWarning(alice), "pcb_button_0")
	c.success(alice)
	if n := c.passcodes(alice); n != 1 {
		t.Errorf("alice got %d passcode messages", n)
	}
	if b.leads() {
		t.Fatal("the standby leads while the leader runs")
	}

	warning := c.untilWarning(bob)
	c.click(bob, warning, "pcb_button_0")
	poll(t, "Graph's resetPasscode request", func() bool { return c.resetRequests(bob.deviceID) == 1 })
	a.cmd.Process.Signal(syscall.SIGKILL)
	killed := time.Now()
	<-a.exit
	took := poll(t, "the standby to lead", b.leads)
	t.Logf("MEASURED failover after SIGKILL: standby led %v after the kill", time.Since(killed).Round(time.Millisecond))
	if took > 15*time.Second {
		t.Errorf("failover after a kill took %v, target 15 s", took)
	}
	c.success(bob)
	if n := c.passcodes(bob); n != 1 {
		t.Errorf("bob got %d passcode messages, want exactly 1", n)
	}
	if n := c.resetRequests(bob.deviceID); n != 1 {
		t.Errorf("%d resetPasscode requests for bob's device, want exactly 1", n)
	}
	t.Logf("MEASURED kill: bob saw the passcode %v after the kill", time.Since(killed).Round(time.Millisecond))
	if n := c.query(`SELECT count(*) FROM resets WHERE ended IS NULL`); n != 0 {
		t.Errorf("%d resets still in flight", n)
	}
	for _, s := range []string{"Pass1000", "Pass1001", c.fs.BotToken, c.graph.ClientSecret} {
		if strings.Contains(a.logs.text()+b.logs.text(), s) {
			t.Errorf("a secret or passcode is in a log")
		}
	}
}

// TestReplicasRollingRestart stops the leader cleanly while three people are
// mid-way (device list, sign-in link, reset in flight): the standby leads
// within 2 s, the reset in flight finishes once, the two others are told the
// bot restarted and finish on the new leader; no audit record is lost.
func TestReplicasRollingRestart(t *testing.T) {
	c := newCluster(t, 1500*time.Millisecond, "")
	a, b := c.twoReplicas()
	alice, bob, carol := people[0], people[1], people[2]

	c.toPick(alice)                  // at the device list
	c.toLink(bob, c.toPick(bob))     // at the sign-in link
	warning := c.untilWarning(carol) // about to reset
	c.click(carol, warning, "pcb_button_0")
	poll(t, "carol's reset request", func() bool { return c.resetRequests(carol.deviceID) == 1 })
	before := c.query(`SELECT count(*) FROM events`)

	a.cmd.Process.Signal(syscall.SIGTERM)
	took := c.leadsAndConnected(b, "the standby to lead")
	t.Logf("MEASURED failover after a clean stop (SIGTERM): standby led %v after the signal", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("failover after a clean stop took %v, target 2 s", took)
	}
	if err := <-a.exit; err != nil {
		t.Errorf("the stopped leader exited with %v", err)
	}

	c.success(carol)
	if n := c.passcodes(carol); n != 1 {
		t.Errorf("carol got %d passcodes", n)
	}
	if n := c.resetRequests(carol.deviceID); n != 1 {
		t.Errorf("%d resetPasscode requests for carol", n)
	}
	for _, p := range []person{alice, bob} {
		c.wait(p, "restart notice", texted("the bot restarted"))
	}
	if n := c.query(`SELECT count(*) FROM events WHERE step = 'restarted' AND outcome = 'told'`); n != 2 {
		t.Errorf("%d restart notices recorded, want 2 (alice and bob)", n)
	}
	// They go on with the new leader.
	for _, p := range []person{alice, bob} {
		c.click(p, c.untilWarning(p), "pcb_button_0")
		c.success(p)
	}
	if after := c.query(`SELECT count(*) FROM events`); after < before {
		t.Errorf("audit events went from %d to %d", before, after)
	}
	for _, p := range people {
		if n := c.query(`SELECT count(*) FROM events WHERE user_upn = $1 AND step = 'result' AND outcome = 'done'`, p.upn); n != 1 {
			t.Errorf("%s: %d successful results in the audit trail, want 1", p.upn, n)
		}
	}
	// The old leader comes back as a standby.
	a2 := c.start()
	i := 0
	a2.logs.next(t, &i, regexp.MustCompile(`standby: waiting to lead`))
	if a2.leads() {
		t.Error("the restarted replica leads beside the leader")
	}
	// An idle leader stopped cleanly hands over at once.
	b.cmd.Process.Signal(syscall.SIGTERM)
	took = c.leadsAndConnected(a2, "the restarted replica to lead")
	t.Logf("MEASURED failover after a clean stop of an idle leader: %v", took.Round(time.Millisecond))
	if took > 2*time.Second {
		t.Errorf("failover after a clean stop took %v, target 2 s", took)
	}
	c.click(alice, c.untilWarning(alice), "pcb_button_0")
	c.success(alice)
}

// TestReplicasDatabaseGoesAwayAndComesBack stops PostgreSQL under two replicas:
// the leader stops acting (and exits) before its lease ends; when the database
// is back, the standby leads and resets work again.
func TestReplicasDatabaseGoesAwayAndComesBack(t *testing.T) {
	c := newCluster(t, 0, "")
	a, b := c.twoReplicas()
	if err := c.pg.Stop(); err != nil {
		t.Fatal(err)
	}
	down := time.Now()
	var err error
	select {
	case err = <-a.exit:
	case <-time.After(replicaWait):
		t.Fatal("the leader went on without its database")
	}
	t.Logf("MEASURED the leader stopped acting %v after the database went away (exit: %v)", time.Since(down).Round(time.Millisecond), err)
	if err == nil || !strings.Contains(a.logs.text(), "lost the leader lease") {
		t.Errorf("leader exit %v, log:\n%s", err, a.logs.text())
	}
	if b.leads() {
		t.Fatal("the standby leads without a database")
	}
	if err := c.pg.Start(); err != nil {
		t.Fatal(err)
	}
	c.leadsAndConnected(b, "the standby to lead once the database is back")
	alice := people[0]
	c.click(alice, c.untilWarning(alice), "pcb_button_0")
	c.success(alice)
}

// cutProxy forwards TCP to the database until cut; then it forwards nothing
// and keeps the connections open, as a network partition does.
type cutProxy struct {
	ln  net.Listener
	mu  sync.Mutex
	cut bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			t.Cleanup(func() { in.Close(); out.Close() })
			go p.pipe(in, out)
			go p.pipe(out, in)
		}
	}()
	return p
}

func (p *cutProxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			continue // dropped on the floor
		}
		if _, err := dst.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *cutProxy) Cut() { p.mu.Lock(); p.cut = true; p.mu.Unlock() }

// TestReplicasLeaderCutFromTheDatabase partitions the leader from PostgreSQL
// (its packets go nowhere; nothing is closed): it stops acting before its
// lease expires, and the standby leads within 15 s.
func TestReplicasLeaderCutFromTheDatabase(t *testing.T) {
	c := newCluster(t, 0, "")
	proxy := newCutProxy(t, c.pg.Addr())
	u, _ := url.Parse(c.dbURL)
	u.Host = proxy.ln.Addr().String()
	a := c.start("PASSCODEBOT_POSTGRES_URL=" + u.String()) // later in the environment: it wins
	a.waitLeads(t)
	b := c.start()
	i := 0
	b.logs.next(t, &i, regexp.MustCompile(`standby: waiting to lead`))

	proxy.Cut()
	cut := time.Now()
	ledAfter := c.leadsAndConnected(b, "the standby to lead")
	a.logs.next(t, &i, regexp.MustCompile(`lost the leader lease`))
	var stoppedAfter time.Duration
	if at := leaseLostAt.FindStringSubmatch(a.logs.text()); at != nil {
		tm, _ := time.Parse(time.RFC3339Nano, at[1])
		stoppedAfter = tm.Sub(cut)
	}
	t.Logf("MEASURED network cut: the old leader stopped acting after %v; the standby led after %v", stoppedAfter.Round(time.Millisecond), ledAfter.Round(time.Millisecond))
	select {
	case <-a.exit:
	case <-time.After(replicaWait):
		t.Fatalf("the partitioned leader did not exit:\n%s", a.logs.text())
	}
	t.Logf("MEASURED network cut: the old leader's process exited after %v", time.Since(cut).Round(time.Millisecond))
	if os.Getenv("DEBUG_LOG") != "" {
		t.Log(a.logs.text())
	}
	if ledAfter > 15*time.Second {
		t.Errorf("failover after a network cut took %v, target 15 s", ledAfter)
	}
	if stoppedAfter >= ledAfter {
		t.Errorf("the old leader stopped (%v) after the new one led (%v): two leaders", stoppedAfter, ledAfter)
	}
	alice := people[0]
	c.click(alice, c.untilWarning(alice), "pcb_button_0")
	c.success(alice)
}

// TestTwoLeadersRaceForTheLimit runs two bots that both lead (two deployments
// on one database, under different lease names, e.g. two chat workspaces):
// alice has two resets, then presses "Reset passcode" in both at the same
// moment with the limit at 3. The database lets exactly one through: the
// count is 3, never 4, and Graph got exactly 3 reset requests.
func TestTwoLeadersRaceForTheLimit(t *testing.T) {
	c := newCluster(t, 0, "postgres: {lease_name: workspace-a}\n")
	other := slacktest.New(slacktest.Options{})
	t.Cleanup(other.Close)
	other.AddChannel(slacktest.Channel{ID: "C0HELP", Name: "helpdesk"})
	for _, p := range people {
		other.AddUser(slacktest.User{ID: p.slackID, Name: strings.Split(p.upn, "@")[0], Email: p.upn, Locale: "en-US"})
	}
	a := c.start()
	a.waitLeads(t)
	if err := c.fs.WaitConnections(c.ctx, 1); err != nil {
		t.Fatal(err)
	}
	c2 := *c
	c2.fs = other
	raw, err := os.ReadFile(c.cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := strings.ReplaceAll(strings.ReplaceAll(string(raw), c.fs.APIURL(), other.APIURL()), "workspace-a", "workspace-b")
	c2.cfg = filepath.Join(t.TempDir(), "b.yaml")
	if err := os.WriteFile(c2.cfg, []byte(cfg2), 0o600); err != nil {
		t.Fatal(err)
	}
	c2.env = append(graphEnv(c.graph), "PASSCODEBOT_SLACK_BOT_TOKEN="+other.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN="+other.AppToken,
		"PASSCODEBOT_POSTGRES_URL="+c.dbURL)
	b := c2.start()
	b.waitLeads(t) // its own lease: both lead
	if err := other.WaitConnections(c.ctx, 1); err != nil {
		t.Fatal(err)
	}
	alice := people[0]
	// One reset in each workspace.
	c.click(alice, c.untilWarning(alice), "pcb_button_0")
	c.success(alice)
	c2.click(alice, c2.untilWarning(alice), "pcb_button_0")
	c2.success(alice)
	// Both at the warning, then both press at once.
	wa, wb := c.untilWarning(alice), c2.untilWarning(alice)
	ea, err := c.fs.Click(alice.slackID, wa.Channel, wa.TS, "pcb_button_0", "")
	if err != nil {
		t.Fatal(err)
	}
	eb, err := other.Click(alice.slackID, wb.Channel, wb.TS, "pcb_button_0", "")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, d := range []struct {
		fs  *slacktest.Server
		env slacktest.Envelope
	}{{c.fs, ea}, {other, eb}} {
		wg.Add(1)
		go func() { defer wg.Done(); d.fs.Deliver(d.env) }()
	}
	wg.Wait()
	limit := "You've reached the limit of 3 passcode resets in 24 hours"
	refused := func(fs *slacktest.Server) bool {
		for _, m := range fs.Messages(slacktest.IM(alice.slackID)) {
			if strings.Contains(m.Texts(), limit) {
				return true
			}
		}
		return false
	}
	done := func(fs *slacktest.Server) int {
		n := 0
		for _, m := range fs.Messages(slacktest.IM(alice.slackID)) {
			if strings.Contains(m.Texts(), "was reset successfully") {
				n++
			}
		}
		return n
	}
	poll(t, "one through, one refused", func() bool {
		return (done(c.fs) == 2 && refused(other)) || (done(other) == 2 && refused(c.fs))
	})
	if n := c.query(`SELECT count(*) FROM resets WHERE data->'User'->>'UPN' = $1`, alice.upn); n != 3 {
		t.Errorf("the database counts %d resets for alice, want 3", n)
	}
	if n := c.resetRequests(alice.deviceID); n != 3 {
		t.Errorf("Graph got %d reset requests for alice's device, want 3", n)
	}
	// A fourth, later, is refused at the start in either workspace.
	c.deliver(c.fs.DM(alice.slackID, "reset"))
	c.wait(alice, "the limit", func(m slacktest.Message) bool { return strings.Contains(m.Texts(), limit) })
	if n := c.resetRequests(alice.deviceID); n != 3 {
		t.Errorf("Graph got %d reset requests, want 3", n)
	}
}
