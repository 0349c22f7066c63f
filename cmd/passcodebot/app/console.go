package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/cmd/passcodebot/config"
	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/postgres"
	"github.com/passcodebot/passcodebot/reauth/oidc"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// openConsole prepares the console's tables and its tap on the engine's ports;
// nil when the console is off.
func openConsole(ctx context.Context, cfg *config.Config, st store, log *slog.Logger) (*console.Tap, console.Store, error) {
	if !cfg.Console.Enabled {
		return nil, nil, nil
	}
	var cs console.Store
	var err error
	switch db := st.(type) {
	case *sqlite.DB:
		cs, err = db.Console(ctx)
	case *postgres.DB:
		cs, err = db.Console(ctx)
	default:
		return nil, nil, configError{fmt.Errorf("console.enabled: the helpdesk console can't read a %T store", st)}
	}
	if err != nil {
		return nil, nil, err
	}
	return &console.Tap{Store: cs, Log: log}, cs, nil
}

// alertMarker is a chat adapter that can show in its helpdesk channel that an
// alert was taken elsewhere (in the console).
type alertMarker interface {
	MarkAlertTaken(ctx context.Context, alertID, who string) bool
}

// mountConsole registers the console on the public mux or returns the admin
// listener's mux holding it. It does nothing when the console is off.
func mountConsole(cfg *config.Config, env Env, publicURL string, cs console.Store, db resetflow.Recorder, cat *catalog.Catalog,
	clk clock.Clock, log *slog.Logger, mux *http.ServeMux, adapters []bot.Adapter) (*http.ServeMux, error) {
	if cs == nil {
		return nil, nil
	}
	o := console.Options{Store: cs, Recorder: db, Catalog: cat, Location: cfg.Location, Clock: clk, Log: log,
		OnTaken: func(ctx context.Context, alertID, who string) {
			for _, a := range adapters {
				if m, ok := a.(alertMarker); ok {
					m.MarkAlertTaken(context.WithoutCancel(ctx), alertID, who)
				}
			}
		}}
	switch cfg.Reauth {
	case "local":
		o.Demo = true
		log.Warn("the helpdesk console lets the DEMO helpdesk user in (reauth: local): anyone who can reach /console gets in")
	case "oidc":
		if env == nil {
			env = func(string) string { return "" }
		}
		redirect := cfg.Console.RedirectURI
		if redirect == "" {
			redirect = strings.TrimRight(publicURL, "/") + console.CallbackPath
		}
		oc := cfg.OIDC.WithDefaults()
		o.OIDC = &console.OIDC{Issuer: oc.Issuer, ClientID: env(oidc.EnvClientID), ClientSecret: env(oidc.EnvClientSecret),
			RedirectURL: redirect, Scopes: oc.Scopes, HTTPClient: &http.Client{Timeout: oc.HTTPTimeout},
			Groups: cfg.Console.AllowedGroups, Roles: cfg.Console.AllowedRoles}
		log.Info("helpdesk console sign-in with OIDC", "redirect_uri", redirect, "groups", len(o.OIDC.Groups), "roles", len(o.OIDC.Roles))
	}
	srv, err := console.New(cfg.Console, o)
	if err != nil {
		return nil, configError{fmt.Errorf("console: %w", err)}
	}
	if cfg.Console.Listener == "admin" {
		admin := http.NewServeMux()
		srv.Register(admin)
		return admin, nil
	}
	srv.Register(mux)
	return nil, nil
}
