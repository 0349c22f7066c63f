package app

import (
	"fmt"
	"log/slog"
	"strings"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/internal/config"
)

// newSlack builds the Slack adapter. A missing or misplaced secret is a
// configError naming the variable, never showing its value.
func newSlack(cfg *config.Config, env Env, cat *catalog.Catalog, clk clock.Clock, log *slog.Logger, h chatHooks) (*slackadapter.Adapter, error) {
	secret := func(name, prefix, what string) (string, error) {
		v := strings.TrimSpace(env(name))
		if v == "" {
			return "", configError{fmt.Errorf("chat: slack needs %s in the environment (%s)", name, what)}
		}
		if prefix != "" && !strings.HasPrefix(v, prefix) {
			return "", configError{fmt.Errorf("%s: not a %s token (it should start with %s)", name, what, prefix)}
		}
		return v, nil
	}
	sc := slackadapter.Config{
		Mode: slackadapter.Mode(cfg.Slack.Mode), APIURL: cfg.Slack.APIURL, HelpdeskChannel: cfg.Slack.HelpdeskChannel,
		EmailDomainRewrite: cfg.Slack.EmailDomainRewrite, UserCacheTTL: cfg.Slack.UserCacheTTL,
		SecretTTL: cfg.Reset.SecretTTL, Catalog: cat, Location: cfg.Location, Clock: clk, Log: log,
		OnAlertTaken: h.taken, Ledger: h.ledger, RecentResets: h.recent,
	}
	var err error
	if sc.BotToken, err = secret(slackadapter.EnvBotToken, "xoxb-", "bot"); err != nil {
		return nil, err
	}
	switch sc.Mode {
	case slackadapter.ModeHTTP:
		if sc.SigningSecret, err = secret(slackadapter.EnvSigningSecret, "", "signing secret"); err != nil {
			return nil, err
		}
	default:
		if sc.AppToken, err = secret(slackadapter.EnvAppToken, "xapp-", "app-level"); err != nil {
			return nil, err
		}
	}
	a, err := slackadapter.New(sc)
	if err != nil {
		return nil, configError{err}
	}
	return a, nil
}
