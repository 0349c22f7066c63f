// Package config reads and checks the bot's configuration file. Errors name the
// key that is wrong; secrets are never read from the file.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/passcodebot/passcodebot"
	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/intune"
	"github.com/passcodebot/passcodebot/reauth/oidc"
	"github.com/passcodebot/passcodebot/resetflow"
)

// Config is the whole configuration file.
type Config struct {
	Locale             string   `yaml:"locale"`
	Timezone           string   `yaml:"timezone"`
	Chat               []string `yaml:"chat"`
	Devices            string   `yaml:"devices"`
	Reauth             string   `yaml:"reauth"`
	InsecureDemoSignIn bool     `yaml:"insecure_demo_signin_with_real_chat"`
	HTTP               struct {
		Listen      string `yaml:"listen"`
		PublicURL   string `yaml:"public_url"`
		AdminListen string `yaml:"admin_listen"`
		Pprof       bool   `yaml:"pprof"`
	} `yaml:"http"`
	Audit struct {
		File          string `yaml:"file"`
		RetentionDays int    `yaml:"retention_days"`
	} `yaml:"audit"`
	// Store is where the durable state lives: sqlite (audit.file) or postgres
	// (PASSCODEBOT_POSTGRES_URL; replicas elect a leader through it).
	Store    string   `yaml:"store"`
	Postgres Postgres `yaml:"postgres"`
	Log      struct {
		Format string `yaml:"format"`
		Level  string `yaml:"level"`
	} `yaml:"log"`
	Reset struct {
		Window      time.Duration `yaml:"window"`
		AuthSkew    time.Duration `yaml:"auth_skew"`
		PickTimeout time.Duration `yaml:"pick_timeout"`
		MaxPerDay   int           `yaml:"max_per_day"`
		MatchBy     string        `yaml:"match_by"`
		TenantID    string        `yaml:"tenant_id"`
		PollFirst   time.Duration `yaml:"poll_first"`
		PollMax     time.Duration `yaml:"poll_max"`
		PollTimeout time.Duration `yaml:"poll_timeout"`
		SecretTTL   time.Duration `yaml:"secret_ttl"`
		GraphSkew   time.Duration `yaml:"graph_skew"`
	} `yaml:"reset"`
	Fleet struct {
		File  string        `yaml:"file"`
		Delay time.Duration `yaml:"delay"`
	} `yaml:"fleet"`
	Shell struct {
		User string `yaml:"user"`
	} `yaml:"shell"`
	Slack slack.Section   `yaml:"slack"`
	Rules resetflow.Rules `yaml:"rules"`
	// OIDC is the sign-in with reauth: oidc; its client id and secret come from the environment.
	OIDC oidc.Config `yaml:"oidc"`

	// Intune is the Microsoft Graph backend (devices: intune). Credentials come from the environment.
	Intune intune.Config `yaml:"intune"`

	// Discord is the Discord chat (chat: discord). The bot token comes from the environment.
	Discord discord.Section `yaml:"discord"`

	// HelpdeskName is what the sentences call the helpdesk, per locale; empty: the catalog's default.
	HelpdeskName map[string]string `yaml:"helpdesk_name"`

	// Teams is the Microsoft Teams chat (chat: teams). The app password comes from the environment.
	Teams Teams `yaml:"teams"`

	// Location is Timezone, loaded.
	Location *time.Location `yaml:"-"`
}

// Default returns the embedded default, config.example.yaml.
func Default() (*Config, error) { return Parse(passcodebot.ExampleConfig) }

// Load reads a file; an empty path means the embedded default.
func Load(path string) (*Config, error) {
	if path == "" {
		return Default()
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// Parse reads a configuration: the embedded default's values, overridden by raw.
// Unknown keys are errors, so a typo never silently falls back to a default.
func Parse(raw []byte) (*Config, error) {
	var c Config
	var problems Errors
	for i, src := range [][]byte{passcodebot.ExampleConfig, raw} {
		dec := yaml.NewDecoder(bytes.NewReader(src))
		dec.KnownFields(true)
		// A key present in raw replaces the default's value; a list replaces the whole list.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			if i == 0 {
				return nil, fmt.Errorf("config: the embedded default: %w", err)
			}
			problems = append(problems, explainYAML(err, src)...)
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return nil, fmt.Errorf("config: %w", problems) // not YAML at all: nothing to check further
			}
		}
	}
	if err := c.validate(); err != nil {
		problems = append(problems, flatten(err)...)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("config: %w", problems)
	}
	return &c, nil
}

