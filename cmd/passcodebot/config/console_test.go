package config

import (
	"strings"
	"testing"
	"time"
)

// TestConsoleSection: off by default; on, its keys are read and checked
// against the rest of the file, and errors name the key.
func TestConsoleSection(t *testing.T) {
	def, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	if def.Console.Enabled || def.Console.Listener != "public" || def.Console.IdleTimeout != 15*time.Minute {
		t.Errorf("default console section %+v", def.Console)
	}
	c, err := Parse([]byte("console: {enabled: true, allowed_roles: [Helpdesk.Console], idle_timeout: 5m}\n"))
	if err != nil || !c.Console.Enabled || c.Console.AllowedRoles[0] != "Helpdesk.Console" || c.Console.IdleTimeout != 5*time.Minute {
		t.Fatalf("%+v, %v", c.Console, err)
	}
	oidc := "reauth: oidc\noidc: {issuer: 'https://login.microsoftonline.com/11111111-2222-3333-4444-555555555555/v2.0'}\n"
	for body, want := range map[string]string{
		"console: {enabled: true, listener: admin}\n":              "console.listener: admin needs http.admin_listen",
		"console: {enabled: true, listener: side}\n":               "console.listener:",
		"console: {enabled: true, idle_timeout: 24h}\n":            "console.idle_timeout:",
		oidc + "console: {enabled: true}\n":                        "console.allowed_groups, console.allowed_roles:",
		"console: {enabled: true, redirect_uri: 'https://x/cb'}\n": "console.redirect_uri:",
		"console: {enabled: true, allowed_group: [x]}\n":           "allowed_group",
	} {
		if _, err := Parse([]byte(body)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v; want an error naming %s", body, err, want)
		}
	}
}
