package bot

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/catalog"
	"github.com/passcodebot/passcodebot/fleet"
	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
	"github.com/passcodebot/passcodebot/resetflow/resetflowtest"
)

// chatStub is an adapter that says when it runs and when it is stopped.
type chatStub struct{ running, stopped chan struct{} }

func (c *chatStub) Platform() string { return "stub" }
func (c *chatStub) Run(ctx context.Context, h resetflow.Handler) error {
	close(c.running)
	<-ctx.Done()
	close(c.stopped)
	return ctx.Err()
}
func (c *chatStub) Send(context.Context, resetflow.Address, resetflow.Message) error { return nil }

func status(t *testing.T, url string) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestStandbyUntilItLeadsThenStopsWhenTheLeadIsLost(t *testing.T) {
	cat := catalog.MustNew("en")
	fl, err := fleet.Load(fleet.Demo(), clock.Real{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := resetflow.New(resetflow.Config{}, resetflow.Deps{Catalog: cat, Devices: fl, Directory: fl, Messenger: resetflowtest.NewChat(), Alerter: &resetflowtest.Alerts{}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	chat := &chatStub{running: make(chan struct{}), stopped: make(chan struct{})}
	lead := make(chan struct{})
	leadCtx, lose := context.WithCancel(context.Background())
	defer lose()
	led := make(chan struct{})
	b := &Bot{Engine: eng, Adapters: []Adapter{chat}, Mux: http.NewServeMux(), Listener: ln, ShutdownTimeout: time.Minute,
		Lead: func(ctx context.Context) (context.Context, error) {
			select {
			case <-lead:
				return leadCtx, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
		OnLead: func(context.Context) { close(led) },
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }()

	// A standby: alive, not ready, not connected to chat. (The listener is
	// open already, so these requests wait for the server, not for time.)
	if got := status(t, base+"/healthz"); got != http.StatusOK {
		t.Errorf("standby /healthz = %d", got)
	}
	if got := status(t, base+"/readyz"); got != http.StatusServiceUnavailable {
		t.Errorf("standby /readyz = %d", got)
	}
	select {
	case <-chat.running:
		t.Fatal("a standby connected to chat")
	default:
	}

	close(lead)
	<-chat.running
	<-led
	if got := status(t, base+"/readyz"); got != http.StatusOK {
		t.Errorf("leader /readyz = %d", got)
	}

	// Losing the lead stops the bot at once: no one-minute shutdown wait.
	start := time.Now()
	lose()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLostLead) {
			t.Fatalf("Run = %v, want ErrLostLead", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bot went on after losing the lead")
	}
	<-chat.stopped
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("stopping took %v", took)
	}
}

// stuckStore is a store whose read of the resets in flight waits on its
// context, as a query waits on a database cut off from the network.
type stuckStore struct {
	resetflow.Store
	reading chan struct{}
}

func (s *stuckStore) InFlight(ctx context.Context) ([]resetflow.InFlight, error) {
	close(s.reading)
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestLeadLostWhileResuming: the lead lost while resuming (reading the resets
// in flight from a database cut off) ends the resume and stops the bot; it
// does not wait on the database until the process is signalled.
func TestLeadLostWhileResuming(t *testing.T) {
	cat := catalog.MustNew("en")
	fl, err := fleet.Load(fleet.Demo(), clock.Real{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	store := &stuckStore{Store: resetflow.NewMemoryStore(), reading: make(chan struct{})}
	eng, err := resetflow.New(resetflow.Config{}, resetflow.Deps{Catalog: cat, Devices: fl, Directory: fl, Messenger: resetflowtest.NewChat(), Alerter: &resetflowtest.Alerts{}, Store: store})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	leadCtx, lose := context.WithCancel(context.Background())
	defer lose()
	chat := &chatStub{running: make(chan struct{}), stopped: make(chan struct{})}
	b := &Bot{Engine: eng, Adapters: []Adapter{chat}, Mux: http.NewServeMux(), Listener: ln, ShutdownTimeout: time.Minute,
		Lead: func(context.Context) (context.Context, error) { return leadCtx, nil },
	}
	done := make(chan error, 1)
	go func() { done <- b.Run(context.Background()) }() // never signalled
	<-store.reading
	lose()
	select {
	case err := <-done:
		if !errors.Is(err, ErrLostLead) {
			t.Fatalf("Run = %v, want ErrLostLead", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bot still resumes 10 s after losing the lead")
	}
}
