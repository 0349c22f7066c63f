package app

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/catalog"
)

func TestDiscordNeedsItsToken(t *testing.T) {
	cfg := writeConfig(t, "chat: [discord]\ninsecure_demo_signin_with_real_chat: true\n")
	var stdout, stderr syncBuffer
	code := Main(t.Context(), []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	if code != ExitConfig || !strings.Contains(stderr.String(), discord.EnvToken) {
		t.Errorf("exit %d, stderr %q; want %d naming %s", code, stderr.String(), ExitConfig, discord.EnvToken)
	}
}

func TestDiscordConfigErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"discord: {api_url: ftp://x}", "discord.api_url:"},
		{"discord: {helpdesk_channel_id: general}", "discord.helpdesk_channel_id:"},
		{"discord: {links_preload: /nonexistent/preload.csv}", "discord.links_preload:"},
	} {
		cfg := writeConfig(t, "chat: [discord]\ninsecure_demo_signin_with_real_chat: true\n"+tc.body+"\n")
		var stdout, stderr syncBuffer
		code := Main(t.Context(), []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "token" })
		if code != ExitConfig || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d naming %s", tc.body, code, stderr.String(), ExitConfig, tc.want)
		}
	}
}

// TestDiscordWired: the program with chat: discord against a fake Discord: the
// token from the environment, the REST URL from the config, the account links
// (preloaded from a CSV) in the database, and a conversation.
func TestDiscordWired(t *testing.T) {
	f := discordtest.New(t, discordtest.Options{})
	helpdesk := f.AddGuildChannel("1190000000000000001")
	bob := f.NewUser("bob")
	dir := t.TempDir()
	preload := filepath.Join(dir, "preload.csv")
	if err := os.WriteFile(preload, []byte("discord_user_id,upn\n"+bob.ID+",bob@contoso.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, fmt.Sprintf(`chat: [discord]
insecure_demo_signin_with_real_chat: true
discord:
  api_url: %s
  application_id: "%s"
  helpdesk_channel_id: "%s"
  links_preload: %s
`, f.APIURL(), f.AppID(), helpdesk, preload))
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(k string) string {
			if k == discord.EnvToken {
				return f.Token()
			}
			return ""
		})
	}()
	f.WaitReady(t)
	cat := catalog.MustNew("en")

	// Bob is linked by the preload: his devices, at once.
	f.UserSays(bob, "reset")
	f.WaitFor(t, "bob's device list", func() bool {
		for _, m := range f.Messages(f.DMChannel(bob.ID)) {
			if m.Button("1. Bob's Galaxy S9") != nil {
				return true
			}
		}
		return false
	})
	// Alice is not: she is asked to sign in to link her account.
	alice := f.NewUser("alice")
	f.UserSays(alice, "reset")
	want := cat.T("en", "link_needed", map[string]any{"Until": "", "Minutes": 5})
	want = want[:strings.Index(want, "This link")]
	f.WaitFor(t, "alice asked to link", func() bool {
		for _, m := range f.Messages(f.DMChannel(alice.ID)) {
			if strings.Contains(m.Content, want) {
				return true
			}
		}
		return false
	})
	if !strings.Contains(stderr.String(), "client_id="+f.AppID()) || !strings.Contains(stderr.String(), "permissions=84992") {
		t.Errorf("no invite link in the log:\n%s", stderr.String())
	}
	if strings.Contains(stderr.String(), f.Token()) {
		t.Error("the bot token is in the log")
	}
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Errorf("exit %d; want 0\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program did not stop")
	}
}

// TestSlackAndDiscordTogether: both chats in one process, each against its
// own fake, both answering, and /healthz reporting both healthy.
func TestSlackAndDiscordTogether(t *testing.T) {
	fs := slacktest.New(slacktest.Options{})
	t.Cleanup(fs.Close)
	fs.AddUser(slacktest.User{ID: "UALICE", Name: "alice", Email: "alice@contoso.example", Locale: "en-US"})
	fs.AddChannel(slacktest.Channel{ID: "CHELP", Name: "helpdesk"})
	fd := discordtest.New(t, discordtest.Options{})
	dhelp := fd.AddGuildChannel("1190000000000000001")
	bob := fd.NewUser("bob")
	cfg := writeConfig(t, fmt.Sprintf(`chat: [slack, discord]
insecure_demo_signin_with_real_chat: true
slack: {mode: socket, api_url: %s, helpdesk_channel: CHELP}
discord: {api_url: %s, helpdesk_channel_id: "%s"}
`, fs.APIURL(), fd.APIURL(), dhelp))
	env := map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken, discord.EnvToken: fd.Token()}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the program did not stop")
		}
		if t.Failed() {
			t.Logf("program log:\n%s", stderr.String())
		}
	})
	wctx, wcancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer wcancel()
	if err := fs.WaitConnections(wctx, 1); err != nil {
		t.Fatal(err)
	}
	fd.WaitReady(t)

	if err := fs.Deliver(fs.DM("UALICE", "reset")); err != nil {
		t.Fatal(err)
	}
	fd.UserSays(bob, "reset")
	if _, err := fs.WaitMessage(wctx, slacktest.IM("UALICE"), func(m slacktest.Message) bool { return strings.Contains(m.Texts(), "Alice's iPhone") }); err != nil {
		t.Fatal("slack did not answer:", err)
	}
	cat := catalog.MustNew("en")
	linkNeeded := cat.T("en", "link_needed", map[string]any{"Until": "", "Minutes": 5})
	linkNeeded = linkNeeded[:strings.Index(linkNeeded, "This link")]
	fd.WaitFor(t, "discord asking bob to link his account", func() bool {
		for _, m := range fd.Messages(fd.DMChannel(bob.ID)) {
			if strings.Contains(m.Content, linkNeeded) {
				return true
			}
		}
		return false
	})
	addr := regexp.MustCompile(`passcodebot starting.* http=(\S+)`).FindStringSubmatch(stderr.String())
	if addr == nil {
		t.Fatalf("no listen address in the log")
	}
	res, err := http.Get("http://" + addr[1] + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d with both chats connected", res.StatusCode)
	}
}
