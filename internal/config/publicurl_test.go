package config_test

import (
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/internal/config"
)

// TestOIDCNeedsHTTPSPublicURL: with reauth: oidc the bot refuses to start when
// its links would be plain http on the network: no public_url and a listener
// that is not loopback, or an http public_url on a non-loopback host. Loopback
// (a developer's machine, a reverse proxy on the same host) and https start.
func TestOIDCNeedsHTTPSPublicURL(t *testing.T) {
	const oidc = "reauth: oidc\noidc: {issuer: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0'}\n"
	for _, tc := range []struct {
		http string
		want string // the key the error names; empty: starts
	}{
		{"{listen: '0.0.0.0:8080'}", "http.public_url"},
		{"{listen: ':8080'}", "http.public_url"},
		{"{listen: '10.0.0.5:8080'}", "http.public_url"},
		{"{listen: 'bot.internal:8080'}", "http.public_url"},
		{"{listen: '[::]:8443'}", "http.public_url"},
		{"{listen: '0.0.0.0:8080', public_url: 'http://bot.contoso.example'}", "http.public_url"},
		{"{listen: '127.0.0.1:8080'}", ""},
		{"{listen: 'localhost:8080'}", ""},
		{"{listen: '[::1]:8080'}", ""},
		{"{listen: '0.0.0.0:8080', public_url: 'https://bot.contoso.example'}", ""},
		{"{listen: '0.0.0.0:8080', public_url: 'http://127.0.0.1:8080'}", ""},
	} {
		_, err := config.Parse([]byte(oidc + "http: " + tc.http + "\n"))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("http: %s: %v; want it to start", tc.http, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("http: %s: %v; want an error naming %s", tc.http, err, tc.want)
		}
	}
	// The demo sign-in is not concerned.
	if _, err := config.Parse([]byte("http: {listen: '0.0.0.0:8080'}\n")); err != nil {
		t.Errorf("reauth: local on 0.0.0.0: %v", err)
	}
}
