package console

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Tap puts the console's bookkeeping around the engine's ports: it stores each
// helpdesk alert as a row (open, not taken), and remembers the operating system
// of the device each eligibility decision is about, written in the same
// transaction as the audit event (no extra disk sync).
type Tap struct {
	Store Store
	Log   *slog.Logger

	mu   sync.Mutex
	seen map[string]resetflow.Device // devices listed and not yet decided on
}

// maxSeen bounds the devices remembered between listing and decision.
const maxSeen = 50000

// Devices wraps the device backend so listed devices are remembered.
// A nil Tap (no console) returns next.
func (t *Tap) Devices(next resetflow.Devices) resetflow.Devices {
	if t == nil {
		return next
	}
	return tapDevices{t, next}
}

type tapDevices struct {
	t *Tap
	resetflow.Devices
}

func (d tapDevices) ListDevices(ctx context.Context, u resetflow.User) ([]resetflow.Device, error) {
	list, err := d.Devices.ListDevices(ctx, u)
	if err == nil && len(list) > 0 {
		d.t.mu.Lock()
		if d.t.seen == nil || len(d.t.seen) > maxSeen {
			d.t.seen = map[string]resetflow.Device{}
		}
		for _, dev := range list {
			d.t.seen[dev.ID] = dev
		}
		d.t.mu.Unlock()
	}
	return list, err
}

// Recorder wraps the audit trail so an eligibility event also stores its device's OS.
// next is the store's own recorder, used for every other event.
// A nil Tap returns next.
func (t *Tap) Recorder(next resetflow.Recorder) resetflow.Recorder {
	if t == nil {
		return next
	}
	return tapRecorder{t, next}
}

type tapRecorder struct {
	t    *Tap
	next resetflow.Recorder
}

func (r tapRecorder) devices(evs []resetflow.Event) []resetflow.Device {
	r.t.mu.Lock()
	defer r.t.mu.Unlock()
	var out []resetflow.Device
	for _, e := range evs {
		if e.Step != "eligibility" || e.DeviceID == "" {
			continue
		}
		if d, ok := r.t.seen[e.DeviceID]; ok {
			out = append(out, d)
			delete(r.t.seen, e.DeviceID)
		}
	}
	return out
}

func (r tapRecorder) Record(ctx context.Context, e resetflow.Event) error {
	return r.RecordBatch(ctx, []resetflow.Event{e})
}

func (r tapRecorder) RecordBatch(ctx context.Context, evs []resetflow.Event) error {
	if devs := r.devices(evs); len(devs) > 0 {
		return r.t.Store.RecordWithDevices(ctx, evs, devs)
	}
	if b, ok := r.next.(resetflow.BatchRecorder); ok {
		return b.RecordBatch(ctx, evs)
	}
	for _, e := range evs {
		if err := r.next.Record(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// Commit keeps the wrapped recorder's commits (resetflow.Committer). Events
// whose device the console keeps go through RecordWithDevices first, and the
// rest of the commit after, in a second transaction.
func (r tapRecorder) Commit(ctx context.Context, c resetflow.Commit) error {
	cm, ok := r.next.(resetflow.Committer)
	if !ok {
		return errors.New("console: the wrapped recorder does not commit")
	}
	if devs := r.devices(c.Events); len(devs) > 0 {
		if err := r.t.Store.RecordWithDevices(ctx, c.Events, devs); err != nil {
			return err
		}
		c.Events = nil
	}
	return cm.Commit(ctx, c)
}

// Keeps is the wrapped recorder's (resetflow.Committer).
func (r tapRecorder) Keeps(port any) bool {
	cm, ok := r.next.(resetflow.Committer)
	return ok && cm.Keeps(port)
}

// Alerter wraps the helpdesk alerter: each alert is stored before it is queued
// for the chat channels. A nil Tap returns next.
func (t *Tap) Alerter(next resetflow.Alerter) resetflow.Alerter {
	if t == nil {
		return next
	}
	return tapAlerter{t, next}
}

type tapAlerter struct {
	t    *Tap
	next resetflow.Alerter
}

func (a tapAlerter) Alert(ctx context.Context, al resetflow.Alert) {
	row := Alert{ID: al.ID, Time: al.Time, Kind: string(al.Kind), Platform: al.Platform, ChatUser: al.ChatUser,
		UserUPN: al.User.UPN, UserID: al.User.ID, Detail: al.Detail}
	if al.Device != nil {
		row.DeviceID, row.DeviceName, row.DeviceOS = al.Device.ID, al.Device.Name, al.Device.OS
	}
	// Bounded: an alert must not hold up the conversation for long.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	if err := a.t.Store.SaveAlert(sctx, row); err != nil && a.t.Log != nil {
		a.t.Log.Error("storing a helpdesk alert for the console failed; the chat still gets it", "alert", al.ID, "err", err)
	}
	cancel()
	a.next.Alert(ctx, al)
}

// TakenInChat records an "I'm on it" pressed in a chat channel: the same state
// the console's "Take" changes. The first taker wins. A nil Tap does nothing.
func (t *Tap) TakenInChat(ctx context.Context, alertID, platform, who string, at time.Time) {
	if t == nil {
		return
	}
	if _, _, found, err := t.Store.TakeAlert(ctx, alertID, platform+":"+who, platform, at); err != nil && t.Log != nil {
		t.Log.Error("recording a chat acknowledgement in the alert state failed", "alert", alertID, "err", err)
	} else if !found && t.Log != nil {
		t.Log.Warn("an acknowledged alert is not in the alert state (raised before the console was on?)", "alert", alertID)
	}
}
