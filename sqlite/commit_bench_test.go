package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// BenchmarkCommit is one step's commit as a conversation makes it, on a file:
// the DM's (two events and the open conversation) and a sign-in's (one
// event), each one transaction and one WAL sync. What it costs in CPU is most
// of what the bot spends in SQLite per reset (README, "Load benchmark").
func BenchmarkCommit(b *testing.B) {
	ctx := context.Background()
	dm := func(i int) resetflow.Commit {
		flow := fmt.Sprintf("f%d", i)
		ev := resetflow.Event{Time: t0, Flow: flow, Step: "request", Platform: "slack", ChatUser: "U1", UserID: "u1", UserUPN: "alice@contoso.example"}
		listed := ev
		listed.Step, listed.Outcome, listed.Detail = "devices", "listed", "3 devices"
		return resetflow.Commit{Events: []resetflow.Event{ev, listed},
			Opened: &resetflow.OpenedConversation{Flow: flow, To: resetflow.Address{Platform: "slack", UserID: "U1", Channel: "D1"}, Locale: "en", At: t0}}
	}
	for _, tc := range []struct {
		name    string
		console bool // the helpdesk console's indexes and rollup triggers
		c       func(i int) resetflow.Commit
	}{
		{"dm", false, dm},
		{"dm-console", true, dm},
		{"signin", false, func(i int) resetflow.Commit {
			return resetflow.Commit{Events: []resetflow.Event{{Time: t0, Flow: fmt.Sprintf("f%d", i), Step: "signin", Outcome: "ok",
				Platform: "slack", ChatUser: "U1", UserID: "u1", UserUPN: "alice@contoso.example", DeviceID: "dev-1"}}}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db, err := Open(ctx, filepath.Join(b.TempDir(), "bot.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			if tc.console {
				if _, err := db.Console(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			cpu0 := cpuTime()
			i := 0
			for b.Loop() {
				if err := db.Commit(ctx, tc.c(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
			// The process's CPU time (user + system) per commit: the wall time
			// above includes waiting for the disk.
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i), "cpu-µs/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
