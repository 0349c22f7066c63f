package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/passcodebot/passcodebot/resetflow"
)

type nopRec struct{ err error }

func (n nopRec) Record(context.Context, resetflow.Event) error { return n.err }

type nopAlert struct{}

func (nopAlert) Alert(context.Context, resetflow.Alert) {}

type dev struct{}

func (dev) ListDevices(context.Context, resetflow.User) ([]resetflow.Device, error) { return nil, nil }
func (dev) ResetPasscode(context.Context, resetflow.Device) error {
	return &resetflow.Error{Kind: resetflow.KindThrottled}
}
func (dev) ResetResult(context.Context, resetflow.Device) (resetflow.ActionResult, error) {
	return resetflow.ActionResult{}, nil
}

func scrape(t *testing.T, m *Metrics) string {
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func TestCounters(t *testing.T) {
	m := New(func() int { return 7 }, func() int { return 2 })
	r := m.Recorder(nopRec{})
	ctx := context.Background()
	r.Record(ctx, resetflow.Event{Step: "signin", Outcome: "ok"})
	r.Record(ctx, resetflow.Event{Step: "result", Outcome: "done", Platform: "slack"})
	m.Recorder(nopRec{errors.New("disk")}).Record(ctx, resetflow.Event{Step: "confirm"})
	m.Alerter(nopAlert{}).Alert(ctx, resetflow.Alert{Kind: resetflow.AlertResetFailed})
	d := m.Devices(dev{})
	d.ResetPasscode(ctx, resetflow.Device{})
	d.ListDevices(ctx, resetflow.User{})
	writes := int64(9)
	m.StoreWrites(func() int64 { return writes }, func() int64 { return 4 })
	writes++ // read when scraped
	out := scrape(t, m)
	for _, want := range []string{
		"# TYPE passcodebot_store_writes_total counter\npasscodebot_store_writes_total 10\n",
		"# TYPE passcodebot_store_commits_total counter\npasscodebot_store_commits_total 4\n",
		`passcodebot_conversation_steps_total{outcome="ok",step="signin"} 1`,
		`passcodebot_resets_total{platform="slack",result="done"} 1`,
		`passcodebot_reauth_total{outcome="ok"} 1`,
		`passcodebot_helpdesk_alerts_total{kind="reset_failed"} 1`,
		`passcodebot_backend_errors_total{kind="throttled",op="reset_passcode"} 1`,
		`passcodebot_backend_call_seconds_count{op="list_devices"} 1`,
		`passcodebot_conversations_open 7`,
		`passcodebot_alert_queue_depth 2`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, `step="confirm"`) {
		t.Errorf("a failed record was counted")
	}
}

// TestExposition checks the text format Prometheus reads: HELP and TYPE
// lines, label names sorted and values escaped, cumulative histogram buckets
// with +Inf, _sum and _count, the content type, and the Go and process metrics.
func TestExposition(t *testing.T) {
	m := New(nil, nil)
	m.failures.WithLabelValues("list\"devices\n", `a\b`).Inc()
	h := m.calls.WithLabelValues("reset_result")
	for _, v := range []float64{0.001, 0.006, 0.006, 100} {
		m.calls.observe(h, v)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "text/plain; version=0.0.4; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	out := rec.Body.String()
	for _, want := range []string{
		"# HELP passcodebot_backend_errors_total Device backend errors by operation and kind (throttled, unavailable, ...).\n# TYPE passcodebot_backend_errors_total counter\n",
		`passcodebot_backend_errors_total{kind="a\\b",op="list\"devices\n"} 1` + "\n",
		"# TYPE passcodebot_backend_call_seconds histogram\n",
		`passcodebot_backend_call_seconds_bucket{op="reset_result",le="0.005"} 1` + "\n",
		`passcodebot_backend_call_seconds_bucket{op="reset_result",le="0.0125"} 3` + "\n",
		`passcodebot_backend_call_seconds_bucket{op="reset_result",le="19.073486328125"} 3` + "\n",
		`passcodebot_backend_call_seconds_bucket{op="reset_result",le="+Inf"} 4` + "\n",
		`passcodebot_backend_call_seconds_sum{op="reset_result"} 100.013` + "\n",
		`passcodebot_backend_call_seconds_count{op="reset_result"} 4` + "\n",
		"# TYPE go_goroutines gauge\ngo_goroutines ",
		"# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ",
		"# TYPE process_cpu_seconds_total counter\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the exposition lacks %q", want)
		}
	}
	if strings.Contains(out, "passcodebot_conversations_open") {
		t.Error("a gauge without a reader is exposed")
	}
	// Every line is a comment or "name{labels} value".
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if strings.HasPrefix(line, "# HELP ") || strings.HasPrefix(line, "# TYPE ") {
			continue
		}
		if i := strings.LastIndexByte(line, ' '); i <= 0 || i == len(line)-1 {
			t.Errorf("malformed line %q", line)
		}
	}
}

// TestCounterVecConcurrent: people counting under the same and new labels at
// once all land, each label set in one series.
func TestCounterVecConcurrent(t *testing.T) {
	v := newCounterVec("x_total", "x", "kind")
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			for range 100 {
				v.WithLabelValues("same").n.Add(1)
				v.WithLabelValues(fmt.Sprint("k", i%8)).n.Add(1)
			}
		})
	}
	wg.Wait()
	if n := v.WithLabelValues("same").n.Load(); n != 6400 {
		t.Errorf("same: %d, want 6400", n)
	}
	if len(v.series) != 9 {
		t.Errorf("%d series, want 9", len(v.series))
	}
	for i := range 8 {
		if n := v.WithLabelValues(fmt.Sprint("k", i)).n.Load(); n != 800 {
			t.Errorf("k%d: %d, want 800", i, n)
		}
	}
}
