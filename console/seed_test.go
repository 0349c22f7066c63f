package console_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/console"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// seedModel is a synthetic company: how many people, how often they ask, and
// how their requests end. The shares are guesses at a healthy self-service
// rollout; they only shape the data the queries read.
type seedModel struct {
	Employees   int
	Days        int
	PerEmployee float64 // requests per employee over the whole period
}

var seedPlatforms = []struct {
	os, mode, chat string
	w              float64
}{
	{"iOS", "ios", "slack", 0.45},
	{"Android", "android_enterprise_corporate_work_profile", "slack", 0.25},
	{"Android", "android_enterprise_personal_work_profile", "discord", 0.10},
	{"iPadOS", "ios", "slack", 0.08},
	{"Android", "android_enterprise_dedicated", "shell", 0.07},
	{"Windows", "windows", "discord", 0.05},
}

// seed writes the model's audit events, device OS rows and alerts, ending at
// end, and returns how many events and alerts it wrote.
func seed(tb testing.TB, cs *sqlite.ConsoleStore, m seedModel, end time.Time, rng *rand.Rand) (events, alerts int) {
	tb.Helper()
	ctx := context.Background()
	start := end.AddDate(0, 0, -m.Days)
	total := int(float64(m.Employees) * m.PerEmployee)
	var batch []resetflow.Event
	var devs []resetflow.Device
	var alertRows []console.Alert
	flush := func() {
		if len(batch) == 0 {
			return
		}
		if err := cs.RecordWithDevices(ctx, batch, devs); err != nil {
			tb.Fatal(err)
		}
		events += len(batch)
		batch, devs = batch[:0], devs[:0]
	}
	for i := 0; i < total; i++ {
		// Office hours, weekdays heavier.
		day := start.AddDate(0, 0, rng.IntN(m.Days))
		if wd := day.Weekday(); (wd == time.Saturday || wd == time.Sunday) && rng.Float64() < 0.7 {
			day = day.AddDate(0, 0, 2)
		}
		t := day.Add(time.Duration(8*3600+rng.IntN(10*3600)) * time.Second)
		if !t.Before(end) {
			t = end.Add(-time.Duration(rng.IntN(3600)+1) * time.Second)
		}
		emp := rng.IntN(m.Employees)
		upn := fmt.Sprintf("user%06d@contoso.example", emp)
		uid := fmt.Sprintf("00000000-0000-4000-8000-%012d", emp)
		r := rng.Float64()
		p := seedPlatforms[len(seedPlatforms)-1]
		for _, c := range seedPlatforms {
			if r < c.w {
				p = c
				break
			}
			r -= c.w
		}
		flow := fmt.Sprintf("f%08x%06d", i, emp)
		dev := fmt.Sprintf("dev-%06d-%s", emp, p.mode)
		chatUser := fmt.Sprintf("%s-%06d", p.chat, emp)
		at := t
		ev := func(step, outcome, detail string, device bool) {
			e := resetflow.Event{Time: at, Flow: flow, Step: step, Platform: p.chat, ChatUser: chatUser, UserID: uid, UserUPN: upn, Outcome: outcome, Detail: detail}
			if device {
				e.DeviceID = dev
			}
			batch = append(batch, e)
		}
		step := func(d time.Duration) { at = at.Add(d) }
		alert := func(kind resetflow.AlertKind) {
			a := console.Alert{ID: fmt.Sprintf("a%08x", i), Time: at, Kind: string(kind), Platform: p.chat, ChatUser: chatUser,
				UserUPN: upn, UserID: uid, DeviceID: dev, DeviceName: "Phone", DeviceOS: p.os, Detail: "synthetic"}
			if rng.Float64() < 0.9 && at.Before(end.Add(-2*time.Hour)) {
				a.TakenBy, a.TakenVia, a.TakenAt = "helpdesk", "slack", at.Add(10*time.Minute)
				if rng.Float64() < 0.9 {
					a.ResolvedBy, a.ResolvedAt, a.Note = "helpdesk", at.Add(40*time.Minute), "done"
				}
			}
			alertRows = append(alertRows, a)
		}
		ev("request", "", "", false)
		step(time.Second)
		if rng.Float64() < 0.03 {
			ev("devices_listed", "0", "", false)
			flush2(&batch, flush)
			continue
		}
		ev("devices_listed", "1", "", false)
		if rng.Float64() < 0.04 {
			step(20 * time.Second)
			ev("cancel", "picking", "", false)
			flush2(&batch, flush)
			continue
		}
		step(8 * time.Second)
		devs = append(devs, resetflow.Device{ID: dev, OS: p.os, Mode: resetflow.Mode(p.mode)})
		switch p.mode {
		case "android_enterprise_dedicated":
			ev("eligibility", "contact_support", "android-enterprise-dedicated", true)
			alert(resetflow.AlertContactSupport)
			flush2(&batch, flush)
			continue
		case "windows":
			ev("eligibility", "not_supported", "windows-and-macos", true)
			alert(resetflow.AlertNotSupported)
			flush2(&batch, flush)
			continue
		}
		ev("eligibility", "allow", p.mode, true)
		ev("link_issued", "", "expires", true)
		if rng.Float64() < 0.08 {
			step(5 * time.Minute)
			ev("expired", "signing_in", "", true)
			flush2(&batch, flush)
			continue
		}
		step(time.Duration(30+rng.IntN(120)) * time.Second)
		if rng.Float64() < 0.01 {
			ev("signin", "wrong_person", "signed_in_as=someone", true)
			alert(resetflow.AlertWrongPerson)
			flush2(&batch, flush)
			continue
		}
		ev("signin", "ok", "signed_in_as="+upn+" auth_time=x", true)
		step(time.Duration(5+rng.IntN(20)) * time.Second)
		ev("confirm", "", "", true)
		step(200 * time.Millisecond)
		ev("reset_requested", "sent", "", true)
		step(time.Duration(2000+rng.IntN(40000)) * time.Millisecond)
		if rng.Float64() < 0.04 {
			ev("result", "failed", "", true)
			alert(resetflow.AlertResetFailed)
		} else {
			// Done: the result is shown in chat, or, rarely, not.
			ev("result", "done", "", true)
			step(time.Duration(300+rng.IntN(2000)) * time.Millisecond)
			switch r := rng.Float64(); {
			case r < 0.01:
				ev("delivery", "missing", "actionState=done without a passcode", true)
				alert(resetflow.AlertResetFailed)
			case r < 0.03:
				ev("delivery", "failed", "the result message could not be sent: unavailable", true)
				alert(resetflow.AlertDeliveryFailed)
			default:
				ev("delivery", "sent", "", true)
			}
		}
		flush2(&batch, flush)
	}
	flush()
	// Alerts: concurrent saves share commits (the store's writer groups them).
	var wg sync.WaitGroup
	ch := make(chan console.Alert)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for a := range ch {
				if err := cs.SaveAlert(ctx, a); err != nil {
					tb.Error(err)
					continue
				}
				if a.TakenBy != "" {
					cs.TakeAlert(ctx, a.ID, a.TakenBy, a.TakenVia, a.TakenAt)
				}
				if a.ResolvedBy != "" {
					cs.ResolveAlert(ctx, a.ID, a.ResolvedBy, a.Note, a.ResolvedAt)
				}
			}
		}()
	}
	for _, a := range alertRows {
		ch <- a
	}
	close(ch)
	wg.Wait()
	return events, len(alertRows)
}

// flush2 commits when the batch is big: one transaction per few thousand events.
func flush2(batch *[]resetflow.Event, flush func()) {
	if len(*batch) >= 5000 {
		flush()
	}
}
