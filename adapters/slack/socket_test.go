package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/resetflow"
)

// handlerFunc is a resetflow.Handler made of a function.
type handlerFunc func(context.Context, resetflow.Input)

func (f handlerFunc) Handle(ctx context.Context, in resetflow.Input) { f(ctx, in) }

// texts lists the texts (or actions) of the recorded inputs, in order.
func texts(r *recorder) []string {
	var out []string
	for _, in := range r.Inputs() {
		out = append(out, in.Text+in.Action)
	}
	return out
}

// TestAckIsSentBeforeTheHandlerRuns: the handler of an envelope's input runs
// only once the fake has read the envelope's ack, and a handler that never
// returns holds up no ack, not even of the same person's next envelopes.
func TestAckIsSentBeforeTheHandlerRuns(t *testing.T) {
	var (
		mu      sync.Mutex
		current string // the envelope whose input the handler expects
		fs      *slacktest.Server
	)
	release := make(chan struct{})
	seen := make(chan error, 100)
	h := handlerFunc(func(ctx context.Context, in resetflow.Input) {
		mu.Lock()
		id, fs := current, fs
		mu.Unlock()
		if in.Text != "first" {
			seen <- nil
			return
		}
		// The ack must be on its way already: the fake reads it while this waits.
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := fs.WaitAck(wctx, id)
		cancel()
		seen <- err
		<-release // a handler that is stuck: the acks below must not wait for it
	})
	e := start(t, options{handler: h})
	mu.Lock()
	fs = e.fs
	mu.Unlock()
	defer close(release)

	first := e.fs.DM(alice, "first")
	mu.Lock()
	current = first.EnvelopeID
	mu.Unlock()
	if err := e.fs.Deliver(first); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-seen:
		if err != nil {
			t.Fatalf("the handler ran before the envelope was acknowledged: %v", err)
		}
	case <-e.ctx.Done():
		t.Fatal("the handler was not called")
	}
	// alice's handler is stuck: her next envelopes and bob's are acknowledged all the same.
	for i := range 20 {
		who := alice
		if i%2 == 1 {
			who = bob
		}
		e.Deliver(e.fs.DM(who, "more"))
	}
	// An envelope type the adapter does not know is acknowledged too (or Slack redelivers it).
	e.Deliver(slacktest.Envelope{EnvelopeID: "env-unknown", Type: "a_new_kind", Payload: json.RawMessage(`{}`)})
	// bob is not held up by alice.
	for range 10 {
		select {
		case err := <-seen:
			if err != nil {
				t.Fatal(err)
			}
		case <-e.ctx.Done():
			t.Fatal("bob's inputs were held up behind alice's stuck handler")
		}
	}
}

// TestRefreshReadsTheOldConnectionUntilTheNewIsUp: on Slack's disconnect
// (refresh_requested, or its warning before), the bot asks for a new URL and
// keeps reading the old connection meanwhile: an envelope sent on it then is
// acknowledged and handled, once; then the new connection takes over.
func TestRefreshReadsTheOldConnectionUntilTheNewIsUp(t *testing.T) {
	for _, reason := range []string{"refresh_requested", "warning"} {
		t.Run(reason, func(t *testing.T) {
			r := newRecorder()
			e := start(t, options{handler: r})
			release := e.fs.HoldConnectionsOpen()
			defer release()
			if err := e.fs.DisconnectWith(reason); err != nil {
				t.Fatal(err)
			}
			if err := e.fs.WaitFor(e.ctx, func() bool { return e.fs.Held() == 1 }); err != nil {
				t.Fatal("the bot did not ask for a new connection:", err)
			}
			one := e.fs.DM(alice, "one")
			e.Deliver(one) // on the old connection, while the new one is being opened
			if in := r.next(t); in.Text != "one" {
				t.Fatalf("input = %+v", in)
			}
			release()
			if err := e.fs.WaitConnections(e.ctx, 2); err != nil {
				t.Fatal(err)
			}
			e.Deliver(e.fs.Retry(one)) // Slack's redelivery, on the new connection: dropped
			e.Deliver(e.fs.DM(alice, "two"))
			if in := r.next(t); in.Text != "two" {
				t.Fatalf("input = %+v; the retry of one reached the handler?", in)
			}
			if got := texts(r); !slices.Equal(got, []string{"one", "two"}) {
				t.Errorf("inputs = %q", got)
			}
			if n := len(e.fs.CallsWhere(slacktest.Method("apps.connections.open"))); n != 2 {
				t.Errorf("apps.connections.open calls = %d, want 2 (each connection a fresh URL)", n)
			}
			if err := e.adapter.Healthy(); err != nil {
				t.Errorf("Healthy = %v", err)
			}
		})
	}
}

