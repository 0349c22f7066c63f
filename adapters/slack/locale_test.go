package slack_test

import (
	"context"
	"strings"
	"testing"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
	"github.com/passcodebot/passcodebot/internal/onscreen"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestSecretInEngineLocale: a passcode message carries the engine's language
// (Message.Locale), and the adapter takes it over the person's Slack locale
// (alice's is en-US): the ledger records it and the passcode is replaced by
// the Japanese notice.
func TestSecretInEngineLocale(t *testing.T) {
	locs := make(chan string, 2)
	e := start(t, options{configure: func(c *slackadapter.Config) {
		c.Ledger = onscreen.LedgerFuncs{OnShown: func(it onscreen.Item) error { locs <- it.Locale; return nil }}
	}})
	pass := resetflow.Message{Text: "x", Locale: "ja", Secret: resetflow.NewSecret("一時パスコード", "Qw3rTy7u")}
	if err := e.adapter.Send(context.Background(), e.addr(alice), pass); err != nil {
		t.Fatal(err)
	}
	if loc := <-locs; loc != "ja" {
		t.Fatalf("ledger locale %q, want the engine's ja", loc)
	}
	msgs := e.fs.Messages(slacktest.IM(alice))
	sent := msgs[len(msgs)-1]
	e.clk.WaitForTimers(1)
	e.clk.Advance(10 * time.Minute)
	e.WaitMessage(sent.Channel, "the passcode replaced in Japanese", func(m slacktest.Message) bool {
		return m.TS == sent.TS && !strings.Contains(m.Texts(), "Qw3rTy7u") && strings.Contains(m.Texts(), "安全のため")
	})
}
