package app

import (
	"context"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/sqlite"
)

// WaitNoSecretsShown waits until platform's ledger of passcode messages on
// screen is empty, read through db (a second handle on the program's file).
// A removed passcode's row goes once the edit has answered; a stop before
// that rightly leaves the row for the next start, so a test waits for it.
func WaitNoSecretsShown(t *testing.T, db interface {
	SecretsShown(ctx context.Context, platform string) ([]sqlite.ShownSecret, error)
}, platform string) {
	t.Helper()
	gone := func() bool {
		still, err := db.SecretsShown(context.Background(), platform)
		return err == nil && len(still) == 0
	}
	tick := time.NewTicker(5 * time.Millisecond) // the row changes outside any fake: look again until it is gone
	defer tick.Stop()
	for deadline := time.After(15 * time.Second); !gone(); {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("the %s ledger row of the removed passcode is still there", platform)
		}
	}
}
