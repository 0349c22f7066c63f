// Package bot is the runtime: it routes chat adapters' events into the engine,
// delivers the engine's messages and helpdesk alerts back through the adapters,
// serves HTTP (sign-in pages, health) and owns start and stop.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Adapter is one chat platform.
type Adapter interface {
	// Platform is the adapter's name, as in resetflow.Address.Platform.
	Platform() string
	// Run receives events and hands them to h until ctx ends or the adapter
	// fails for good. It must not block on h: work happens after the platform's ack.
	Run(ctx context.Context, h resetflow.Handler) error
	// Send delivers a message to one person. A message with a Secret must only
	// ever go to that person's direct-message channel.
	Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error
}

// AlertPoster is an adapter that hosts a helpdesk channel.
type AlertPoster interface {
	// PostAlerts posts one message with the alerts (a digest when there are several).
	// A rate-limited post returns an error with a RetryAfter() time.Duration method.
	PostAlerts(ctx context.Context, alerts []resetflow.Alert) error
}

// AlertCapacity is an AlertPoster that says how many alerts fit in one of its
// posts. Alerts fills posts up to it when its queue is deep, and never gives
// more, so one PostAlerts is one message.
type AlertCapacity interface {
	MaxAlertsPerPost() int
}

// HealthChecker is an adapter that knows whether it is connected.
type HealthChecker interface {
	// Healthy returns nil when the adapter is working.
	Healthy() error
}

// Router delivers engine messages to the adapter of each address's platform.
type Router struct {
	adapters map[string]Adapter // written only by NewRouter
}

// NewRouter returns a router over the adapters.
func NewRouter(adapters ...Adapter) *Router {
	r := &Router{adapters: map[string]Adapter{}}
	for _, a := range adapters {
		r.adapters[a.Platform()] = a
	}
	return r
}

// Send implements resetflow.Messenger.
func (r *Router) Send(ctx context.Context, to resetflow.Address, m resetflow.Message) error {
	a := r.adapters[to.Platform]
	if a == nil {
		return fmt.Errorf("no adapter for platform %q", to.Platform)
	}
	return a.Send(ctx, to, m)
}

// Bot runs adapters, the HTTP server and the alert queues around one engine.
type Bot struct {
	Engine   *resetflow.Engine
	Adapters []Adapter
	Alerts   *Alerts
	Mux      *http.ServeMux // routes the caller registered (sign-in pages); health is added here
	Listener net.Listener   // where the HTTP server listens
	// AdminListener, when set, serves /metrics, /healthz and /readyz apart from the public pages.
	AdminListener net.Listener
	// AdminMux holds routes the caller registered for the AdminListener only (the console); nil: none.
	AdminMux *http.ServeMux
	// Metrics serves /metrics; nil serves none.
	Metrics http.Handler
	// Profiling serves Go's profiler (net/http/pprof) under /debug/pprof/ on
	// the AdminListener; without an AdminListener it is ignored.
	Profiling bool
	Log       *slog.Logger
	// ShutdownTimeout bounds how long a stop waits for resets in flight (default 30 s).
	ShutdownTimeout time.Duration
	// AlertsTimeout bounds how long a stop then delivers queued alerts (default
	// 10 s); what is left is kept for the next start.
	AlertsTimeout time.Duration
	// AdaptersTimeout bounds how long a stop then waits for the chat adapters to
	// stop, removing the passcodes they still show (default 10 s).
	AdaptersTimeout time.Duration
	// Ready reports extra readiness checks (backends); nil means ready.
	Ready func(ctx context.Context) error
	// HTTP bounds requests on both listeners; zero fields take DefaultHTTPLimits.
	HTTP HTTPLimits
	// Lead, when set, makes this process a replica: it serves health (ready: no)
	// as a standby until Lead returns, and only then resumes resets and connects
	// to chat. The context Lead returns ends when the lead is lost; the bot then
	// stops at once, without waiting for or posting anything, and Run returns ErrLostLead.
	Lead func(ctx context.Context) (context.Context, error)
	// OnLead runs once the bot leads, with the adapters started.
	OnLead func(ctx context.Context)

	standby atomic.Bool
}

// ErrLostLead is Run's error when the lead was lost while running.
var ErrLostLead = errors.New("bot: lost the lead to another replica, or the database")

