package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/cmd/passcodebot/config"
	"github.com/passcodebot/passcodebot/internal/migrate"
	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// store is what the program keeps in its database, SQLite or PostgreSQL.
type store interface {
	resetflow.Recorder
	resetflow.BatchRecorder
	resetflow.Store
	resetflow.Links
	SecretShown(ctx context.Context, s sqlite.ShownSecret) error
	SecretRemoved(ctx context.Context, platform, channel, messageID string) error
	SecretsShown(ctx context.Context, platform string) ([]sqlite.ShownSecret, error)
	Events(ctx context.Context, f sqlite.Filter) ([]resetflow.Event, error)
	Prune(ctx context.Context, before time.Time) (int64, error)
	Ping(ctx context.Context) error
	Close() error
	KeptAlerts(ctx context.Context, channel string) ([]resetflow.Alert, error)
	KeepAlerts(ctx context.Context, channel string, alerts []resetflow.Alert) error
}

// commitCounter is a store that counts its writes and commits (SQLite's group
// commit), shown on /metrics.
type commitCounter interface {
	Writes() int64
	Commits() int64
}

var (
	_ commitCounter = (*sqlite.DB)(nil)
	_ store         = (*sqlite.DB)(nil)
	_ store         = (*postgres.DB)(nil)
)

