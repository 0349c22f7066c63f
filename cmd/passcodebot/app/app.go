// Package app is the program: flags, configuration and wiring. cmd/passcodebot
// only calls Main, so tests can run the whole program in-process too.
package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/shell"
	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/cmd/passcodebot/config"
	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/logs"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/intune"
	"github.com/passcodebot/passcodebot/metrics"
	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/local"
	"github.com/passcodebot/passcodebot/reauth/oidc"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFail   = 1
	ExitConfig = 2 // bad flags or configuration
)

// Env reads environment variables; tests pass their own.
type Env func(string) string

// Main runs the program with args (without the program name) and returns its exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env Env) int {
	if code, done := cli(args, stdout, stderr); done {
		return code
	}
	if len(args) > 0 {
		switch args[0] {
		case "check":
			return check(ctx, args[1:], stdout, stderr, env)
		case "audit":
			return audit(ctx, clock.Real{}, args[1:], stdout, stderr, env)
		case "unlink":
			return unlink(ctx, clock.Real{}, args[1:], stdout, stderr, env)
		case "migrate":
			return migrateCmd(ctx, args[1:], stdout, stderr, env)
		case "run":
			args = args[1:]
		}
	}
	fs := flag.NewFlagSet("passcodebot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the embedded config.example.yaml)")
	listen := fs.String("listen", "", "override http.listen, e.g. 127.0.0.1:0")
	locale := fs.String("locale", "", "override locale: the language of the terminal chat and of people whose own is unknown (en, ja)")
	fs.Usage = func() { fmt.Fprint(stderr, usage, "\nFlags of run:\n"); fs.PrintDefaults() }
	if code, ok := parse(fs, args, 0); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot:", err)
		return ExitConfig
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
		if err := cfg.CheckPublicURL(); err != nil {
			fmt.Fprintln(stderr, "passcodebot:", err)
			return ExitConfig
		}
	}
	if *locale != "" {
		if !slices.Contains(catalog.Locales, *locale) {
			fmt.Fprintf(stderr, "passcodebot: -locale: %q is not one of %v\n", *locale, catalog.Locales)
			return ExitConfig
		}
		cfg.Locale = *locale
	}
	logOut, stdout, closeLog := shellTerminal(cfg, stdin, stdout, stderr)
	defer closeLog()
	log := newLogger(cfg, logOut)
	if err := run(ctx, cfg, stdin, stdout, log, env); err != nil {
		var ce configError
		if errors.As(err, &ce) {
			fmt.Fprintln(stderr, "passcodebot:", err)
			return ExitConfig
		}
		log.Error("passcodebot stopped", "err", err)
		return ExitFail
	}
	return ExitOK
}

// configError is a configuration problem found while wiring (a missing secret, say).
type configError struct{ error }

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	return logs.New(w, cfg.Log.Format, level)
}

// prune applies the audit retention at start and then daily.
func prune(ctx context.Context, clk clock.Clock, db store, days int, log *slog.Logger) {
	for {
		n, err := db.Prune(ctx, clk.Now().AddDate(0, 0, -days))
		if err != nil && ctx.Err() == nil {
			log.Error("audit retention: pruning failed", "err", err)
		} else if n > 0 {
			log.Info("audit retention: pruned old events", "events", n, "retention_days", days)
		}
		select {
		case <-ctx.Done():
			return
		case <-clk.After(24 * time.Hour):
		}
	}
}