// Run serves until ctx ends or an adapter stops for good, then shuts down in order,
// each phase with its own deadline: no new conversations and resets in flight
// finished or recorded; alerts flushed (the rest kept); then the chat adapters
// stop (removing the passcodes still shown), and last the HTTP servers. A lost
// lead skips the waits: the bot stops acting at once.
func (b *Bot) Run(ctx context.Context) error {
	if b.Log == nil {
		b.Log = slog.New(slog.DiscardHandler)
	}
	if b.ShutdownTimeout <= 0 {
		b.ShutdownTimeout = 30 * time.Second
	}
	if b.AlertsTimeout <= 0 {
		b.AlertsTimeout = 10 * time.Second
	}
	if b.AdaptersTimeout <= 0 {
		b.AdaptersTimeout = 10 * time.Second
	}
	adminMux := b.Mux
	if b.AdminListener != nil {
		adminMux = b.AdminMux
		if adminMux == nil {
			adminMux = http.NewServeMux()
		}
	}
	if b.AdminListener != nil {
		adminMux.HandleFunc("GET /healthz", b.healthz)
		adminMux.HandleFunc("GET /readyz", b.readyz)
	}
	// The public listener says only whether the bot is up and ready.
	b.Mux.HandleFunc("GET /healthz", statusOnly(b.healthz, "ok"))
	b.Mux.HandleFunc("GET /readyz", statusOnly(b.readyz, "ready"))
	if b.Metrics != nil {
		adminMux.Handle("GET /metrics", b.Metrics)
	}
	if b.Profiling && b.AdminListener != nil {
		adminMux.HandleFunc("/debug/pprof/", pprof.Index)
		adminMux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		adminMux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		adminMux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		adminMux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	srv := b.HTTP.server(b.Mux, false)
	srvErr := make(chan error, 2)
	go func() { srvErr <- srv.Serve(b.Listener) }()
	var adminSrv *http.Server
	if b.AdminListener != nil {
		adminSrv = b.HTTP.server(adminMux, b.Profiling)
		go func() { srvErr <- adminSrv.Serve(b.AdminListener) }()
	}

	lead := ctx
	if b.Lead != nil {
		b.standby.Store(true)
		b.Log.Info("standby: waiting to lead")
		var err error
		if lead, err = b.Lead(ctx); err != nil {
			_ = srv.Shutdown(context.Background())
			if adminSrv != nil {
				_ = adminSrv.Shutdown(context.Background())
			}
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		b.standby.Store(false)
		b.Log.Info("leading: resuming resets in flight and connecting to chat")
	}
	// Resuming reads the store: a lead lost meanwhile (the database cut off)
	// ends it too, or the process would wait on the database instead of stopping.
	resumeCtx, endResume := context.WithCancel(ctx)
	stopWatch := context.AfterFunc(lead, endResume)
	if err := b.Engine.Resume(resumeCtx); err != nil {
		b.Log.Error("resuming resets in flight failed", "err", err)
	}
	stopWatch()
	endResume()
	if b.Alerts != nil {
		b.Alerts.Start()
	}

	// The adapters outlive ctx: they stop only once the engine and the alerts
	// have drained, so what is said while draining still reaches people. They
	// never outlive a lost lead.
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	if b.Lead != nil {
		defer context.AfterFunc(lead, stop)()
	}
	adapterErr := make(chan error, len(b.Adapters))
	var wg sync.WaitGroup
	for _, a := range b.Adapters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := a.Run(runCtx, b.Engine)
			if err != nil && runCtx.Err() == nil {
				b.Log.Error("chat adapter stopped", "platform", a.Platform(), "err", err)
			}
			adapterErr <- err
		}()
	}
	if b.OnLead != nil {
		b.OnLead(runCtx)
	}

	var runErr error
	engineTimeout, alertsTimeout, adaptersTimeout := b.ShutdownTimeout, b.AlertsTimeout, b.AdaptersTimeout
	select {
	case <-lead.Done(): // lost the lead (handled below), or ctx ended
	case <-ctx.Done():
	case err := <-adapterErr:
		// The shell adapter ends on end of input; others only on fatal errors.
		runErr = err
	case err := <-srvErr:
		runErr = fmt.Errorf("http server: %w", err)
	}
	if b.Lead != nil && lead.Err() != nil && ctx.Err() == nil {
		// Someone else leads now, or may: stop acting this instant.
		runErr, engineTimeout, alertsTimeout, adaptersTimeout = ErrLostLead, 0, 0, 0
	}
	b.Log.Info("shutting down")
	engineCtx, cancel := context.WithTimeout(context.Background(), engineTimeout)
	defer cancel()
	if err := b.Engine.Shutdown(engineCtx); err != nil {
		b.Log.Warn("resets still in flight at shutdown; they are resumed at the next start", "err", err)
	} else {
		b.Log.Info("shutting down: resets in flight finished")
	}
	if b.Alerts != nil {
		alertsCtx, cancel := context.WithTimeout(context.Background(), alertsTimeout)
		defer cancel()
		if err := b.Alerts.Close(alertsCtx); err != nil {
			b.Log.Warn("helpdesk alerts not delivered at shutdown", "err", err)
		}
	}
	stop()
	stopped := make(chan struct{})
	go func() { wg.Wait(); close(stopped) }()
	select {
	case <-stopped:
		b.Log.Info("shutting down: chat adapters stopped")
	case <-time.After(adaptersTimeout):
		b.Log.Warn("chat adapters did not stop in time", "timeout", adaptersTimeout)
	}
	if errors.Is(runErr, ErrLostLead) {
		// No grace for requests in progress either: a connection that has not
		// sent its first request yet would hold Shutdown for 5 s.
		_ = srv.Close()
		if adminSrv != nil {
			_ = adminSrv.Close()
		}
	} else {
		httpCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(httpCtx)
		if adminSrv != nil {
			_ = adminSrv.Shutdown(httpCtx)
		}
	}
	if errors.Is(runErr, context.Canceled) {
		runErr = nil
	}
	return runErr
}

func (b *Bot) healthz(w http.ResponseWriter, r *http.Request) {
	if b.standby.Load() {
		w.Write([]byte("ok (standby)\n")) // alive; not connected to chat, by design
		return
	}
	for _, a := range b.Adapters {
		if hc, ok := a.(HealthChecker); ok {
			if err := hc.Healthy(); err != nil {
				http.Error(w, a.Platform()+": "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
	}
	w.Write([]byte("ok\n"))
}

func (b *Bot) readyz(w http.ResponseWriter, r *http.Request) {
	if b.standby.Load() {
		http.Error(w, "standby: another replica leads", http.StatusServiceUnavailable)
		return
	}
	for _, a := range b.Adapters {
		if hc, ok := a.(HealthChecker); ok {
			if err := hc.Healthy(); err != nil {
				http.Error(w, a.Platform()+": "+err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
	}
	if b.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		if err := b.Ready(ctx); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
	}
	w.Write([]byte("ready\n"))
}
