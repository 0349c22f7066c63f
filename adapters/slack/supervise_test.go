package slack_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

func TestRefusedTokensStopTheAdapterLoudly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*slacktest.Server)
		code  string
	}{
		{"bot token invalid", func(fs *slacktest.Server) { fs.SetAuthError("invalid_auth") }, "invalid_auth"},
		{"bot token revoked", func(fs *slacktest.Server) { fs.SetAuthError("token_revoked") }, "token_revoked"},
		{"app token revoked", func(fs *slacktest.Server) { fs.FailConnectionsOpen(200, "token_revoked") }, "token_revoked"},
		{"account inactive", func(fs *slacktest.Server) { fs.FailConnectionsOpen(200, "account_inactive") }, "account_inactive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRecorder()
			e := start(t, options{handler: r, before: tc.setup, noWait: true})
			select {
			case <-e.done:
			case <-e.ctx.Done():
				t.Fatal("Run did not return")
			}
			if e.err == nil || !strings.Contains(e.err.Error(), tc.code) {
				t.Fatalf("Run = %v, want %s", e.err, tc.code)
			}
			if err := e.adapter.Healthy(); err == nil || !strings.Contains(err.Error(), tc.code) {
				t.Errorf("Healthy = %v", err)
			}
			for _, s := range []string{e.err.Error(), e.logs.String()} {
				if strings.Contains(s, e.fs.BotToken) || strings.Contains(s, e.fs.AppToken) {
					t.Errorf("a token leaked: %s", s)
				}
			}
			if !strings.Contains(e.logs.String(), "level=ERROR") {
				t.Error("not logged as an error")
			}
		})
	}
}

func TestSocketModeClientIsRestartedAfterItGivesUp(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r, noWait: true,
		before:    func(fs *slacktest.Server) { fs.FailConnectionsOpen(404, "") },
		configure: func(c *slackadapter.Config) { c.RestartBackoff = 10 * time.Minute; c.HealthGrace = 2 * time.Minute },
	})
	if _, err := e.fs.WaitCall(e.ctx, func(c slacktest.Call) bool { return c.Method == "apps.connections.open" && c.Status == 404 }); err != nil {
		t.Fatal(err)
	}
	e.clk.WaitForTimers(1) // the restart's backoff
	if err := e.adapter.Healthy(); err != nil {
		t.Errorf("unhealthy within the grace: %v", err)
	}
	e.clk.Advance(3 * time.Minute)
	if err := e.adapter.Healthy(); err == nil || !strings.Contains(err.Error(), "not connected") {
		t.Errorf("Healthy after 3 minutes down = %v", err)
	}
	if n := e.fs.Connections(); n != 0 {
		t.Fatalf("restarted before the backoff: %d connections", n)
	}
	e.clk.Advance(7 * time.Minute)
	if err := e.fs.WaitConnections(e.ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.Deliver(e.fs.DM(alice, "reset"))
	r.next(t)
	if err := e.adapter.Healthy(); err != nil {
		t.Errorf("Healthy after the restart = %v", err)
	}
}

func TestMissingScopesAreReported(t *testing.T) {
	r := newRecorder()
	e := start(t, options{handler: r})
	if strings.Contains(e.logs.String(), "lacks scopes") {
		t.Fatal("full scopes reported as missing")
	}
	fs := slacktest.New(slacktest.Options{Scopes: []string{"chat:write", "im:history", "im:write", "users:read", "commands"}})
	defer fs.Close()
	logs := &syncBuffer{}
	ad, err := slackadapter.New(slackadapter.Config{BotToken: fs.BotToken, AppToken: fs.AppToken, APIURL: fs.APIURL(), Catalog: e.cat, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { ad.Run(ctx, r); close(done) }()
	<-ad.Ready()
	cancel()
	<-done
	if !strings.Contains(logs.String(), "lacks scopes") || !strings.Contains(logs.String(), "missing=users:read.email") {
		t.Errorf("log:\n%s", logs.String())
	}
}