// TestDroppedConnectionReconnectsWithAFreshURL: a connection that ends without
// a word is replaced at once, through a new apps.connections.open (the fake's
// URLs take one connection each, as Slack's); Slack's redelivery of an
// envelope handled before the cut is dropped, and nothing is lost after it.
func TestDroppedConnectionReconnectsWithAFreshURL(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	one := e.fs.DM(alice, "one")
	e.Deliver(one)
	r.next(t)
	for i := range 2 {
		e.clk.Advance(slackadapter.StableFor) // a connection that has been up a while
		e.fs.DropConnection()
		if err := e.fs.WaitConnections(e.ctx, 2+i); err != nil {
			t.Fatal(err)
		}
		e.probe()
	}
	e.Deliver(e.fs.Retry(one))
	e.Deliver(e.fs.DM(alice, "two"))
	if in := r.next(t); in.Text != "two" {
		t.Fatalf("input = %+v", in)
	}
	if got := texts(r); !slices.Equal(got, []string{"one", "two"}) {
		t.Errorf("inputs = %q", got)
	}
	if n := len(e.fs.CallsWhere(slacktest.Method("apps.connections.open"))); n != 3 {
		t.Errorf("apps.connections.open calls = %d, want 3", n)
	}
}

// probe waits until the bot reads the fake's current connection: an envelope
// of a type the adapter ignores is acknowledged. (The fake counts a
// connection once it wrote hello; a cut before the bot read it is a
// connection that failed, which waits RestartBackoff on the fake clock.)
func (e *env) probe() {
	e.t.Helper()
	e.Deliver(slacktest.Envelope{EnvelopeID: fmt.Sprintf("env-probe-%d", e.fs.Connections()), Type: "probe", Payload: json.RawMessage(`{}`)})
}

// TestDisconnectThatRefusesWaitsBeforeReconnecting: link_disabled (Socket Mode
// turned off for the app) and too_many_websockets would refuse an immediate
// reconnect: the bot closes the connection and tries again after RestartBackoff.
func TestDisconnectThatRefusesWaitsBeforeReconnecting(t *testing.T) {
	for _, reason := range []string{"link_disabled", "too_many_websockets"} {
		t.Run(reason, func(t *testing.T) {
			r := newRecorder()
			e := start(t, options{handler: r, configure: func(c *slackadapter.Config) { c.RestartBackoff = time.Minute }})
			if err := e.fs.DisconnectWith(reason); err != nil {
				t.Fatal(err)
			}
			if err := e.fs.WaitFor(e.ctx, func() bool { return !e.fs.Connected() }); err != nil {
				t.Fatal("the bot kept the connection:", err)
			}
			e.clk.WaitForTimers(1)
			if n := e.fs.Connections(); n != 1 {
				t.Fatalf("reconnected before the backoff: %d connections", n)
			}
			if err := e.adapter.Healthy(); err != nil {
				t.Errorf("unhealthy within the grace: %v", err)
			}
			e.clk.Advance(time.Minute)
			if err := e.fs.WaitConnections(e.ctx, 2); err != nil {
				t.Fatal(err)
			}
			e.Deliver(e.fs.DM(alice, "after"))
			if in := r.next(t); in.Text != "after" {
				t.Fatalf("input = %+v", in)
			}
		})
	}
}

// TestConnectionEndingSoonAfterHelloBacksOff: a server that says hello and
// drops the connection at once is not dialled again in a tight loop: a
// connection lost within StableFor of its hello waits RestartBackoff, doubling
// while it goes on; one that was up for StableFor is replaced at once, and the
// wait starts again from RestartBackoff.
func TestConnectionEndingSoonAfterHelloBacksOff(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r, configure: func(c *slackadapter.Config) { c.RestartBackoff = time.Minute }})
	dropSoon := func(conns int, wait time.Duration) {
		t.Helper()
		e.probe() // the bot reads this connection
		e.fs.DropConnection()
		if err := e.fs.WaitFor(e.ctx, func() bool { return !e.fs.Connected() }); err != nil {
			t.Fatal(err)
		}
		e.clk.WaitForTimers(1)
		e.clk.Advance(wait - time.Second)
		if n := e.fs.Connections(); n != conns {
			t.Fatalf("reconnected %v after a connection that ended at once: %d connections, want %d", wait-time.Second, n, conns)
		}
		e.clk.Advance(time.Second)
		if err := e.fs.WaitConnections(e.ctx, conns+1); err != nil {
			t.Fatal(err)
		}
	}
	dropSoon(1, time.Minute)
	dropSoon(2, 2*time.Minute)
	dropSoon(3, 4*time.Minute)
	// Up for a while: replaced at once, and the backoff starts over.
	e.probe()
	e.clk.Advance(slackadapter.StableFor)
	e.fs.DropConnection()
	if err := e.fs.WaitConnections(e.ctx, 5); err != nil {
		t.Fatal(err)
	}
	dropSoon(5, time.Minute)
	e.Deliver(e.fs.DM(alice, "after"))
	if in := r.next(t); in.Text != "after" {
		t.Fatalf("input = %+v", in)
	}
	if n := len(e.fs.CallsWhere(slacktest.Method("apps.connections.open"))); n != 6 {
		t.Errorf("apps.connections.open calls = %d, want 6", n)
	}
}

