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
	waitDrained(a) // the post is recorded just before the queue drops it
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

// slackLike is a poster that holds capacity alerts per post and, like Slack's
// per-channel limit, refuses a post less than a second after the previous one.
type slackLike struct {
	poster
	clk      *clock.Fake
	capacity int
	last     time.Time
	refused  int
	at       map[string]time.Time // alert id -> when its post went through
}

func (s *slackLike) MaxAlertsPerPost() int { return s.capacity }

func (s *slackLike) PostAlerts(ctx context.Context, as []resetflow.Alert) error {
	now := s.clk.Now()
	s.mu.Lock()
	limited := !s.last.IsZero() && now.Sub(s.last) < time.Second
	if !limited {
		s.last = now
		for _, a := range as {
			if _, ok := s.at[a.ID]; !ok {
				s.at[a.ID] = now
			}
		}
	} else {
		s.refused++
	}
	s.mu.Unlock()
	if limited {
		s.mu.Lock()
		s.calls++
		s.mu.Unlock()
		s.got <- struct{}{}
		return rateLimited{time.Second}
	}
	return s.poster.PostAlerts(ctx, as)
}

// TestAlertBurstFoldsIntoFullDigests: 1,000 alerts over 10 s into a channel
// that takes one post a second all arrive within 60 s, each exactly once, in
// posts no larger than the poster holds; a deep queue fills each post.
func TestAlertBurstFoldsIntoFullDigests(t *testing.T) {
	start := time.Unix(0, 0)
	clk := clock.NewFake(start)
	p := &slackLike{poster: poster{got: make(chan struct{}, 1000)}, clk: clk, capacity: 49, at: map[string]time.Time{}}
	a := NewAlerts(clk, nil, p)
	a.Start()
	raised := map[string]time.Time{}
	const total, perSecond = 1000, 100
	next := 0
	raise := func() {
		for range perSecond {
			if next < total {
				id := fmt.Sprint(next)
				raised[id] = clk.Now()
				a.Alert(context.Background(), resetflow.Alert{ID: id, Kind: resetflow.AlertContactSupport})
				next++
			}
		}
	}
	raise()
	<-p.got // the first post, at once
	for clk.Now().Sub(start) < 2*time.Minute && (next < total || a.Pending() > 0) {
		clk.WaitForTimers(1) // the queue waits out its interval
		clk.Advance(time.Second)
		pending := a.Pending()
		raise()
		if pending > 0 {
			<-p.got
		}
	}
	d := p.delivered()
	if len(d) != total {
		t.Fatalf("delivered %d of %d alerts", len(d), total)
	}
	for id, n := range d {
		if n != 1 {
			t.Errorf("alert %s delivered %d times", id, n)
		}
	}
	var last time.Time
	var worst time.Duration
	for id, at := range p.at {
		if at.After(last) {
			last = at
		}
		worst = max(worst, at.Sub(raised[id]))
	}
	if all := last.Sub(start); all > 60*time.Second {
		t.Errorf("the last alert was posted %v after the first was raised, want within 60s", all)
	}
	for _, post := range p.posts {
		if len(post) > p.capacity {
			t.Errorf("a post of %d alerts, more than the %d one holds", len(post), p.capacity)
		}
	}
	if p.refused != 0 {
		t.Errorf("%d posts refused for the rate limit; the queue's pace should avoid them", p.refused)
	}
	t.Logf("%d posts, all delivered %v after the first alert, worst delay %v", len(p.posts), last.Sub(start), worst)
}

// TestAlertDigestSizeFollowsDepth: a queue deeper than Digest fills the post to
// the poster's capacity; the rest, no deeper than Digest, goes whole.
func TestAlertDigestSizeFollowsDepth(t *testing.T) {
	clk := clock.NewFake(time.Unix(0, 0))
	p := &slackLike{poster: poster{got: make(chan struct{}, 100)}, clk: clk, capacity: 49, at: map[string]time.Time{}}
	a := NewAlerts(clk, nil, p)
	for i := range 60 {
		a.Alert(context.Background(), resetflow.Alert{ID: fmt.Sprint(i)})
	}
	a.Start()
	<-p.got
	clk.WaitForTimers(1)
	clk.Advance(time.Second)
	<-p.got
	if got := []int{len(p.posts[0]), len(p.posts[1])}; got[0] != 49 || got[1] != 11 {
		t.Errorf("posts of %v alerts; want 49 (deep queue: full post) then 11 (the rest)", got)
	}
}