func (c *Config) validate() error {
	var errs []error
	if !slices.Contains(catalog.Locales, c.Locale) {
		errs = append(errs, fmt.Errorf("locale: %q is not one of %v", c.Locale, catalog.Locales))
	}
	for l := range c.HelpdeskName {
		if !slices.Contains(catalog.Locales, l) {
			errs = append(errs, fmt.Errorf("helpdesk_name.%s: %q is not one of %v", l, l, catalog.Locales))
		}
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		errs = append(errs, fmt.Errorf("timezone: %q: %v", c.Timezone, err))
	}
	c.Location = loc
	if len(c.Chat) == 0 {
		errs = append(errs, errors.New("chat: name at least one of shell, slack, discord, teams"))
	}
	seen := map[string]bool{}
	for i, p := range c.Chat {
		if !slices.Contains([]string{"shell", "slack", "discord", "teams"}, p) {
			errs = append(errs, fmt.Errorf("chat[%d]: %q is not shell, slack, discord or teams", i, p))
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("chat[%d]: %q appears twice", i, p))
		}
		seen[p] = true
	}
	switch c.Devices {
	case "fleet", "intune":
	default:
		errs = append(errs, fmt.Errorf("devices: %q is not fleet or intune", c.Devices))
	}
	switch c.Reauth {
	case "local", "oidc":
	default:
		errs = append(errs, fmt.Errorf("reauth: %q is not local or oidc", c.Reauth))
	}
	if c.Reauth == "oidc" {
		if err := c.OIDC.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Reauth == "local" && (seen["slack"] || seen["discord"] || seen["teams"]) && !c.InsecureDemoSignIn {
		errs = append(errs, errors.New("reauth: local is the demo sign-in where anyone can pick any user; with slack or discord use oidc (or set insecure_demo_signin_with_real_chat: true for a test workspace)"))
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		errs = append(errs, fmt.Errorf("http.listen: %q: %v", c.HTTP.Listen, err))
	}
	if err := c.CheckPublicURL(); err != nil {
		return err
	}
	if c.HTTP.PublicURL != "" {
		u, err := url.Parse(c.HTTP.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("http.public_url: %q is not an http(s) URL", c.HTTP.PublicURL))
		} else if c.Reauth == "oidc" && u.Scheme != "https" && !isLoopback(u.Hostname()) {
			errs = append(errs, fmt.Errorf("http.public_url: %q must be https for oidc", c.HTTP.PublicURL))
		}
	}
	if c.HTTP.AdminListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.AdminListen); err != nil {
			errs = append(errs, fmt.Errorf("http.admin_listen: %q: %v", c.HTTP.AdminListen, err))
		}
	}
	if c.HTTP.Pprof && c.HTTP.AdminListen == "" {
		errs = append(errs, errors.New("http.pprof: needs http.admin_listen, so profiles are never served beside the public pages"))
	}
	switch c.Store {
	case "sqlite":
		if strings.TrimSpace(c.Audit.File) == "" {
			errs = append(errs, errors.New("audit.file: needed; the bot never resets without an audit record"))
		}
	case "postgres":
		if err := c.Postgres.validate(); err != nil {
			errs = append(errs, err)
		}
	default:
		errs = append(errs, fmt.Errorf("store: %q is not sqlite or postgres", c.Store))
	}
	if c.Audit.RetentionDays < 1 {
		errs = append(errs, fmt.Errorf("audit.retention_days: %d must be at least 1", c.Audit.RetentionDays))
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("log.format: %q is not text or json", c.Log.Format))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level: %q is not debug, info, warn or error", c.Log.Level))
	}
	r := &c.Reset
	if r.Window < time.Minute || r.Window > 5*time.Minute {
		errs = append(errs, fmt.Errorf("reset.window: %v must be between 1m and 5m (the Company Portal allows 5 minutes)", r.Window))
	}
	if r.AuthSkew < 0 || r.AuthSkew > 5*time.Minute {
		errs = append(errs, fmt.Errorf("reset.auth_skew: %v must be between 0 and 5m", r.AuthSkew))
	}
	if r.PickTimeout < time.Minute {
		errs = append(errs, fmt.Errorf("reset.pick_timeout: %v must be at least 1m", r.PickTimeout))
	}
	if r.MaxPerDay < 1 {
		errs = append(errs, fmt.Errorf("reset.max_per_day: %d must be at least 1", r.MaxPerDay))
	}
	switch resetflow.MatchBy(r.MatchBy) {
	case resetflow.MatchByObjectID, resetflow.MatchByUPN:
	default:
		errs = append(errs, fmt.Errorf("reset.match_by: %q is not oid or upn", r.MatchBy))
	}
	if r.PollFirst <= 0 || r.PollMax < r.PollFirst || r.PollTimeout < r.PollMax {
		errs = append(errs, fmt.Errorf("reset.poll_first, poll_max, poll_timeout: need 0 < poll_first <= poll_max <= poll_timeout"))
	}
	if r.SecretTTL < 0 {
		errs = append(errs, fmt.Errorf("reset.secret_ttl: %v must not be negative", r.SecretTTL))
	}
	if r.GraphSkew < 0 || r.GraphSkew > time.Minute {
		return fmt.Errorf("reset.graph_skew: %v must be between 0 and 1m", r.GraphSkew)
	}
	if c.Fleet.Delay < 0 {
		errs = append(errs, fmt.Errorf("fleet.delay: %v must not be negative", c.Fleet.Delay))
	}
	if seen["shell"] && strings.TrimSpace(c.Shell.User) == "" {
		errs = append(errs, errors.New("shell.user: needed with chat: shell"))
	}
	if seen["discord"] {
		if err := c.Discord.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if seen["teams"] {
		if err := c.validateTeams(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.Slack.Validate(seen["slack"]); err != nil {
		errs = append(errs, err)
	}
	if len(c.Rules) == 0 {
		errs = append(errs, errors.New("rules: the table is empty; every device would be refused"))
	}
	if err := c.Rules.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// EngineConfig is the engine's part.
func (c *Config) EngineConfig(publicURL string) resetflow.Config {
	r := c.Reset
	return resetflow.Config{
		Rules: c.Rules, Window: r.Window, AuthSkew: r.AuthSkew, PickTimeout: r.PickTimeout,
		MaxResetsPerDay: r.MaxPerDay, PublicURL: publicURL, MatchBy: resetflow.MatchBy(r.MatchBy),
		TenantID: r.TenantID, PollFirst: r.PollFirst, PollMax: r.PollMax, PollTimeout: r.PollTimeout,
		Location: c.Location, GraphSkew: r.GraphSkew, SecretTTL: r.SecretTTL,
	}
}