// openStore opens the configured store and applies its pending migrations.
// The PostgreSQL connection string comes only from the environment.
func openStore(ctx context.Context, cfg *config.Config, env Env) (store, *postgres.DB, error) {
	if cfg.Store != "postgres" {
		db, err := sqlite.Open(ctx, cfg.Audit.File)
		if err != nil {
			return nil, nil, configError{fmt.Errorf("audit.file: %w", err)}
		}
		return db, nil, nil
	}
	url := ""
	if env != nil {
		url = strings.TrimSpace(env(postgres.EnvURL))
	}
	if url == "" {
		return nil, nil, configError{fmt.Errorf("store: postgres needs the connection string in the environment variable %s", postgres.EnvURL)}
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	return db, db, nil
}

// openAdminStore opens the store for a subcommand (audit, unlink): with
// PostgreSQL, never the SQLite file that audit.file names by default.
func openAdminStore(ctx context.Context, cfg *config.Config, env Env) (store, error) {
	db, _, err := openStore(ctx, cfg, env)
	return db, err
}

// replicas makes the bot one of several replicas on PostgreSQL: it leads only
// while it holds the lease, and once it leads it removes the passcode messages
// a stopped leader left on screen and tells the people whose conversation was
// open that the bot restarted.
func replicas(b *bot.Bot, pg *postgres.DB, cfg *config.Config, cat *catalog.Catalog, router resetflow.Messenger, restore func(context.Context), log *slog.Logger) func(context.Context) error {
	pg.RequireLease()
	var (
		held *postgres.Leadership
		led  time.Time // conversations opened before were another process's
	)
	b.Lead = func(ctx context.Context) (context.Context, error) {
		start := time.Now()
		l, err := pg.Acquire(ctx, postgres.LeaseConfig{Name: cfg.Postgres.LeaseName, TTL: cfg.Postgres.LeaseTTL, Renew: cfg.Postgres.LeaseRenew, Poll: cfg.Postgres.LeasePoll, Log: log})
		if err != nil {
			return nil, err
		}
		held, led = l, time.Now()
		log.Info("leader: took the lease", "fence", l.Token, "waited", time.Since(start).Round(time.Millisecond).String())
		return l.Context(), nil
	}
	b.OnLead = func(ctx context.Context) {
		restore(ctx)
		tellRestarted(ctx, pg, cfg, cat, router, log, led)
	}
	// A clean stop hands over in well under 2 s: resets still running after a
	// second stay in flight, and the next leader resumes them.
	b.ShutdownTimeout = time.Second
	return func(ctx context.Context) error {
		if held == nil {
			return nil
		}
		err := held.Release(ctx)
		if err == nil {
			log.Info("leader: released the lease")
		}
		return err
	}
}

// tellRestarted tells each person whose conversation a stopped leader left
// open (and whose reset was not yet requested) that the bot restarted.
func tellRestarted(ctx context.Context, pg conversationStore, cfg *config.Config, cat *catalog.Catalog, to resetflow.Messenger, log *slog.Logger, since time.Time) {
	inflight, err := pg.InFlight(ctx)
	if err != nil {
		log.Error("reading resets in flight failed", "err", err)
		return
	}
	resuming := map[string]bool{}
	for _, r := range inflight {
		resuming[r.Flow] = true
	}
	// Only conversations that could still be going on; older ones ended by their own timers.
	open, err := pg.TakeConversations(ctx, time.Now().Add(-cfg.Reset.PickTimeout-2*cfg.Reset.Window), since)
	if err != nil {
		log.Error("reading the conversations left open failed", "err", err)
		return
	}
	for _, c := range open {
		if resuming[c.Flow] {
			continue
		}
		loc := cat.Normalize(c.Locale)
		err := to.Send(ctx, c.Address, resetflow.Message{Text: cat.T(loc, "restarted"),
			Buttons: []resetflow.Button{{Value: "start", Label: cat.T(loc, "button_start_again"), Style: resetflow.StylePrimary}}})
		outcome := "told"
		if err != nil {
			outcome = "error"
			log.Warn("telling a person the bot restarted failed", "platform", c.Address.Platform, "chat_user", c.Address.UserID, "err", err)
		}
		_ = pg.Record(ctx, resetflow.Event{Time: time.Now(), Flow: c.Flow, Step: "restarted", Platform: c.Address.Platform, ChatUser: c.Address.UserID, Outcome: outcome})
	}
	if len(open) > 0 {
		log.Info("told the people whose conversation was open that the bot restarted", "conversations", len(open))
	}
}

// migrateCmd is the `migrate` subcommand: it applies the pending schema
// migrations of the configured store, or with -check only lists them.
func migrateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env Env) int {
	fs := flag.NewFlagSet("passcodebot migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (its store and audit.file)")
	check := fs.Bool("check", false, "only say which migrations would run; change nothing")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 {
		return ExitConfig
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot:", err)
		return ExitConfig
	}
	type migrator interface {
		Pending(context.Context) ([]migrate.Migration, error)
		Migrate(context.Context) ([]migrate.Migration, error)
		Close() error
	}
	var m migrator
	if cfg.Store == "postgres" {
		url := ""
		if env != nil {
			url = env(postgres.EnvURL)
		}
		db, err := postgres.Connect(ctx, url)
		if err != nil {
			fmt.Fprintln(stderr, "passcodebot migrate:", err)
			return ExitConfig
		}
		m = db
	} else {
		db, err := sqlite.OpenUnmigrated(ctx, cfg.Audit.File)
		if err != nil {
			fmt.Fprintln(stderr, "passcodebot migrate:", err)
			return ExitFail
		}
		m = db
	}
	defer m.Close()
	list := m.Pending
	if !*check {
		list = m.Migrate
	}
	done, err := list(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot migrate:", err)
		return ExitFail
	}
	verb := "applied"
	if *check {
		verb = "would apply"
	}
	if len(done) == 0 {
		fmt.Fprintf(stdout, "%s: the schema is up to date\n", cfg.Store)
		return ExitOK
	}
	for _, mg := range done {
		fmt.Fprintf(stdout, "%s: %s %s\n", cfg.Store, verb, mg)
	}
	return ExitOK
}

// conversationStore keeps the open conversations (both stores do).
type conversationStore interface {
	resetflow.Conversations
	TakeConversations(ctx context.Context, since, before time.Time) ([]sqlite.OpenConversation, error)
	InFlight(ctx context.Context) ([]resetflow.InFlight, error)
	Record(ctx context.Context, e resetflow.Event) error
}

// conversations is the engine's Conversations port, when the store has one.
func conversations(db store) resetflow.Conversations {
	if c, ok := db.(conversationStore); ok {
		return c
	}
	return nil
}
