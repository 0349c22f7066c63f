package slack_test

import (
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/adapters/slack/slacktest"
)

// TestProgressIsOneMessageUpdated: after "Reset passcode" the progress is one
// message that chat.update moves to its final state, not a stream of posts.
func TestProgressIsOneMessageUpdated(t *testing.T) {
	e := start(t, options{})
	warning := e.resetUntilWarning(nil)
	e.confirm(warning)
	e.finishReset()
	im := slacktest.IM(alice)
	final := e.WaitMessage(im, "final progress", slacktest.HasText("done after"))
	var progress []slacktest.Message
	for _, m := range e.fs.Messages(im) {
		if strings.Contains(m.Text+m.Texts(), "Passcode reset of") || strings.Contains(m.Text+m.Texts(), "Resetting the passcode of") {
			progress = append(progress, m)
		}
	}
	if len(progress) != 1 || progress[0].TS != final.TS {
		t.Fatalf("%d progress messages; want one updated in place: %+v", len(progress), progress)
	}
	if final.Updates < 1 {
		t.Errorf("progress message updated %d times; want the final state at least", final.Updates)
	}
	if !strings.Contains(final.Texts()+final.Text, "Passcode reset of Alice's Pixel 8: done after 0:0") {
		t.Errorf("final progress %q", final.Text)
	}
}
