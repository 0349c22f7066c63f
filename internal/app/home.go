package app

import (
	"context"
	"time"

	slackadapter "github.com/passcodebot/passcodebot/adapters/slack"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/sqlite"
)

// recentResets reads a person's resets of the last 30 days from the audit trail
// for the Slack App Home tab: when, which device (its name from the device
// backend, when it still lists it) and whether it was reset. db is read at call
// time: it is opened after the adapters are made.
func recentResets(db *store, directory resetflow.Directory, devices resetflow.Devices, clk clock.Clock) func(context.Context, string) ([]slackadapter.HomeReset, error) {
	return func(ctx context.Context, identity string) ([]slackadapter.HomeReset, error) {
		if *db == nil {
			return nil, nil
		}
		u, err := directory.LookupUser(ctx, identity)
		if err != nil {
			return nil, err
		}
		who := u.UPN
		if who == "" {
			who = u.ID
		}
		events, err := (*db).Events(ctx, sqlite.Filter{User: who, Step: "result", Since: clk.Now().Add(-30 * 24 * time.Hour)})
		if err != nil || len(events) == 0 {
			return nil, err
		}
		names := map[string]string{}
		if list, err := devices.ListDevices(ctx, u); err == nil {
			for _, d := range list {
				names[d.ID] = d.Name
			}
		}
		out := make([]slackadapter.HomeReset, 0, len(events))
		for _, ev := range events {
			name := names[ev.DeviceID]
			if name == "" {
				name = ev.DeviceID
			}
			out = append(out, slackadapter.HomeReset{Time: ev.Time, Device: name, Done: ev.Outcome == string(resetflow.ActionDone)})
		}
		return out, nil
	}
}
