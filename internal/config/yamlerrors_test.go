package config_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/internal/config"
)

// TestYAMLErrorsNameTheKeyPath: a type error or an unknown key is reported by its
// key path in the file's words, never as a Go type.
func TestYAMLErrorsNameTheKeyPath(t *testing.T) {
	tests := []struct{ body, want string }{
		{"reset:\n  window: soon\n", `reset.window: "soon" is not a duration`},
		{"reset: {window: soon}\n", `reset.window: "soon" is not a duration`},
		{"reset:\n  max_per_day: many\n", `reset.max_per_day: "many" is not a whole number`},
		{"http:\n  pprof: maybe\n", `http.pprof: "maybe" is not true or false`},
		{"chat: shell\n", `chat: "shell" is not a list`},
		{"reset:\n  windw: 5m\n", "reset.windw: unknown key"},
		{"slack:\n  mode: socket\n  helpdesk: C1\n", "slack.helpdesk: unknown key"},
		{"rules:\n  - {name: a, modes: [ios], decision: allow, outcome: passcode_removed, owner: company}\n  - {name: b, decsion: allow}\n", "rules[1].decsion: unknown key"},
		{"reset: [1, 2]\n", "reset: a list is not a section of keys"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			_, err := config.Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse(%q) = %v; want %q", tt.body, err, tt.want)
			}
			for _, goType := range []string{"time.Duration", "struct {", "[]string", "resetflow.", "config.Config"} {
				if strings.Contains(err.Error(), goType) {
					t.Errorf("error names a Go type %q: %v", goType, err)
				}
			}
		})
	}
}

// TestEveryErrorAtOnce: a file with several mistakes reports all of them, each with its key.
func TestEveryErrorAtOnce(t *testing.T) {
	body := `
locale: fr
reset:
  window: 30s
  max_per_day: lots
  poll_frist: 1s
log: {format: xml}
rules:
  - {name: ios-android, modes: [ios], decision: allow, outcome: android_temporary}
`
	_, err := config.Parse([]byte(body))
	if err == nil {
		t.Fatal("bad config accepted")
	}
	want := []string{"locale:", "reset.window:", "reset.max_per_day:", "reset.poll_frist: unknown key", "log.format:",
		"rules[0].outcome: android_temporary cannot apply to mode ios"}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not report %q:\n%v", w, err)
		}
	}
	var es config.Errors
	if !errors.As(err, &es) || len(es) != len(want) {
		t.Errorf("want %d problems, one per line; got %d:\n%v", len(want), len(es), err)
	}
	if !strings.Contains(err.Error(), "6 problems:") {
		t.Errorf("no count: %v", err)
	}
}

func TestHelpdeskName(t *testing.T) {
	c, err := config.Parse([]byte("helpdesk_name: {en: the IT Service Desk, ja: IT サービス デスク}\n"))
	if err != nil || c.HelpdeskName["en"] != "the IT Service Desk" || c.HelpdeskName["ja"] != "IT サービス デスク" {
		t.Fatalf("helpdesk_name: %v %+v", err, c)
	}
	if _, err := config.Parse([]byte("helpdesk_name: {fr: le support}\n")); err == nil || !strings.Contains(err.Error(), "helpdesk_name.fr") {
		t.Errorf("unknown language accepted: %v", err)
	}
}
