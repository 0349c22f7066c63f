package slack_test

import (
	"os"
	"slices"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestManifest(t *testing.T) {
	raw, err := os.ReadFile("manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Features struct {
			AppHome struct {
				HomeTab             bool `yaml:"home_tab_enabled"`
				MessagesTab         bool `yaml:"messages_tab_enabled"`
				MessagesTabReadOnly bool `yaml:"messages_tab_read_only_enabled"`
			} `yaml:"app_home"`
			SlashCommands []struct {
				Command string `yaml:"command"`
			} `yaml:"slash_commands"`
		} `yaml:"features"`
		OAuth struct {
			Scopes struct {
				Bot []string `yaml:"bot"`
			} `yaml:"scopes"`
		} `yaml:"oauth_config"`
		Settings struct {
			Events struct {
				BotEvents []string `yaml:"bot_events"`
			} `yaml:"event_subscriptions"`
			Interactivity struct {
				Enabled bool `yaml:"is_enabled"`
			} `yaml:"interactivity"`
			SocketMode bool `yaml:"socket_mode_enabled"`
		} `yaml:"settings"`
	}
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"chat:write", "im:history", "im:write", "users:read", "users:read.email", "commands"} {
		if !slices.Contains(m.OAuth.Scopes.Bot, s) {
			t.Errorf("scope %s missing", s)
		}
	}
	if !slices.Contains(m.Settings.Events.BotEvents, "message.im") {
		t.Error("message.im not subscribed")
	}
	if !slices.Contains(m.Settings.Events.BotEvents, "app_home_opened") || !m.Features.AppHome.HomeTab {
		t.Error("the Home tab needs home_tab_enabled and the app_home_opened event")
	}
	if !m.Settings.Interactivity.Enabled || !m.Settings.SocketMode {
		t.Error("interactivity and Socket Mode must be on")
	}
	if !m.Features.AppHome.MessagesTab || m.Features.AppHome.MessagesTabReadOnly {
		t.Error("the Messages tab must be on and writable")
	}
	if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/reset-passcode" {
		t.Errorf("slash commands %+v", m.Features.SlashCommands)
	}
}
