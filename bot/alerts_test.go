package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
	"github.com/passcodebot/passcodebot/resetflow"
)

type rateLimited struct{ after time.Duration }

func (r rateLimited) Error() string             { return "rate limited" }
func (r rateLimited) RetryAfter() time.Duration { return r.after }

// poster records posts; fail decides whether a post fails.
type poster struct {
	mu    sync.Mutex
	posts [][]resetflow.Alert
	fail  func(n int) error
	calls int
	got   chan struct{}
}

func (p *poster) PostAlerts(_ context.Context, as []resetflow.Alert) error {
	p.mu.Lock()
	defer func() { p.mu.Unlock(); p.got <- struct{}{} }()
	p.calls++
	if p.fail != nil {
		if err := p.fail(p.calls); err != nil {
			return err
		}
	}
	p.posts = append(p.posts, append([]resetflow.Alert(nil), as...))
	return nil
}

func (p *poster) delivered() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := map[string]int{}
	for _, post := range p.posts {
		for _, a := range post {
			m[a.ID]++
		}
	}
	return m
}

func TestAlertsRetryAfterAndNoLoss(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	p := &poster{got: make(chan struct{}, 100), fail: func(n int) error {
		if n == 1 {
			return fmt.Errorf("post: %w", rateLimited{30 * time.Second})
		}
		if n == 2 {
			return errors.New("connection reset")
		}
		return nil
	}}
	a := NewAlerts(clk, nil, p)
	a.Start()
	a.Alert(context.Background(), resetflow.Alert{ID: "a1", Kind: resetflow.AlertResetFailed})
	<-p.got // 429
	clk.WaitForTimers(1)
	clk.Advance(29 * time.Second)
	select {
	case <-p.got:
		t.Fatal("retried before Retry-After")
	default:
	}
	clk.Advance(time.Second)
	<-p.got // connection reset
	clk.WaitForTimers(1)
	clk.Advance(a.Retry)
	<-p.got // delivered
	if d := p.delivered(); d["a1"] != 1 {
		t.Fatalf("delivered %v", d)
	}
	if a.Pending() != 0 {
		t.Errorf("pending %d", a.Pending())
	}
}

func TestAlertsDigestAndPace(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	p := &poster{got: make(chan struct{}, 1000)}
	a := NewAlerts(clk, nil, p)
	for i := range 100 {
		a.Alert(context.Background(), resetflow.Alert{ID: fmt.Sprint(i)})
	}
	a.Start()
	<-p.got
	// One post per interval: nothing more until the clock moves.
	clk.WaitForTimers(1)
	select {
	case <-p.got:
		t.Fatal("posted twice within one interval")
	default:
	}
	for range 3 {
		clk.Advance(time.Second)
		<-p.got
		clk.WaitForTimers(1)
	}
	d := p.delivered()
	if len(d) != 100 {
		t.Fatalf("delivered %d of 100 alerts in 4 posts", len(d))
	}
	for id, n := range d {
		if n != 1 {
			t.Errorf("alert %s delivered %d times", id, n)
		}
	}
	for _, post := range p.posts {
		if len(post) > a.Digest {
			t.Errorf("a digest of %d alerts, more than %d", len(post), a.Digest)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go clk.Advance(time.Second)
	if err := a.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}