func run(ctx context.Context, cfg *config.Config, stdin io.Reader, stdout io.Writer, log *slog.Logger, env Env) error {
	clk := clock.Real{}
	cat, err := catalog.New(cfg.Locale)
	if err != nil {
		return configError{err}
	}
	for l, name := range cfg.HelpdeskName {
		if err := cat.SetHelpdeskName(l, name); err != nil {
			return configError{err}
		}
	}

	var (
		devices   resetflow.Devices
		directory resetflow.Directory
		demoUsers []resetflow.User
	)
	switch cfg.Devices {
	case "fleet":
		fl, err := fleet.LoadFile(cfg.Fleet.File, clk, cfg.Fleet.Delay)
		if err != nil {
			return configError{fmt.Errorf("fleet.file: %w", err)}
		}
		devices, directory, demoUsers = fl, fl, fl.Users()
	case "intune":
		ic, err := intuneConfig(cfg, env)
		if err != nil {
			return configError{err}
		}
		c, err := intune.New(ic, intune.Options{Clock: clk, Logger: log})
		if err != nil {
			return configError{err}
		}
		devices, directory = c, c
	default:
		return configError{fmt.Errorf("devices: %q is not available in this build", cfg.Devices)}
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http.listen: %w", err)
	}
	publicURL := cfg.HTTP.PublicURL
	if publicURL == "" {
		publicURL = "http://" + ln.Addr().String()
	}

	var db store         // opened once the configuration is known to be complete
	var tap *console.Tap // the helpdesk console's bookkeeping; nil when it is off
	// What chat adapters report into the database: "I'm on it" clicks on helpdesk
	// alerts (audit trail), and passcode messages shown until they are removed.
	hooks := func(platform string) chatHooks {
		bg := context.Background()
		return chatHooks{
			recent: recentResets(&db, directory, devices, clk),
			taken: func(alertID, who string) {
				ev := resetflow.Event{Time: clk.Now(), Step: "alert_ack", Platform: platform, ChatUser: who, Outcome: "taken", Detail: "alert=" + alertID}
				if err := db.Record(bg, ev); err != nil {
					log.Error("recording a helpdesk acknowledgement failed", "alert", alertID, "err", err)
				}
				tap.TakenInChat(bg, alertID, platform, who, ev.Time)
			},
			ledger: secretLedger{db: &db, platform: platform},
		}
	}

	var adapters []bot.Adapter
	var slackHTTP *slackadapter.Adapter       // registers its endpoints on the bot's mux
	var discordPreload []discord.PreloadEntry // Discord account links an administrator prepared
	var teamsHTTP *teams.Adapter              // registers its messaging endpoint on the bot's mux
	for _, p := range cfg.Chat {
		switch p {
		case "discord":
			a, preload, err := newDiscord(cfg, env, cat, clk, log, hooks("discord"))
			if err != nil {
				ln.Close()
				return err
			}
			adapters, discordPreload = append(adapters, a), preload
		case "teams":
			ta, err := newTeams(cfg, env, cat, clk, log, hooks("teams"))
			if err != nil {
				ln.Close()
				return err
			}
			adapters, teamsHTTP = append(adapters, ta), ta
		case "shell":
			var names []string
			for _, u := range demoUsers {
				names = append(names, u.UPN)
			}
			sh := shell.New(stdin, stdout, cat, cfg.Locale, cfg.Location, cfg.Shell.User, names)
			if t, ok := stdout.(*terminalOut); ok {
				sh.Prompt, sh.Note = true, t.note
			}
			adapters = append(adapters, sh)
		case "slack":
			sa, err := newSlack(cfg, env, cat, clk, log, hooks("slack"))
			if err != nil {
				ln.Close()
				return err
			}
			if cfg.Slack.Mode == "http" {
				slackHTTP = sa
			}
			adapters = append(adapters, sa)
		default:
			ln.Close()
			return configError{fmt.Errorf("chat: %q is not available in this build", p)}
		}
	}
	var posters []bot.AlertPoster
	for _, a := range adapters {
		if p, ok := a.(bot.AlertPoster); ok && !noHelpdesk(a) {
			posters = append(posters, p)
		}
	}
	alerts := bot.NewAlerts(clk, log, posters...)
	router := bot.NewRouter(adapters...)

	var pg *postgres.DB // set with store: postgres (replicas)
	if db, pg, err = openStore(ctx, cfg, env); err != nil {
		ln.Close()
		return err
	}
	defer db.Close()
	alerts.Store = db // alerts undelivered at a stop are posted at the next start
	tap, consoleStore, err := openConsole(ctx, cfg, db, log)
	if err != nil {
		ln.Close()
		var ce configError
		if errors.As(err, &ce) {
			return err
		}
		return configError{fmt.Errorf("audit.file: %w", err)}
	}
	if len(discordPreload) > 0 {
		n, err := discord.Preload(ctx, db, directory, discordPreload)
		if err != nil {
			ln.Close()
			return configError{fmt.Errorf("discord.links_preload: %w", err)}
		}
		log.Info("discord account links preloaded", "file", cfg.Discord.LinksPreload, "links", n)
	}
	// Passcode messages a crashed run left on screen are removed now, or at their time
	// (by the leader, once it leads, with replicas).
	restore := func(ctx context.Context) {
		for _, a := range adapters {
			r, ok := a.(bot.Restorer)
			if !ok {
				continue
			}
			left, err := db.SecretsShown(ctx, a.Platform())
			if err != nil {
				log.Error("reading the passcode messages still shown failed", "platform", a.Platform(), "err", err)
			}
			for _, sh := range left {
				r.Restore(sh.Channel, sh.MessageID, sh.Locale, sh.RemoveAt)
			}
		}
	}
	if pg == nil {
		restore(ctx)
	}
	pruneCtx, stopPrune := context.WithCancel(ctx)
	defer stopPrune()
	go prune(pruneCtx, clk, db, cfg.Audit.RetentionDays, log)

	var engine *resetflow.Engine
	m := metrics.New(func() int { return engine.Active() }, alerts.Pending)
	if c, ok := db.(commitCounter); ok {
		m.StoreWrites(c.Writes, c.Commits)
	}
	engine, err = resetflow.New(cfg.EngineConfig(publicURL), resetflow.Deps{
		Clock: clk, Catalog: cat, Devices: m.Devices(tap.Devices(devices)), Directory: directory,
		Messenger: router, Alerter: m.Alerter(tap.Alerter(alerts)), Recorder: m.Recorder(tap.Recorder(db)), Store: db, Links: db, Log: log,
		Conversations: conversations(db),
	})
	if err != nil {
		ln.Close()
		return configError{fmt.Errorf("rules: %w", err)}
	}

	pages := &reauth.Pages{Catalog: cat, Location: cfg.Location}
	var provider reauth.Provider
	switch cfg.Reauth {
	case "local":
		provider = &local.Provider{Windows: engine, Pages: pages, Clock: clk, Users: demoUsers}
		if isRealChat(cfg.Chat) {
			log.Warn("INSECURE: the demo sign-in is on beside a real chat platform; anyone with a link can sign in as anyone (insecure_demo_signin_with_real_chat)")
		} else {
			log.Info("using the built-in demo sign-in (reauth: local); it is a development aid, not an identity provider")
		}
	case "oidc":
		p, err := newOIDC(cfg, env, publicURL, engine, pages, clk, log)
		if err != nil {
			ln.Close()
			return err
		}
		provider = p
	default:
		ln.Close()
		return configError{fmt.Errorf("reauth: %q is not available in this build", cfg.Reauth)}
	}
	pages.FormOrigins = provider.FormOrigins()
	mux := http.NewServeMux()
	(&reauth.Server{Windows: engine, Provider: provider, Pages: pages, Limit: &reauth.Limiter{Clock: clk, Log: log}}).Register(mux)
	if slackHTTP != nil {
		slackHTTP.Register(mux)
	}
	if teamsHTTP != nil {
		teamsHTTP.Register(mux)
	}
	consoleAdmin, err := mountConsole(cfg, env, publicURL, consoleStore, db, cat, clk, log, mux, adapters)
	if err != nil {
		ln.Close()
		return err
	}

	var admin net.Listener
	if cfg.HTTP.AdminListen != "" {
		if admin, err = net.Listen("tcp", cfg.HTTP.AdminListen); err != nil {
			ln.Close()
			return fmt.Errorf("http.admin_listen: %w", err)
		}
	}
	log.Info("passcodebot starting", "version", version(), "store", cfg.Store, "chat", strings.Join(cfg.Chat, ","), "devices", cfg.Devices, "reauth", cfg.Reauth,
		"http", ln.Addr().String(), "public_url", publicURL, "audit", cfg.Audit.File)
	b := &bot.Bot{Engine: engine, Adapters: adapters, Alerts: alerts, Mux: mux, Listener: ln, AdminListener: admin, AdminMux: consoleAdmin,
		Metrics: m.Handler(), Profiling: cfg.HTTP.Pprof, Log: log, Ready: func(ctx context.Context) error {
			if err := db.Ping(ctx); err != nil {
				return fmt.Errorf("audit database: %w", err)
			}
			if p, ok := devices.(bot.Pinger); ok {
				if err := p.Ping(ctx); err != nil {
					return fmt.Errorf("device backend: %w", err)
				}
			}
			return nil
		}}
	if pg != nil {
		release := replicas(b, pg, cfg, cat, router, restore, log)
		defer release(context.Background())
	} else if cs, ok := db.(conversationStore); ok {
		started := time.Now() // conversations opened before were the previous run's
		b.OnLead = func(ctx context.Context) { tellRestarted(ctx, cs, cfg, cat, router, log, started) }
	}
	return b.Run(ctx)
}

