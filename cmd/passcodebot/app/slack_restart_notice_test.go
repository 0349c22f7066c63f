package app_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// TestProgramTellsPeopleItRestarted: one process on SQLite stops (or crashes)
// while alice is at her device list; the next start tells her the bot
// restarted and how to go on, once, and records it.
func TestProgramTellsPeopleItRestarted(t *testing.T) {
	fs := newFake(t)
	dbPath := filepath.Join(t.TempDir(), "audit.db")
	db, err := sqlite.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	// What the stopped run left: alice's conversation, open.
	if err := db.ConversationOpened(context.Background(), "f-left", resetflow.Address{Platform: "slack", UserID: alice, Channel: slacktest.IM(alice)}, "ja", time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	env := map[string]string{"PASSCODEBOT_SLACK_BOT_TOKEN": fs.BotToken, "PASSCODEBOT_SLACK_APP_TOKEN": fs.AppToken}
	p := runProgramAt(t, fs, "socket", env, dbPath)
	notice := p.WaitMessage(slacktest.IM(alice), "restart notice", slacktest.HasText("ボットが再起動したため"))
	if a := notice.Action("pcb_button_0"); a.Text != "最初からやり直す" {
		t.Errorf("start-again button: %+v", a)
	}
	p.stop()
	p.code <- <-p.code
	// A second start has nobody to tell.
	p2 := runProgramAt(t, fs, "socket", env, dbPath)
	if err := fs.WaitConnections(p2.ctx, 1); err != nil {
		t.Fatal(err)
	}
	p2.stop()
	p2.code <- <-p2.code
	n := 0
	for _, m := range fs.Messages(slacktest.IM(alice)) {
		if slacktest.HasText("ボットが再起動したため")(m) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d restart notices, want 1", n)
	}
	db, _ = sqlite.Open(context.Background(), dbPath)
	defer db.Close()
	if evs, _ := db.Events(context.Background(), sqlite.Filter{Step: "restarted"}); len(evs) != 1 || evs[0].Outcome != "told" || evs[0].Flow != "f-left" {
		t.Errorf("audit: %+v", evs)
	}
}
