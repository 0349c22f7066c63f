package config_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/cmd/passcodebot/config"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestExampleIsTheDefault: config.example.yaml runs as is and spells out the engine's default rules.
func TestExampleIsTheDefault(t *testing.T) {
	c, err := config.Default()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Rules, resetflow.DefaultRules()) {
		t.Errorf("config.example.yaml rules differ from resetflow.DefaultRules():\n%+v\n%+v", c.Rules, resetflow.DefaultRules())
	}
	if c.Reset.Window != 5*time.Minute || c.Reset.MaxPerDay != 3 || c.Chat[0] != "shell" || c.Devices != "fleet" || c.Reauth != "local" {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestOverrides(t *testing.T) {
	c, err := config.Parse([]byte("locale: ja\nreset: {max_per_day: 5}\nrules:\n  - {name: all, decision: contact_support}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Locale != "ja" || c.Reset.MaxPerDay != 5 {
		t.Errorf("overrides not applied: %s %d", c.Locale, c.Reset.MaxPerDay)
	}
	if c.Reset.Window != 5*time.Minute {
		t.Errorf("a key left out lost its default: %v", c.Reset.Window)
	}
	if len(c.Rules) != 1 || c.Rules[0].Name != "all" {
		t.Errorf("rules not replaced: %+v", c.Rules)
	}
	if _, err := config.Parse(nil); err != nil {
		t.Errorf("empty file: %v", err)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct{ body, key string }{
		{"chat: []\n", "chat"},
		{"chat: [shell, shell]\n", "chat[1]"},
		{"devices: jamf\n", "devices"},
		{"reauth: saml\n", "reauth"},
		{"chat: [discord]\n", "reauth"},
		{"timezone: Mars/Olympus\n", "timezone"},
		{"http: {public_url: 'ftp://x'}\n", "http.public_url"},
		{"log: {format: xml}\n", "log.format"},
		{"reset: {window: 30s}\n", "reset.window"},
		{"reset: {match_by: email}\n", "reset.match_by"},
		{"reset: {poll_first: 1m, poll_max: 10s}\n", "poll_first"},
		{"rules: []\n", "rules"},
		{"rules:\n  - {name: x, modes: [symbian], decision: allow, outcome: android_temporary}\n", "rules[0].modes"},
		{"reset: {windw: 5m}\n", "windw"},
		{"http: {pprof: true}\n", "http.pprof"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.key) {
				t.Errorf("Parse(%q) = %v; want an error naming %s", tt.body, err, tt.key)
			}
		})
	}
	if _, err := config.Parse([]byte("chat: [slack]\nslack: {helpdesk_channel: C0123456789}\nreauth: local\ninsecure_demo_signin_with_real_chat: true\n")); err != nil {
		t.Errorf("the loudly named option does not allow the demo sign-in: %v", err)
	}
}
