package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/discord"
	"github.com/passcodebot/passcodebot/adapters/discord/discordtest"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/adapters/teams/teamstest"
	"github.com/passcodebot/passcodebot/bot"
	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

const teamsConfig = "chat: [teams]\ninsecure_demo_signin_with_real_chat: true\nteams: {app_id: 00000000-0000-4000-8000-00000000b07a, tenant_id: 72f988bf-0000-4000-8000-00000000c0de}\n"

func TestTeamsNeedsItsPassword(t *testing.T) {
	cfg := writeConfig(t, teamsConfig)
	var stdout, stderr syncBuffer
	code := Main(t.Context(), []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "" })
	if code != ExitConfig || !strings.Contains(stderr.String(), teams.PasswordEnv) {
		t.Errorf("exit %d, stderr %q; want %d naming %s", code, stderr.String(), ExitConfig, teams.PasswordEnv)
	}
}

func TestTeamsConfigErrors(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{"chat: [teams]\ninsecure_demo_signin_with_real_chat: true\n", "teams.app_id:"},
		{"chat: [teams]\ninsecure_demo_signin_with_real_chat: true\nteams: {app_id: 00000000-0000-4000-8000-00000000b07a}\n", "teams.tenant_id:"},
		{"chat: [teams]\ninsecure_demo_signin_with_real_chat: true\nteams: {app_id: 00000000-0000-4000-8000-00000000b07a, tenant_id: 72f988bf-0000-4000-8000-00000000c0de, service_url: ftp://x}\n", "teams.service_url:"},
		{"chat: [teams]\ninsecure_demo_signin_with_real_chat: true\nteams: {app_id: 00000000-0000-4000-8000-00000000b07a, tenant_id: 72f988bf-0000-4000-8000-00000000c0de, helpdesk_conversation_id: general}\n", "teams.helpdesk_conversation_id:"},
		{"chat: [teams]\nteams: {app_id: 00000000-0000-4000-8000-00000000b07a, tenant_id: 72f988bf-0000-4000-8000-00000000c0de}\n", "reauth: local"},
	} {
		cfg := writeConfig(t, tc.body)
		var stdout, stderr syncBuffer
		code := Main(t.Context(), []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(string) string { return "secret" })
		if code != ExitConfig || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d naming %s", tc.body, code, stderr.String(), ExitConfig, tc.want)
		}
	}
}

// TestSlackDiscordAndTeamsTogether: the three chats in one process, each
// against its own fake, all answering; Teams on the bot's own HTTP server,
// its token checked against the fake's keys, its app token from the fake's
// tenant endpoint, and the app password in no log line.
func TestSlackDiscordAndTeamsTogether(t *testing.T) {
	fs := slacktest.New(slacktest.Options{})
	t.Cleanup(fs.Close)
	fs.AddUser(slacktest.User{ID: "UALICE", Name: "alice", Email: "alice@contoso.example", Locale: "en-US"})
	fs.AddChannel(slacktest.Channel{ID: "CHELP", Name: "helpdesk"})
	fd := discordtest.New(t, discordtest.Options{})
	dhelp := fd.AddGuildChannel("1190000000000000001")
	bob := fd.NewUser("bob")
	ft := teamstest.New(t, teamstest.Options{})
	thelp := ft.AddChannel("helpdesk")
	dave := ft.AddUser(teamstest.User{AADObjectID: "8f1c2a6e-0004-4c1a-9a11-da7e00000004", UPN: "dave@contoso.example"})

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := writeConfig(t, fmt.Sprintf(`chat: [slack, discord, teams]
insecure_demo_signin_with_real_chat: true
slack: {mode: socket, api_url: %s, helpdesk_channel: CHELP}
discord: {api_url: %s, helpdesk_channel_id: "%s"}
teams:
  app_id: %s
  tenant_id: %s
  helpdesk_conversation_id: "%s"
  service_url: %s
  openid_metadata_url: %s
  token_url: %s
`, fs.APIURL(), fd.APIURL(), dhelp, ft.AppID(), ft.TenantID(), thelp, ft.ServiceURL(), ft.MetadataURL(), ft.TokenURL()))
	env := map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken,
		discord.EnvToken: fd.Token(), teams.PasswordEnv: ft.AppPassword()}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-listen", addr, "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
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
	ft.SetEndpoint("http://" + addr + teams.DefaultPath)

	if err := fs.Deliver(fs.DM("UALICE", "reset")); err != nil {
		t.Fatal(err)
	}
	fd.UserSays(bob, "reset")
	// The Teams endpoint answers once the program's HTTP server and the adapter run.
	for deadline := time.Now().Add(20 * time.Second); ; {
		res, err := ft.Say(dave, "reset")
		if err == nil && res.Status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Teams endpoint never took an activity: %+v %v", res, err)
		}
		<-time.After(20 * time.Millisecond) // waiting for the server to start, not for time to pass
	}
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
	t.Cleanup(func() {
		if t.Failed() {
			for _, m := range ft.Messages(ft.PersonalChat(dave)) {
				t.Logf("teams message: %q %q", m.Texts(), m.Actions())
			}
		}
	})
	ft.WaitFor(t, "teams listing dave's devices", func() bool {
		for _, m := range ft.Messages(ft.PersonalChat(dave)) {
			if _, titles, _ := m.ChoiceSet(); len(titles) > 0 && titles[0] == "1. Dave's Surface Pro" {
				return true
			}
		}
		return false
	})
	if ft.TokenRequests() == 0 {
		t.Error("no app token was asked for")
	}
	if strings.Contains(stderr.String(), ft.AppPassword()) {
		t.Error("the Teams app password is in the log")
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz = %d with the three chats connected", res.StatusCode)
	}
}

