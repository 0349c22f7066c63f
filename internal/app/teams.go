package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/config"
	"github.com/passcodebot/passcodebot/internal/onscreen"
)

// newTeams builds the Teams adapter. Its endpoint is mounted on the bot's HTTP
// server (http.listen) at teams.path. The app password comes from the
// environment; without it the program stops with a configuration error
// naming the variable.
func newTeams(cfg *config.Config, env Env, cat *catalog.Catalog, clk clock.Clock, log *slog.Logger, h chatHooks) (*teams.Adapter, error) {
	password := ""
	if env != nil {
		password = strings.TrimSpace(env(teams.PasswordEnv))
	}
	if password == "" {
		return nil, configError{fmt.Errorf("chat: teams needs the app's client secret in the environment variable %s", teams.PasswordEnv)}
	}
	t := cfg.Teams
	a, err := teams.New(teams.Config{
		AppID: strings.TrimSpace(t.AppID), AppPassword: password, TenantID: cfg.TeamsTenant(),
		HelpdeskConversationID: t.HelpdeskConversationID, ServiceURL: t.ServiceURL,
		MetadataURL: t.OpenIDMetadataURL, Issuer: t.Issuer, TokenURL: t.TokenURL, Path: t.Path,
		Catalog: cat, Locale: cfg.Locale, Location: cfg.Location, SecretTTL: cfg.Reset.SecretTTL, Clock: clk, Log: log,
		OnAlertTaken: h.taken,
		SecretShown: func(channel, id, locale string, at time.Time) {
			if h.ledger != nil {
				if err := h.ledger.Shown(context.Background(), onscreen.Item{Channel: channel, MessageID: id, Locale: locale, RemoveAt: at}); err != nil {
					log.Error("recording a shown passcode message failed; a crash now could leave it on screen", "platform", "teams", "err", err)
				}
			}
		},
		SecretRemoved: func(channel, id string) {
			if h.ledger != nil {
				if err := h.ledger.Removed(context.Background(), channel, id); err != nil {
					log.Warn("forgetting a removed passcode message failed", "platform", "teams", "err", err)
				}
			}
		},
	})
	if err != nil {
		return nil, configError{err}
	}
	return a, nil
}
