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
	"strings"

	"github.com/passcodebot/passcodebot/adapters/shell"
	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/config"
	"github.com/passcodebot/passcodebot/reauth"
	"github.com/passcodebot/passcodebot/reauth/local"
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
	fs := flag.NewFlagSet("passcodebot", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file (default: the embedded config.example.yaml)")
	listen := fs.String("listen", "", "override http.listen, e.g. 127.0.0.1:0")
	if err := fs.Parse(args); err != nil {
		return ExitConfig
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "passcodebot:", err)
		return ExitConfig
	}
	if *listen != "" {
		cfg.HTTP.Listen = *listen
	}
	log := newLogger(cfg, stderr)
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
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func run(ctx context.Context, cfg *config.Config, stdin io.Reader, stdout io.Writer, log *slog.Logger, env Env) error {
	clk := clock.Real{}
	cat, err := catalog.New(cfg.Locale)
	if err != nil {
		return configError{err}
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

	var adapters []bot.Adapter
	var slackHTTP *slackadapter.Adapter // registers its endpoints on the bot's mux
	for _, p := range cfg.Chat {
		switch p {
		case "shell":
			var names []string
			for _, u := range demoUsers {
				names = append(names, u.UPN)
			}
			adapters = append(adapters, shell.New(stdin, stdout, cat, cfg.Locale, cfg.Location, cfg.Shell.User, names))
		case "slack":
			sa, err := newSlack(cfg, env, cat, clk, log)
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
		if p, ok := a.(bot.AlertPoster); ok {
			posters = append(posters, p)
		}
	}
	alerts := bot.NewAlerts(clk, log, posters...)
	router := bot.NewRouter(adapters...)

	engine, err := resetflow.New(cfg.EngineConfig(publicURL), resetflow.Deps{
		Clock: clk, Catalog: cat, Devices: devices, Directory: directory,
		Messenger: router, Alerter: alerts, Log: log,
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
	default:
		ln.Close()
		return configError{fmt.Errorf("reauth: %q is not available in this build", cfg.Reauth)}
	}
	pages.FormOrigins = provider.FormOrigins()
	mux := http.NewServeMux()
	(&reauth.Server{Windows: engine, Provider: provider, Pages: pages}).Register(mux)
	if slackHTTP != nil {
		slackHTTP.Register(mux)
	}

	log.Info("passcodebot starting", "chat", strings.Join(cfg.Chat, ","), "devices", cfg.Devices, "reauth", cfg.Reauth, "http", ln.Addr().String(), "public_url", publicURL)
	b := &bot.Bot{Engine: engine, Adapters: adapters, Alerts: alerts, Mux: mux, Listener: ln, Log: log}
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