// The Teams adapter's optional capabilities, by their names in bot: without
// Restorer the program would silently skip the passcodes a crash left.
var (
	_ bot.Restorer           = (*teams.Adapter)(nil)
	_ bot.HelpdeskConfigurer = (*teams.Adapter)(nil)
	_ bot.AlertPoster        = (*teams.Adapter)(nil)
	_ bot.AlertCapacity      = (*teams.Adapter)(nil)
)

// TestTeamsRemovesPasscodesLeftByACrash: a run posts a passcode in Teams and
// crashes (never stops); the wiring's ledger has recorded it in SQLite. The
// next run hands it to the Teams adapter at start, which replaces it at once
// (it is overdue), and the ledger forgets it.
func TestTeamsRemovesPasscodesLeftByACrash(t *testing.T) {
	ft := teamstest.New(t, teamstest.Options{})
	dave := ft.AddUser(teamstest.User{AADObjectID: "8f1c2a6e-0004-4c1a-9a11-da7e00000004", UPN: "dave@contoso.example"})
	dbPath := filepath.Join(t.TempDir(), "audit.db")
	sdb, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	var db store = sdb
	cat := catalog.MustNew("en")
	crashed, err := teams.New(teams.Config{AppID: ft.AppID(), AppPassword: ft.AppPassword(), TenantID: ft.TenantID(),
		ServiceURL: ft.ServiceURL(), MetadataURL: ft.MetadataURL(), TokenURL: ft.TokenURL(), Catalog: cat,
		Clock: clock.NewFake(time.Now().Add(-time.Hour)), Ledger: secretLedger{db: &db, platform: teams.Platform}})
	if err != nil {
		t.Fatal(err)
	}
	pass := resetflow.Message{Text: "Your passcode", Locale: "en", Secret: resetflow.NewSecret(cat.T("en", "passcode_label"), "L3FT0V3R")}
	if err := crashed.Send(context.Background(), resetflow.Address{Platform: teams.Platform, UserID: dave.AADObjectID}, pass); err != nil {
		t.Fatal(err)
	}
	conv := ft.PersonalChat(dave)
	var left teamstest.Message
	for _, m := range ft.Messages(conv) {
		if strings.Contains(m.Texts(), "L3FT0V3R") {
			left = m
		}
	}
	if shown, err := db.SecretsShown(context.Background(), teams.Platform); err != nil || len(shown) != 1 || shown[0].MessageID != left.ID || left.ID == "" {
		t.Fatalf("ledger after the crashed run's passcode: %+v, %v; want its message %q", shown, err, left.ID)
	}
	db.Close()

	cfg := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("chat: [teams]\ninsecure_demo_signin_with_real_chat: true\naudit: {file: '%s'}\nteams: {app_id: %s, tenant_id: %s, service_url: '%s', openid_metadata_url: '%s', token_url: '%s'}\n",
		dbPath, ft.AppID(), ft.TenantID(), ft.ServiceURL(), ft.MetadataURL(), ft.TokenURL())
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"-listen", "127.0.0.1:0", "-config", cfg}, strings.NewReader(""), &stdout, &stderr, func(k string) string {
			return map[string]string{teams.PasswordEnv: ft.AppPassword()}[k]
		})
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("the program did not stop")
		}
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("program log:\n%s", stderr.String())
		}
	})
	ft.WaitFor(t, "the left-over passcode replaced", func() bool {
		for _, m := range ft.Messages(conv) {
			if m.ID == left.ID {
				return !strings.Contains(m.Texts(), "L3FT0V3R") && strings.Contains(m.Texts(), cat.T("en", "removed_for_safety"))
			}
		}
		return false
	})
	db, err = sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	WaitNoSecretsShown(t, db, teams.Platform)
	stop()
	if still, err := db.SecretsShown(context.Background(), teams.Platform); err != nil || len(still) != 0 {
		t.Errorf("still in the ledger after the removal: %+v, %v", still, err)
	}
	if strings.Contains(stderr.String(), "L3FT0V3R") {
		t.Error("the passcode is in the program's log")
	}
}
