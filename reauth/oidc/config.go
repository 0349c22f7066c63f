package oidc

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the `oidc:` section of the configuration file. The client id and
// secret are not here: they come from the environment.
type Config struct {
	// Issuer is the provider's issuer URL, exactly as its discovery document
	// says; for Entra ID https://login.microsoftonline.com/{tenant id}/v2.0.
	Issuer string `yaml:"issuer"`
	// UserClaim names the claim that identifies the person: oid (Entra's object
	// id, which is the device's userId) or sub.
	UserClaim string `yaml:"user_claim"`
	// Scopes asked for; openid is required, profile brings oid and preferred_username.
	Scopes []string `yaml:"scopes"`
	// HTTPTimeout bounds each call to the provider (discovery, keys, token).
	HTTPTimeout time.Duration `yaml:"http_timeout"`
}

// Defaults of the fields left empty.
const (
	DefaultUserClaim   = "oid"
	DefaultHTTPTimeout = 10 * time.Second
)

// DefaultScopes are asked for when Scopes is empty.
var DefaultScopes = []string{"openid", "profile"}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.UserClaim == "" {
		c.UserClaim = DefaultUserClaim
	}
	if len(c.Scopes) == 0 {
		c.Scopes = slices.Clone(DefaultScopes)
	}
	if c.HTTPTimeout == 0 {
		c.HTTPTimeout = DefaultHTTPTimeout
	}
	return c
}

// Validate checks the section. Errors name the key, as `oidc.issuer: ...`.
// Empty fields take their defaults and are not errors, except the issuer.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if strings.TrimSpace(c.Issuer) == "" {
		return errors.New("oidc.issuer: needed with reauth: oidc (Entra ID: https://login.microsoftonline.com/<tenant id>/v2.0)")
	}
	u, err := url.Parse(c.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return fmt.Errorf("oidc.issuer: %q is not an https URL", c.Issuer)
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return fmt.Errorf("oidc.issuer: %q must be https (http only on loopback, for tests)", c.Issuer)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("oidc.issuer: %q must have no query, fragment or user info", c.Issuer)
	}
	if strings.HasSuffix(u.Path, "/.well-known/openid-configuration") {
		return fmt.Errorf("oidc.issuer: %q is the discovery document; give the issuer, without /.well-known/openid-configuration", c.Issuer)
	}
	switch c.UserClaim {
	case "oid", "sub":
	default:
		return fmt.Errorf("oidc.user_claim: %q is not oid or sub", c.UserClaim)
	}
	if !slices.Contains(c.Scopes, "openid") {
		return fmt.Errorf("oidc.scopes: %v must contain openid", c.Scopes)
	}
	for i, s := range c.Scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return fmt.Errorf("oidc.scopes[%d]: %q is not a scope", i, s)
		}
	}
	if c.HTTPTimeout < time.Second || c.HTTPTimeout > time.Minute {
		return fmt.Errorf("oidc.http_timeout: %v must be between 1s and 1m", c.HTTPTimeout)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// origin is scheme://host[:port] of an absolute URL.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
