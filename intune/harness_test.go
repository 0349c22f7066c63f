package intune

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/intune/graphtest"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// testClock is a fake clock whose After returns at once, advancing the clock
// by the wait and recording it: backoff takes no real time and tests can
// assert each wait. AfterFunc (request timeouts) fires only on Advance.
type testClock struct {
	*clock.Fake
	mu    sync.Mutex
	waits []time.Duration
}

func (c *testClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	c.waits = append(c.waits, d)
	c.mu.Unlock()
	c.Fake.Advance(d)
	ch := make(chan time.Time, 1)
	ch <- c.Fake.Now()
	return ch
}

func (c *testClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.waits...)
}

// syncBuffer is a log destination the test reads while the code writes.
type syncBuffer = resetflowtest.Buffer

const (
	aliceID  = "a11ce000-0000-4000-8000-000000000001"
	aliceUPN = "alice@contoso.example"
	bobID    = "b0b00000-0000-4000-8000-000000000002"
	bobUPN   = "bob@contoso.example"
	// pixelPasscode is the temporary passcode the fake issues for dev-pixel.
	pixelPasscode = "Xy7kP2mQ"
)

// aliceDevices are five devices: with a page size of 2 they take three pages.
func aliceDevices() []graphtest.Device {
	return []graphtest.Device{
		{ID: "dev-pixel", Name: "Alice's Pixel 8", Manufacturer: "Google", Model: "Pixel 8", OperatingSystem: "Android", OSVersion: "15",
			OwnerType: "company", EnrollmentType: "androidEnterpriseCorporateWorkProfile", DeviceType: "androidEnterprise",
			LastSync: t0.Add(-time.Hour), Reset: graphtest.Plan{Passcode: pixelPasscode}},
		{ID: "dev-iphone", Name: "Alice's iPhone", Manufacturer: "Apple", Model: "iPhone 15", OperatingSystem: "iOS", OSVersion: "18.1",
			OwnerType: "personal", EnrollmentType: "appleBulkWithUser", DeviceType: "iPhone", LastSync: t0.Add(-2 * time.Hour)},
		{ID: "dev-zebra", Name: "Scanner 12", Manufacturer: "Zebra", Model: "TC52", OperatingSystem: "Android", OSVersion: "11",
			OwnerType: "company", EnrollmentType: "androidEnterpriseDedicatedDevice", DeviceType: "androidEnterprise",
			Reset: graphtest.Plan{Outcome: "failed", ErrorCode: 1004}},
		{ID: "dev-surface", Name: "Alice's Surface", Manufacturer: "Microsoft", Model: "Surface Pro 9", OperatingSystem: "Windows", OSVersion: "10.0.22631.4317",
			OwnerType: "company", EnrollmentType: "windowsAzureADJoin", DeviceType: "desktop", Reset: graphtest.Plan{Outcome: "notSupported"}},
		{ID: "dev-lumia", Name: "Alice's Lumia 950", Manufacturer: "Microsoft", Model: "Lumia 950", OperatingSystem: "Windows", OSVersion: "10.0.15254.1",
			OwnerType: "unknown", EnrollmentType: "userEnrollment", DeviceType: "windowsPhone"},
	}
}

type harness struct {
	t    *testing.T
	srv  *graphtest.Server
	clk  *testClock
	c    *Client
	cfg  Config
	logs *syncBuffer

	mu   sync.Mutex
	errs []error
}

// newHarness starts a fake Graph with Alice (five devices) and Bob (none) and
// a client pointed at it. edit may change the config before the client is made.
func newHarness(t *testing.T, edit func(*Config), opts ...graphtest.Options) *harness {
	t.Helper()
	clk := &testClock{Fake: clock.NewFake(t0)}
	o := graphtest.Options{PageSize: 2}
	if len(opts) > 0 {
		o = opts[0]
	}
	o.Clock = clk
	srv := graphtest.New(o)
	t.Cleanup(srv.Close)
	srv.AddUser(graphtest.User{ID: aliceID, UPN: aliceUPN, DisplayName: "Alice Anderson"}, aliceDevices()...)
	srv.AddUser(graphtest.User{ID: bobID, UPN: bobUPN, DisplayName: "Bob Brown"})

	cfg := Config{
		TenantID: srv.TenantID, ClientID: srv.ClientID, ClientSecret: srv.ClientSecret,
		GraphURL: srv.URL, LoginURL: srv.URL, Timeout: 20 * time.Second,
	}
	if edit != nil {
		edit(&cfg)
	}
	logs := &syncBuffer{}
	c, err := New(cfg, Options{
		Clock:  clk,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Jitter: func() float64 { return 0.5 },
	})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, srv: srv, clk: clk, c: c, cfg: c.Config(), logs: logs}
	t.Cleanup(h.checkLeaks)
	return h
}

// record keeps err for the leak check and returns it.
func (h *harness) record(err error) error {
	if err != nil {
		h.mu.Lock()
		h.errs = append(h.errs, err)
		h.mu.Unlock()
	}
	return err
}

// checkLeaks fails the test if an error or a log line shows an access token,
// the client secret or a passcode.
func (h *harness) checkLeaks() {
	secrets := append(h.srv.Tokens(), h.srv.ClientSecret, pixelPasscode)
	for _, d := range []string{"dev-pixel", "dev-iphone", "dev-zebra", "dev-surface", "dev-lumia"} {
		for _, a := range h.srv.Actions(d) {
			if a.Passcode != "" {
				secrets = append(secrets, a.Passcode)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	logs := h.logs.String()
	for _, s := range secrets {
		for _, err := range h.errs {
			if strings.Contains(err.Error(), s) {
				h.t.Errorf("error %q shows a secret", err)
			}
			var re *resetflow.Error
			if errors.As(err, &re) && strings.Contains(re.Detail(), s) {
				h.t.Errorf("helpdesk detail %q shows a secret", re.Detail())
			}
		}
		if strings.Contains(logs, s) {
			h.t.Errorf("logs show a secret:\n%s", logs)
		}
	}
}

func (h *harness) alice() resetflow.User { return resetflow.User{ID: aliceID, UPN: aliceUPN} }

func (h *harness) dev(id string) resetflow.Device { return resetflow.Device{ID: id} }

func (h *harness) list() ([]resetflow.Device, error) {
	d, err := h.c.ListDevices(context.Background(), h.alice())
	return d, h.record(err)
}

func (h *harness) reset(id string) error {
	return h.record(h.c.ResetPasscode(context.Background(), h.dev(id)))
}

func (h *harness) result(id string) (resetflow.ActionResult, error) {
	r, err := h.c.ResetResult(context.Background(), h.dev(id))
	return r, h.record(err)
}

// statuses lists the answered statuses of requests to route.
func (h *harness) statuses(route graphtest.Route) []int {
	var out []int
	for _, r := range h.srv.Requests() {
		if r.Route == route {
			out = append(out, r.Status)
		}
	}
	return out
}

func wantKind(t *testing.T, err error, kind resetflow.ErrorKind) *resetflow.Error {
	t.Helper()
	var e *resetflow.Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T); want a *resetflow.Error of kind %s", err, err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("err = %v; kind %s, want %s", err, e.Kind, kind)
	}
	return e
}
