// Package metrics exposes the bot's metrics in the Prometheus text format. It observes the engine
// from the outside: audit events (conversations by step and outcome, resets,
// sign-ins), calls to the device backend (latency, throttling), and gauges read
// when scraped (open conversations, alert queue depth).
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/passcodebot/passcodebot/resetflow"
)

// Metrics holds the bot's metrics (expose.go writes them out).
type Metrics struct {
	families []family
	steps    *counterVec
	resets   *counterVec
	reauth   *counterVec
	alerts   *counterVec
	calls    *histogramVec
	failures *counterVec
}

// New makes the metrics. active and queued are read at scrape time.
func New(active, queued func() int) *Metrics {
	m := &Metrics{
		steps: newCounterVec("passcodebot_conversation_steps_total",
			"Conversation steps by step and outcome (from the audit trail).", "step", "outcome"),
		resets: newCounterVec("passcodebot_resets_total",
			"Finished passcode resets by chat platform and result.", "platform", "result"),
		reauth: newCounterVec("passcodebot_reauth_total",
			"Re-authentication sign-ins by outcome.", "outcome"),
		alerts: newCounterVec("passcodebot_helpdesk_alerts_total",
			"Helpdesk alerts raised, by kind.", "kind"),
		calls: newHistogramVec("passcodebot_backend_call_seconds",
			"Device backend calls by operation.", exponentialBuckets(0.005, 2.5, 10), "op"),
		failures: newCounterVec("passcodebot_backend_errors_total",
			"Device backend errors by operation and kind (throttled, unavailable, ...).", "op", "kind"),
	}
	m.families = []family{m.steps, m.resets, m.reauth, m.alerts, m.calls, m.failures}
	if active != nil {
		m.families = append(m.families, gaugeFunc{"passcodebot_conversations_open",
			"Conversations in progress.", func() float64 { return float64(active()) }})
	}
	if queued != nil {
		m.families = append(m.families, gaugeFunc{"passcodebot_alert_queue_depth",
			"Helpdesk alerts waiting to be posted.", func() float64 { return float64(queued()) }})
	}
	m.families = append(m.families, runtimeFamilies{})
	return m
}

// StoreWrites adds the store's counters, read when scraped: writes asked for
// and transactions committed (each one sync to disk; concurrent writes share
// one). Call it before Handler.
func (m *Metrics) StoreWrites(writes, commits func() int64) {
	m.families = append(m.families,
		counterFunc{"passcodebot_store_writes_total", "Durable writes asked of the store (one per step that changes it).", writes},
		counterFunc{"passcodebot_store_commits_total", "Store transactions committed, each one sync to disk (concurrent writes share one).", commits})
}

// Handler serves /metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler { return handler(m.families) }

// Recorder wraps an audit recorder and counts what it records. A failed record
// is not counted: it did not happen.
func (m *Metrics) Recorder(next resetflow.Recorder) resetflow.Recorder {
	return recorder{m, next}
}

type recorder struct {
	m    *Metrics
	next resetflow.Recorder
}

func (r recorder) Record(ctx context.Context, e resetflow.Event) error {
	if err := r.next.Record(ctx, e); err != nil {
		return err
	}
	r.count(e)
	return nil
}

// RecordBatch keeps the wrapped recorder's batching, when it has one.
func (r recorder) RecordBatch(ctx context.Context, evs []resetflow.Event) error {
	if b, ok := r.next.(resetflow.BatchRecorder); ok {
		if err := b.RecordBatch(ctx, evs); err != nil {
			return err
		}
		for _, e := range evs {
			r.count(e)
		}
		return nil
	}
	for _, e := range evs {
		if err := r.Record(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// Commit keeps the wrapped recorder's commits (resetflow.Committer) and counts
// their events: over the daily limit those are committed too.
func (r recorder) Commit(ctx context.Context, c resetflow.Commit) error {
	cm, ok := r.next.(resetflow.Committer)
	if !ok {
		return errors.New("metrics: the wrapped recorder does not commit")
	}
	err := cm.Commit(ctx, c)
	if err == nil || errors.Is(err, resetflow.ErrLimitReached) {
		for _, e := range c.Events {
			r.count(e)
		}
	}
	return err
}

// Keeps is the wrapped recorder's (resetflow.Committer).
func (r recorder) Keeps(port any) bool {
	cm, ok := r.next.(resetflow.Committer)
	return ok && cm.Keeps(port)
}

func (r recorder) count(e resetflow.Event) {
	r.m.steps.WithLabelValues(e.Step, e.Outcome).Inc()
	switch resetflow.Step(e.Step) {
	case resetflow.StepResult:
		r.m.resets.WithLabelValues(e.Platform, e.Outcome).Inc()
	case resetflow.StepResetRequested:
		if e.Outcome == resetflow.OutcomeError {
			r.m.resets.WithLabelValues(e.Platform, "backend_error").Inc()
		}
	case resetflow.StepSignIn:
		r.m.reauth.WithLabelValues(e.Outcome).Inc()
	}
}

// Alerter wraps an alerter and counts alerts by kind.
func (m *Metrics) Alerter(next resetflow.Alerter) resetflow.Alerter { return alerter{m, next} }

type alerter struct {
	m    *Metrics
	next resetflow.Alerter
}

func (a alerter) Alert(ctx context.Context, al resetflow.Alert) {
	a.m.alerts.WithLabelValues(string(al.Kind)).Inc()
	a.next.Alert(ctx, al)
}

// Devices wraps a device backend and times its calls.
func (m *Metrics) Devices(next resetflow.Devices) resetflow.Devices { return devices{m, next} }

type devices struct {
	m    *Metrics
	next resetflow.Devices
}

func (d devices) observe(op string, start time.Time, err error) {
	d.m.calls.observe(d.m.calls.WithLabelValues(op), time.Since(start).Seconds())
	if err != nil {
		d.m.failures.WithLabelValues(op, string(resetflow.KindOf(err))).Inc()
	}
}

func (d devices) ListDevices(ctx context.Context, u resetflow.User) ([]resetflow.Device, error) {
	start := time.Now()
	ds, err := d.next.ListDevices(ctx, u)
	d.observe("list_devices", start, err)
	return ds, err
}

func (d devices) ResetPasscode(ctx context.Context, dev resetflow.Device) error {
	start := time.Now()
	err := d.next.ResetPasscode(ctx, dev)
	d.observe("reset_passcode", start, err)
	return err
}

func (d devices) ResetResult(ctx context.Context, dev resetflow.Device) (resetflow.ActionResult, error) {
	start := time.Now()
	r, err := d.next.ResetResult(ctx, dev)
	d.observe("reset_result", start, err)
	return r, err
}
