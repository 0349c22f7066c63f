package intune

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func validConfig() Config {
	c := DefaultConfig()
	c.TenantID, c.ClientID, c.ClientSecret = "contoso.onmicrosoft.com", "11111111-2222-3333-4444-555555555555", "s3cr3t-value"
	return c
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Config)
		wantKey string // "" when valid
	}{
		{"defaults with credentials", func(*Config) {}, ""},
		{"loopback http for fakes", func(c *Config) { c.GraphURL, c.LoginURL = "http://127.0.0.1:8080", "http://localhost:9" }, ""},
		{"national cloud", func(c *Config) {
			c.GraphURL, c.LoginURL = "https://graph.microsoft.us", "https://login.microsoftonline.us"
		}, ""},
		{"no tenant", func(c *Config) { c.TenantID = "" }, "intune.tenant_id"},
		{"tenant with a slash", func(c *Config) { c.TenantID = "contoso/../x" }, "intune.tenant_id"},
		{"no client id", func(c *Config) { c.ClientID = "" }, "intune.client_id"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "intune.client_secret"},
		{"plain http graph", func(c *Config) { c.GraphURL = "http://graph.microsoft.com" }, "intune.graph_url"},
		{"graph with query", func(c *Config) { c.GraphURL = "https://graph.microsoft.com?x=1" }, "intune.graph_url"},
		{"relative graph", func(c *Config) { c.GraphURL = "graph.microsoft.com" }, "intune.graph_url"},
		{"bad login", func(c *Config) { c.LoginURL = "ftp://login" }, "intune.login_url"},
		{"bad api version", func(c *Config) { c.APIVersion = "v2" }, "intune.api_version"},
		{"bad beta version", func(c *Config) { c.BetaVersion = "../x" }, "intune.beta_version"},
		{"zero timeout", func(c *Config) { c.Timeout = -time.Second }, "intune.request_timeout"},
		{"too many attempts", func(c *Config) { c.MaxAttempts = 11 }, "intune.max_attempts"},
		{"no backoff", func(c *Config) { c.MaxBackoff = -1 }, "intune.max_backoff"},
		{"huge skew", func(c *Config) { c.ClockSkew = time.Hour }, "intune.clock_skew"},
		{"unknown lookup", func(c *Config) { c.UserLookup = "mail" }, "intune.user_lookup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantKey == "" && err != nil:
				t.Fatalf("Validate() = %v; want nil", err)
			case tt.wantKey != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantKey+": ")):
				t.Fatalf("Validate() = %v; want an error starting with %q", err, tt.wantKey)
			}
			if err != nil && strings.Contains(err.Error(), "s3cr3t-value") {
				t.Fatalf("error %q shows the secret", err)
			}
		})
	}
}

func TestConfigYAMLAndEnv(t *testing.T) {
	raw := `
tenant_id: from-file.example
client_id: file-client
client_secret: must-be-ignored
graph_url: https://graph.microsoft.us/
request_timeout: 7s
max_backoff: 1m
user_lookup: directory
`
	var c Config
	if err := yaml.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatal(err)
	}
	if c.ClientSecret != "" {
		t.Fatalf("the secret was read from the file")
	}
	c = c.WithDefaults()
	env := map[string]string{EnvClientID: "env-client", EnvClientSecret: "env-secret"}
	c.ApplyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	want := Config{
		TenantID: "from-file.example", ClientID: "env-client", ClientSecret: "env-secret",
		GraphURL: "https://graph.microsoft.us", LoginURL: "https://login.microsoftonline.com",
		APIVersion: "v1.0", BetaVersion: "beta", Timeout: 7 * time.Second, MaxAttempts: 4,
		MaxBackoff: time.Minute, ClockSkew: 2 * time.Minute, UserLookup: LookupDirectory,
	}
	if c != want {
		t.Fatalf("config = %+v\nwant     %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{c.String(), fmt.Sprintf("%v", c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c)} {
		if strings.Contains(s, "env-secret") {
			t.Errorf("formatted config %q shows the secret", s)
		}
	}
}

// fromEnv is what the wiring does: defaults, then the environment's credentials, then Validate.
func fromEnv() (Config, error) {
	c := Config{}.WithDefaults()
	c.ApplyEnv(os.LookupEnv)
	return c, c.Validate()
}

func TestConfigFromTheEnvironment(t *testing.T) {
	t.Setenv(EnvTenantID, "tenant.example")
	t.Setenv(EnvClientID, "client")
	t.Setenv(EnvClientSecret, "secret")
	c, err := fromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.TenantID != "tenant.example" || c.ClientID != "client" || c.ClientSecret != "secret" || c.GraphURL != "https://graph.microsoft.com" {
		t.Fatalf("config from the environment = %v", c)
	}
	t.Setenv(EnvClientSecret, "")
	if _, err := fromEnv(); err == nil || !strings.HasPrefix(err.Error(), "intune.client_secret: ") {
		t.Fatalf("config from the environment without secret = %v; want intune.client_secret error", err)
	}
}
