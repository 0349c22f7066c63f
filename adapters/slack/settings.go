package slack

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Environment variables that hold the Slack secrets; they never go in the
// configuration file.
const (
	EnvBotToken      = "PASSCODEBOT_SLACK_BOT_TOKEN"
	EnvAppToken      = "PASSCODEBOT_SLACK_APP_TOKEN"
	EnvSigningSecret = "PASSCODEBOT_SLACK_SIGNING_SECRET"
)

// Section is the slack: section of the configuration file. Tokens come from
// the environment, never from here.
type Section struct {
	Mode               string            `yaml:"mode"`    // socket or http
	APIURL             string            `yaml:"api_url"` // Web API base
	HelpdeskChannel    string            `yaml:"helpdesk_channel"`
	EmailDomainRewrite map[string]string `yaml:"email_domain_rewrite"`
	UserCacheTTL       time.Duration     `yaml:"user_cache_ttl"`
}

// Validate checks the section (defaults already applied); used says the
// configuration's chat: list names slack. Errors name the key.
func (s *Section) Validate(used bool) error {
	switch s.Mode {
	case "socket", "http":
	default:
		return fmt.Errorf("slack.mode: %q is not socket or http", s.Mode)
	}
	u, err := url.Parse(s.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("slack.api_url: %q is not an http(s) URL", s.APIURL)
	}
	if !strings.HasSuffix(s.APIURL, "/") {
		s.APIURL += "/"
	}
	for from, to := range s.EmailDomainRewrite {
		if !strings.HasPrefix(from, "@") || !strings.HasPrefix(to, "@") {
			return fmt.Errorf("slack.email_domain_rewrite: %q: %q: both sides must start with @", from, to)
		}
	}
	if s.UserCacheTTL < 0 {
		return fmt.Errorf("slack.user_cache_ttl: %v must not be negative", s.UserCacheTTL)
	}
	if used && strings.TrimSpace(s.HelpdeskChannel) == "" {
		return errors.New("slack.helpdesk_channel: needed with chat: slack (a channel id such as C0123456789, with the bot invited)")
	}
	return nil
}
