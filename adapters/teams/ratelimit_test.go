package teams_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/adapters/teams"
	"github.com/passcodebot/passcodebot/internal/ratelimit"
	"github.com/passcodebot/passcodebot/resetflow"
)

// TestHelpdeskRateLimitIsTheSharedError: a 429 on the helpdesk channel comes
// back as the one rate-limit error of the chat adapters, with Teams' wait,
// wrapping the Connector's answer.
func TestHelpdeskRateLimitIsTheSharedError(t *testing.T) {
	h := newHarness(t)
	h.fake.Throttle(h.helpdesk, 9*time.Second)
	err := h.adapter.PostAlerts(context.Background(), []resetflow.Alert{{ID: "r", Kind: resetflow.AlertResetFailed, Time: h.clk.Now()}})
	var rl *ratelimit.Error
	if !errors.As(err, &rl) || rl.After != 9*time.Second {
		t.Fatalf("PostAlerts = %#v; want a *ratelimit.Error waiting 9s", err)
	}
	var api *teams.APIError
	if !errors.As(err, &api) || api.Status != 429 || api.Op != "send" {
		t.Errorf("the rate-limit error wraps %#v; want the Connector's 429 on send", api)
	}
	if got, want := err.Error(), "teams: rate limited, retry after 9s"; got != want {
		t.Errorf("message %q; want %q", got, want)
	}
}