// TestPingsAnsweredAndSilenceReplaced: Slack's websocket pings get pongs; a
// connection silent for longer than PingInterval (no ping, no frame) is dropped
// and replaced. The read deadline is the network's own, on the wall clock, so
// this test waits PingInterval (200 ms) of real time once.
func TestPingsAnsweredAndSilenceReplaced(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r,
		fake:      func(o *slacktest.Options) { o.PingInterval = -1 }, // the fake pings only when told
		configure: func(c *slackadapter.Config) { c.PingInterval = 200 * time.Millisecond },
	})
	e.probe()                             // the bot reads the connection
	e.clk.Advance(slackadapter.StableFor) // up for a while: its loss is replaced at once
	before := e.fs.Pongs()
	if err := e.fs.Ping(); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.WaitFor(e.ctx, func() bool { return e.fs.Pongs() > before }); err != nil {
		t.Fatal("no pong:", err)
	}
	if err := e.fs.WaitConnections(e.ctx, 2); err != nil {
		t.Fatal("a silent connection was kept:", err)
	}
	e.Deliver(e.fs.DM(alice, "still here"))
	if in := r.next(t); in.Text != "still here" {
		t.Fatalf("input = %+v", in)
	}
}

// TestRetriedEnvelopesAreHandledOnce: Slack's redeliveries (retry_attempt,
// retry_reason, a new envelope id) of an event, a click and a slash command
// are acknowledged and dropped.
func TestRetriedEnvelopesAreHandledOnce(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	im := slacktest.IM(alice)
	dm := e.fs.DM(alice, "one")
	e.Deliver(dm)
	e.Deliver(e.fs.Retry(dm))
	e.Deliver(e.fs.Retry(e.fs.Retry(dm)))
	r.next(t)
	cmd := e.fs.Command(alice, im, "help")
	e.Deliver(cmd)
	e.Deliver(e.fs.Retry(cmd))
	r.next(t)
	if err := e.adapter.Send(e.ctx, e.addr(alice), e.buttonMessage()); err != nil {
		t.Fatal(err)
	}
	m := e.WaitMessage(im, "buttons", slacktest.HasAction("pcb_button_0"))
	click, err := e.fs.Click(alice, im, m.TS, "pcb_button_0", "")
	if err != nil {
		t.Fatal(err)
	}
	e.Deliver(click)
	e.Deliver(e.fs.Retry(click))
	r.next(t)
	e.Deliver(e.fs.DM(alice, "end"))
	if in := r.next(t); in.Text != "end" {
		t.Fatalf("input = %+v: a retry reached the handler", in)
	}
	if got := texts(r); !slices.Equal(got, []string{"one", "help", "start", "end"}) {
		t.Errorf("inputs = %q", got)
	}
	if !strings.Contains(e.logs.String(), "retry_attempt=2") {
		t.Errorf("the redelivery was not logged:\n%s", e.logs.String())
	}
}

// adapterGoroutines lists the stacks of goroutines running the adapter's code.
func adapterGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "passcodebot/adapters/slack.") || strings.Contains(g, "gorilla/websocket.(*Conn).NextReader") && !strings.Contains(g, "slacktest.") {
			out = append(out, g)
		}
	}
	return out
}

// TestShutdownLeavesNoGoroutines: when Run returns, the connection is closed
// with a normal close frame and no goroutine of the adapter (reader, decode
// lane, queues) is left, also after a refresh and a dropped connection.
func TestShutdownLeavesNoGoroutines(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	e.Deliver(e.fs.DM(alice, "one"))
	r.next(t)
	if err := e.fs.Disconnect(); err != nil {
		t.Fatal(err)
	}
	if err := e.fs.WaitConnections(e.ctx, 2); err != nil {
		t.Fatal(err)
	}
	e.probe()
	e.clk.Advance(slackadapter.StableFor)
	e.fs.DropConnection()
	if err := e.fs.WaitConnections(e.ctx, 3); err != nil {
		t.Fatal(err)
	}
	e.Deliver(e.fs.DM(bob, "two"))
	r.next(t)
	if len(adapterGoroutines()) == 0 {
		t.Fatal("the check sees no goroutine of the running adapter: it would see none after either")
	}
	e.stop()
	select {
	case <-e.done:
	case <-e.ctx.Done():
		t.Fatal("Run did not return")
	}
	if err := e.fs.WaitFor(e.ctx, func() bool { return slices.Contains(e.fs.Closes(), 1000) }); err != nil {
		t.Errorf("no normal close frame from the bot (closes %v)", e.fs.Closes())
	}
	// Goroutines that returned may take a moment to leave the runtime's list.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := adapterGoroutines()
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Run returned:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		runtime.Gosched()
	}
	if e.err == nil || !strings.Contains(e.err.Error(), "context canceled") {
		t.Errorf("Run = %v", e.err)
	}
}