func isRealChat(chat []string) bool {
	for _, p := range chat {
		if p != "shell" {
			return true
		}
	}
	return false
}

// intuneConfig is the intune section with defaults, credentials from the environment, validated.
func intuneConfig(cfg *config.Config, env Env) (intune.Config, error) {
	ic := cfg.Intune.WithDefaults()
	ic.ApplyEnv(func(k string) (string, bool) { v := env(k); return v, v != "" })
	if err := ic.Validate(); err != nil {
		return ic, fmt.Errorf("%w (credentials come from %s, %s and %s)", err, intune.EnvTenantID, intune.EnvClientID, intune.EnvClientSecret)
	}
	return ic, nil
}

// check is the `check` subcommand: with devices: intune, it signs in to Graph,
// reports the permissions and lists one user's devices. It never resets anything.
func check(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	fs := flag.NewFlagSet("passcodebot check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: passcodebot check [-config file] <user principal name>")
		fs.PrintDefaults()
	}
	if code, ok := parse(fs, args, 1); !ok {
		return code
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot:", err)
		return ExitConfig
	}
	if cfg.Devices == "fleet" {
		if err := checkFleet(ctx, cfg, fs.Arg(0), stdout); err != nil {
			fmt.Fprintln(stderr, "passcodebot check:", err)
			return ExitFail
		}
		return ExitOK
	}
	ic, err := intuneConfig(cfg, env)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot:", err)
		return ExitConfig
	}
	if err := intune.RunCheck(ctx, ic, intune.Options{Logger: newLogger(cfg, stderr)}, fs.Arg(0), stdout); err != nil {
		fmt.Fprintln(stderr, "passcodebot check:", err)
		return ExitFail
	}
	return ExitOK
}

