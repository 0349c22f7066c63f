package intune

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Environment variables that carry the app registration. The secret is only
// ever read from the environment, never from the config file.
const (
	EnvTenantID     = "PASSCODEBOT_GRAPH_TENANT_ID"
	EnvClientID     = "PASSCODEBOT_GRAPH_CLIENT_ID"
	EnvClientSecret = "PASSCODEBOT_GRAPH_CLIENT_SECRET"
)

// User lookup strategies (Config.UserLookup).
const (
	// LookupUPN takes the chat email to be the user principal name and reads the
	// user's object id from their managed devices. It needs no permission beyond
	// the two Intune ones.
	LookupUPN = "upn"
	// LookupDirectory reads the user from the directory (GET /users/{upn}). It
	// also needs User.ReadBasic.All and tells an unknown user from one
	// without devices.
	LookupDirectory = "directory"
)

// Config is the `intune:` section of the config file. Zero fields take the
// defaults of DefaultConfig; see docs/intune.md for each key.
type Config struct {
	TenantID string `yaml:"tenant_id"` // directory (tenant) id or verified domain; env PASSCODEBOT_GRAPH_TENANT_ID wins
	ClientID string `yaml:"client_id"` // application (client) id; env PASSCODEBOT_GRAPH_CLIENT_ID wins
	// ClientSecret comes only from PASSCODEBOT_GRAPH_CLIENT_SECRET.
	ClientSecret string `yaml:"-"`

	GraphURL string `yaml:"graph_url"` // Microsoft Graph root, e.g. https://graph.microsoft.com
	LoginURL string `yaml:"login_url"` // Entra ID authority host, e.g. https://login.microsoftonline.com
	// APIVersion serves the reset request and the directory lookup.
	APIVersion string `yaml:"api_version"`
	// BetaVersion serves the device list (Android Enterprise enrollment modes and
	// deviceType exist only there) and the action results (the temporary
	// passcode exists only there).
	BetaVersion string `yaml:"beta_version"`

	Timeout     time.Duration `yaml:"request_timeout"` // one HTTP request, token included
	MaxAttempts int           `yaml:"max_attempts"`    // tries per call, the first included
	MaxBackoff  time.Duration `yaml:"max_backoff"`     // longest wait between tries, Retry-After included
	// ClockSkew is how far Graph's startDateTime of a reset may lie before our
	// own clock's start of the request and still count as that request.
	ClockSkew time.Duration `yaml:"clock_skew"`

	UserLookup string `yaml:"user_lookup"` // "upn" or "directory"
}

// DefaultConfig returns the defaults for the global Microsoft cloud.
func DefaultConfig() Config {
	return Config{
		GraphURL:    "https://graph.microsoft.com",
		LoginURL:    "https://login.microsoftonline.com",
		APIVersion:  "v1.0",
		BetaVersion: "beta",
		Timeout:     20 * time.Second,
		MaxAttempts: 4,
		MaxBackoff:  30 * time.Second,
		ClockSkew:   2 * time.Minute,
		UserLookup:  LookupUPN,
	}
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.GraphURL == "" {
		c.GraphURL = d.GraphURL
	}
	if c.LoginURL == "" {
		c.LoginURL = d.LoginURL
	}
	if c.APIVersion == "" {
		c.APIVersion = d.APIVersion
	}
	if c.BetaVersion == "" {
		c.BetaVersion = d.BetaVersion
	}
	if c.Timeout == 0 {
		c.Timeout = d.Timeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = d.MaxAttempts
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = d.MaxBackoff
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = d.ClockSkew
	}
	if c.UserLookup == "" {
		c.UserLookup = d.UserLookup
	}
	c.GraphURL = strings.TrimRight(c.GraphURL, "/")
	c.LoginURL = strings.TrimRight(c.LoginURL, "/")
	return c
}

// ApplyEnv sets the tenant id, client id and client secret from the environment
// variables that are set; lookup is os.LookupEnv outside tests.
func (c *Config) ApplyEnv(lookup func(string) (string, bool)) {
	if v, ok := lookup(EnvTenantID); ok && strings.TrimSpace(v) != "" {
		c.TenantID = strings.TrimSpace(v)
	}
	if v, ok := lookup(EnvClientID); ok && strings.TrimSpace(v) != "" {
		c.ClientID = strings.TrimSpace(v)
	}
	if v, ok := lookup(EnvClientSecret); ok && v != "" {
		c.ClientSecret = v
	}
}

var (
	versionRE = regexp.MustCompile(`^(v[0-9]+\.[0-9]+|beta)$`)
	tenantRE  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]*$`)
)

// Validate reports the first problem, naming its key as "intune.<key>". It
// expects defaults to be applied already (WithDefaults).
func (c Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("intune.%s: %s", key, fmt.Sprintf(format, args...))
	}
	switch {
	case c.TenantID == "":
		return bad("tenant_id", "empty; set it or %s", EnvTenantID)
	case !tenantRE.MatchString(c.TenantID):
		return bad("tenant_id", "%q is not a tenant id or domain name", c.TenantID)
	case c.ClientID == "":
		return bad("client_id", "empty; set it or %s", EnvClientID)
	case c.ClientSecret == "":
		return bad("client_secret", "empty; set %s (the secret is never read from the file)", EnvClientSecret)
	}
	if err := checkBaseURL(c.GraphURL); err != nil {
		return bad("graph_url", "%v", err)
	}
	if err := checkBaseURL(c.LoginURL); err != nil {
		return bad("login_url", "%v", err)
	}
	switch {
	case !versionRE.MatchString(c.APIVersion):
		return bad("api_version", "%q is not v1.0 or beta", c.APIVersion)
	case !versionRE.MatchString(c.BetaVersion):
		return bad("beta_version", "%q is not beta or v1.0", c.BetaVersion)
	case c.Timeout <= 0 || c.Timeout > 5*time.Minute:
		return bad("request_timeout", "%v is not between 0s and 5m", c.Timeout)
	case c.MaxAttempts < 1 || c.MaxAttempts > 10:
		return bad("max_attempts", "%d is not between 1 and 10", c.MaxAttempts)
	case c.MaxBackoff <= 0 || c.MaxBackoff > 10*time.Minute:
		return bad("max_backoff", "%v is not between 0s and 10m", c.MaxBackoff)
	case c.ClockSkew < 0 || c.ClockSkew > 10*time.Minute:
		return bad("clock_skew", "%v is not between 0s and 10m", c.ClockSkew)
	case c.UserLookup != LookupUPN && c.UserLookup != LookupDirectory:
		return bad("user_lookup", "%q is not %q or %q", c.UserLookup, LookupUPN, LookupDirectory)
	}
	return nil
}

// checkBaseURL accepts an absolute https URL without query or fragment, or
// plain http to a loopback address (for local fakes).
func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q must be a bare https URL such as https://graph.microsoft.com", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (plain http only to a loopback address)", raw)
}

// String describes c without the secret.
func (c Config) String() string {
	secret := "unset"
	if c.ClientSecret != "" {
		secret = "set"
	}
	return fmt.Sprintf("intune{tenant=%s client=%s secret=%s graph=%s login=%s api=%s beta=%s lookup=%s}",
		c.TenantID, c.ClientID, secret, c.GraphURL, c.LoginURL, c.APIVersion, c.BetaVersion, c.UserLookup)
}

// GoString keeps %#v from printing the secret.
func (c Config) GoString() string { return c.String() }
