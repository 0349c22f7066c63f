package slack_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/local"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

const (
	alice    = "U0ALICE"
	bob      = "U0BOB"
	helpdesk = "C0HELP"
	secret   = "8f14e45fceea167a5a36dedd4bea2543" // the signing secret of the tests
)

// waitTimeout bounds every wait: a failing test stops instead of hanging. No
// test waits for time to pass; time moves only with the fake clock.
const waitTimeout = 20 * time.Second

// syncBuffer is a log destination the test reads while the code writes.
type syncBuffer = resetflowtest.Buffer

// recorder is a resetflow.Handler that records inputs.
type recorder struct {
	mu     sync.Mutex
	inputs []resetflow.Input
	got    chan resetflow.Input
	block  chan struct{} // when set, Handle waits for it
}

func newRecorder() *recorder { return &recorder{got: make(chan resetflow.Input, 100)} }

func (r *recorder) Handle(ctx context.Context, in resetflow.Input) {
	r.mu.Lock()
	r.inputs = append(r.inputs, in)
	block := r.block
	r.mu.Unlock()
	r.got <- in
	if block != nil && in.From.UserID == alice {
		<-block
	}
}

func (r *recorder) Inputs() []resetflow.Input {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]resetflow.Input(nil), r.inputs...)
}

func (r *recorder) next(t *testing.T) resetflow.Input {
	t.Helper()
	select {
	case in := <-r.got:
		return in
	case <-time.After(waitTimeout):
		t.Fatal("the handler was not called")
		return resetflow.Input{}
	}
}

type options struct {
	mode      slackadapter.Mode
	handler   resetflow.Handler // run the adapter alone with this handler instead of the whole bot
	fleetYAML string
	configure func(*slackadapter.Config)
	before    func(*slacktest.Server)  // runs before the bot starts
	noWait    bool                     // do not wait for the adapter to connect
	fake      func(*slacktest.Options) // adjusts the fake Slack's options
}

// env is a running bot (engine, runtime, sign-in pages, Slack adapter) against a fake Slack, on a fake clock.
type env struct {
	*slacktest.Driver // delivers, waits, clicks and signs in on the fake
	t                 testing.TB
	ctx               context.Context
	fs                *slacktest.Server
	clk               *clock.Fake
	cat               *catalog.Catalog
	fleet             *fleet.Fleet
	adapter           *slackadapter.Adapter
	alerts            *bot.Alerts
	base              string // the bot's own HTTP server
	logs              *syncBuffer
	done              chan struct{} // closed when the bot (or the adapter alone) has stopped
	stop              func()        // stops the bot (also done at the end of the test)
	err               error         // why it stopped
	taken             chan [2]string
}

func start(t testing.TB, o options) *env {
	t.Helper()
	ctx, cancelWaits := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancelWaits)
	clk := clock.NewFake(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	fo := slacktest.Options{Clock: clk}
	if o.fake != nil {
		o.fake(&fo)
	}
	fs := slacktest.New(fo)
	fs.AddUser(slacktest.User{ID: alice, Name: "alice", Email: "alice@contoso.example", Locale: "en-US"})
	fs.AddUser(slacktest.User{ID: bob, Name: "bob", Email: "bob@corp.example", Locale: "ja-JP"})
	fs.AddChannel(slacktest.Channel{ID: helpdesk, Name: "helpdesk"})
	fs.AddChannel(slacktest.Channel{ID: "C0GENERAL", Name: "general"})
	cat := catalog.MustNew("en")
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	raw := fleet.Demo()
	if o.fleetYAML != "" {
		raw = []byte(o.fleetYAML)
	}
	fl, err := fleet.Load(raw, clk, 0)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	e := &env{Driver: &slacktest.Driver{T: t, Ctx: ctx, FS: fs, Base: base},
		t: t, ctx: ctx, fs: fs, clk: clk, cat: cat, fleet: fl, base: base, logs: logs, done: make(chan struct{}), taken: make(chan [2]string, 10)}
	if o.before != nil {
		o.before(fs)
	}
	cfg := slackadapter.Config{
		BotToken: fs.BotToken, AppToken: fs.AppToken, SigningSecret: secret, Mode: o.mode,
		APIURL: fs.APIURL(), HelpdeskChannel: helpdesk,
		EmailDomainRewrite: map[string]string{"@corp.example": "@contoso.example"},
		Catalog:            cat, Location: time.UTC, Clock: clk, Log: log,
		OnAlertTaken: func(id, user string) { e.taken <- [2]string{id, user} },
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	ad, err := slackadapter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.adapter = ad
	runCtx, cancel := context.WithCancel(context.Background())
	e.stop = cancel
	mux := http.NewServeMux()
	if cfg.Mode == slackadapter.ModeHTTP {
		ad.Register(mux)
	}
	if o.handler != nil {
		srv := &http.Server{Handler: mux}
		go srv.Serve(ln)
		go func() { e.err = ad.Run(runCtx, o.handler); close(e.done) }()
		t.Cleanup(func() { srv.Close() })
	} else {
		e.alerts = bot.NewAlerts(clk, log, ad)
		engine, err := resetflow.New(resetflow.Config{PublicURL: base, Location: time.UTC}, resetflow.Deps{
			Clock: clk, Catalog: cat, Devices: fl, Directory: fl, Messenger: bot.NewRouter(ad), Alerter: e.alerts, Log: log,
		})
		if err != nil {
			t.Fatal(err)
		}
		pages := &reauth.Pages{Catalog: cat, Location: time.UTC}
		provider := &local.Provider{Windows: engine, Pages: pages, Clock: clk, Users: fl.Users()}
		(&reauth.Server{Windows: engine, Provider: provider, Pages: pages}).Register(mux)
		b := &bot.Bot{Engine: engine, Adapters: []bot.Adapter{ad}, Alerts: e.alerts, Mux: mux, Listener: ln, Log: log, ShutdownTimeout: time.Second, AlertsTimeout: time.Second}
		go func() { e.err = b.Run(runCtx); close(e.done) }()
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-e.done:
		case <-time.After(waitTimeout):
			t.Error("the bot did not stop")
		}
		fs.Close()
		if missed := cat.Missed(); len(missed) > 0 {
			t.Errorf("catalog ids missing: %v", missed)
		}
		if t.Failed() {
			t.Logf("bot log:\n%s", logs.String())
		}
	})
	if !o.noWait {
		if cfg.Mode == slackadapter.ModeHTTP {
			if _, err := fs.WaitCall(ctx, slacktest.Method("auth.test")); err != nil {
				t.Fatal(err)
			}
			e.waitReady()
		} else if err := fs.WaitConnections(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// waitReady waits until the adapter has finished auth.test.
func (e *env) waitReady() {
	e.t.Helper()
	select {
	case <-e.adapter.Ready():
	case <-e.ctx.Done():
		e.t.Fatal("the adapter never became ready")
	}
}

func (e *env) addr(user string) resetflow.Address {
	return resetflow.Address{Platform: "slack", UserID: user, Channel: slacktest.IM(user)}
}

func (e *env) buttonMessage() resetflow.Message {
	return resetflow.Message{Text: "Start again?", Buttons: []resetflow.Button{{Value: "start", Label: "Start again", Style: resetflow.StylePrimary}}}
}