// newOIDC makes the OIDC sign-in. The client id and secret come from the
// environment; a provider that is down does not stop the bot (sign-ins retry).
func newOIDC(cfg *config.Config, env Env, publicURL string, w reauth.Windows, pages *reauth.Pages, clk clock.Clock, log *slog.Logger) (*oidc.Provider, error) {
	if env == nil {
		env = func(string) string { return "" }
	}
	p, err := oidc.New(cfg.OIDC, oidc.Options{
		ClientID: env(oidc.EnvClientID), ClientSecret: env(oidc.EnvClientSecret),
		RedirectURL: strings.TrimRight(publicURL, "/") + oidc.CallbackPath,
		Windows:     w, Pages: pages, Clock: clk, Log: log, MaxAge: cfg.Reset.Window,
	})
	if err != nil {
		return nil, configError{err}
	}
	if cfg.Reset.TenantID == "" {
		log.Warn("reset.tenant_id is empty: the tid of a sign-in is not checked; set it to your tenant id")
	}
	log.Info("sign-in with OIDC", "issuer", cfg.OIDC.Issuer, "redirect_uri", strings.TrimRight(publicURL, "/")+oidc.CallbackPath)
	go func() {
		if err := p.Discover(); err != nil {
			log.Warn("oidc: the identity provider can't be reached yet; sign-ins will try again", "err", err)
		}
	}()
	return p, nil
}

// noHelpdesk reports an adapter that can post alerts but has no channel for them.
func noHelpdesk(a bot.Adapter) bool {
	h, ok := a.(bot.HelpdeskConfigurer)
	return ok && !h.HelpdeskConfigured()
}

// newDiscord makes the Discord adapter and reads the links an administrator
// prepared (applied once the database is open). The token comes from the
// environment; without it the program stops with a configuration error.
func newDiscord(cfg *config.Config, env Env, cat *catalog.Catalog, clk clock.Clock, log *slog.Logger, h chatHooks) (*discord.Adapter, []discord.PreloadEntry, error) {
	token := ""
	if env != nil {
		token = strings.TrimSpace(env(discord.EnvToken))
	}
	if token == "" {
		return nil, nil, configError{fmt.Errorf("chat: discord needs the bot token in the environment variable %s", discord.EnvToken)}
	}
	d := cfg.Discord
	var preload []discord.PreloadEntry
	if d.LinksPreload != "" {
		var err error
		if preload, err = discord.LoadPreload(d.LinksPreload); err != nil {
			return nil, nil, configError{fmt.Errorf("discord.links_preload: %w", err)}
		}
	}
	a, err := discord.New(discord.Config{
		Token: token, APIURL: d.APIURL, ApplicationID: d.ApplicationID, HelpdeskChannelID: d.HelpdeskChannelID,
		Catalog: cat, Locale: cfg.Locale, Location: cfg.Location, SecretTTL: cfg.Reset.SecretTTL, Clock: clk, Log: log,
		OnAlertTaken: h.taken, Ledger: h.ledger,
	})
	if err != nil {
		return nil, nil, configError{err}
	}
	return a, preload, nil
}

// chatHooks are what a chat adapter reports to the program.
type chatHooks struct {
	taken  func(alertID, who string) // someone pressed "I'm on it"
	ledger onscreen.Ledger           // passcode messages shown until they are removed

	// recent lists a person's recent resets for the Slack App Home tab.
	recent func(context.Context, string) ([]slackadapter.HomeReset, error)
}
