package resetflow_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

type nopMessenger struct{}

func (nopMessenger) Send(context.Context, resetflow.Address, resetflow.Message) error { return nil }

// BenchmarkHeldConversation is the engine's share of issue 8's "10,000
// conversations at most 2 KiB of heap each": the live heap each conversation
// waiting at the device list keeps (in-memory ports, one phone per person, a
// messenger that keeps nothing), as B/conversation. The load driver's -hold
// measures the whole bot (adapters and caches too).
func BenchmarkHeldConversation(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	var ms runtime.MemStats
	for b.Loop() {
		cfg := resetflow.DefaultConfig()
		cfg.PublicURL = "http://bot.test"
		eng, err := resetflow.New(cfg, resetflow.Deps{Clock: clock.NewFake(t0), Catalog: catalog.MustNew("en"),
			Devices: benchDevices{}, Directory: benchDirectory{}, Messenger: nopMessenger{}, Alerter: nopAlerter{}})
		if err != nil {
			b.Fatal(err)
		}
		eng.Handle(ctx, benchInput(benchUser(n), "reset", "")) // warm: lazily built state
		users := make([]string, n)
		for i := range users {
			users[i] = benchUser(i)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		for _, u := range users {
			eng.Handle(ctx, benchInput(u, "reset", ""))
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(int64(ms.HeapAlloc)-int64(before))/n, "B/conversation")
		runtime.KeepAlive(eng)
		runtime.KeepAlive(users)
	}
}
