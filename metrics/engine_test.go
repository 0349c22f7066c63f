package metrics

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// TestCountsTheEnginesSteps: the counters follow the engine's own audit
// events, named by resetflow's Step constants: a whole reset through the
// engine counts one sign-in "ok" and one reset "done".
func TestCountsTheEnginesSteps(t *testing.T) {
	ctx := context.Background()
	m := New(nil, nil)
	k := resetflowtest.Start(t, resetflowtest.WithShell("alice@contoso.example"),
		resetflowtest.WithDeps(func(d *resetflow.Deps) { d.Recorder = m.Recorder(d.Recorder) }))
	sh := k.Shell
	sh.Type(t, "reset")
	sh.Wait(t, regexp.MustCompile(`\[2\] Alice's Pixel 8`))
	sh.Type(t, "2")
	link := sh.Wait(t, regexp.MustCompile(`http://bot\.test/r/([A-Za-z0-9_-]+)(?:\s|$)`))
	u, _ := k.Fleet.LookupUser(ctx, "alice@contoso.example")
	if r := k.Engine.CompleteSignIn(ctx, link[1], resetflow.Identity{Subject: u.ID, UPN: u.UPN, AuthTime: k.Clock.Now()}); r.Status != resetflow.SignInOK {
		t.Fatalf("sign-in %v", r.Status)
	}
	reset := sh.Wait(t, regexp.MustCompile(`\[(\d)\] `+regexp.QuoteMeta(k.Catalog.T("en", "button_reset"))))
	sh.Type(t, reset[1])
	sh.WaitAdvancing(t, k.Clock, regexp.MustCompile(`was reset successfully`))

	var platform string
	for _, e := range k.Audit.Events() {
		if resetflow.Step(e.Step) == resetflow.StepResult {
			platform = e.Platform
		}
	}
	if platform == "" {
		t.Fatalf("no %s event in the audit trail: %v", resetflow.StepResult, k.Audit.Steps())
	}
	out := scrape(t, m)
	for _, want := range []string{
		`passcodebot_reauth_total{outcome="ok"} 1`,
		`passcodebot_resets_total{platform="` + platform + `",result="done"} 1`,
		`passcodebot_conversation_steps_total{outcome="sent",step="reset_requested"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestCountsAFailedRequestAsBackendError: a reset request the device service
// refused (StepResetRequested, OutcomeError) is a finished reset with the
// result "backend_error".
func TestCountsAFailedRequestAsBackendError(t *testing.T) {
	m := New(nil, nil)
	m.Recorder(nopRec{}).Record(context.Background(), resetflow.Event{Step: string(resetflow.StepResetRequested), Outcome: resetflow.OutcomeError, Platform: "slack"})
	if out := scrape(t, m); !strings.Contains(out, `passcodebot_resets_total{platform="slack",result="backend_error"} 1`) {
		t.Errorf("no backend_error reset counted:\n%s", out)
	}
}
