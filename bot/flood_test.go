package bot

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// TestIneligibleFlood (issue 11, flooding): one person picking an ineligible
// device 100 times in a row. The engine lets 10 conversations start in 10
// minutes (the rest are asked to wait, without a device list), and the
// helpdesk gets one alert at once and one with the count when the window ends,
// not 100.
func TestIneligibleFlood(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clk := clock.NewFake(t0)
	fl, err := fleet.Load(fleet.Demo(), clk, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	p := &poster{got: make(chan struct{}, 1000)}
	alerts := NewAlerts(clk, nil, p)
	alerts.Start()
	chat := resetflowtest.NewChat()
	cat := catalog.MustNew("en")
	devs := &countingFleet{Fleet: fl}
	eng, err := resetflow.New(resetflow.Config{PublicURL: "http://bot.test", Location: time.UTC}, resetflow.Deps{
		Clock: clk, Catalog: cat, Devices: devs, Directory: fl, Messenger: chat, Alerter: alerts,
	})
	if err != nil {
		t.Fatal(err)
	}
	from := resetflow.Address{Platform: "t", UserID: "bob"}
	refused := 0
	for range 100 {
		eng.Handle(context.Background(), resetflow.Input{From: from, Email: "bob@contoso.example", Text: "reset"})
		m, _ := chat.Last()
		var pick string
		for _, c := range m.Choices {
			if strings.Contains(c.Label, "Warehouse scanner") {
				pick = c.Value
			}
		}
		if pick == "" {
			refused++
			continue
		}
		eng.Handle(context.Background(), resetflow.Input{From: from, Email: "bob@contoso.example", Action: pick})
	}
	if refused != 90 {
		t.Errorf("%d of 100 starts asked to wait; want 90", refused)
	}
	if lists := devs.lists.Load(); lists != 10 {
		t.Errorf("%d device lists; want 10", lists)
	}
	<-p.got
	if n := len(p.all()); n != 1 {
		t.Fatalf("%d alerts posted at once; want 1", n)
	}
	clk.WaitForDue(alerts.Interval) // the queue waits out its interval: move on only once it does
	clk.Advance(alerts.Window)
	<-p.got
	got := p.all()
	if len(got) != 2 || got[1].Kind != resetflow.AlertContactSupport || got[1].Repeats != 9 {
		t.Fatalf("after the window: %d alerts, last %+v; want 2, the second standing for 9", len(got), got[len(got)-1])
	}
}

// countingFleet counts device lists (Graph calls, with Intune).
type countingFleet struct {
	*fleet.Fleet
	lists atomic.Int64
}

func (c *countingFleet) ListDevices(ctx context.Context, u resetflow.User) ([]resetflow.Device, error) {
	c.lists.Add(1)
	return c.Fleet.ListDevices(ctx, u)
}
