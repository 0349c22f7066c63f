// Package keyqueue runs jobs one after another per key (per person) and
// concurrently across keys, without a goroutine for an idle key. Chat adapters
// use it so a person's events are handled in the order they arrived while the
// socket reader and other people never wait.
//
// A Queue runs at most Limit jobs at once (DefaultLimit when zero); the
// others wait their turn. Queuing never blocks: the socket reader that calls
// Do goes on reading.
package keyqueue

import (
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// DefaultLimit is how many jobs of a Queue run at once when Limit is zero.
// With a thousand people acting at once (bench/load), a goroutine running
// for each busy person held 123-129 MiB at peak against the floor's 71-73;
// at most 128 at once held 72 MiB (1.09x the floor's), 256 held 84, and the
// reply times did not change beyond the run-to-run noise (issue 17). A job
// mostly waits on the network: 128 is twice the 64 connections the chat
// adapters keep to their platform.
const DefaultLimit = 128

// Queue is ready to use; it is safe for concurrent use.
type Queue struct {
	Clock clock.Clock // Wait's deadline; nil is the wall clock
	// Limit is the most jobs that run at once, across keys; 0 means
	// DefaultLimit. Set it before the first Do.
	Limit int

	mu     sync.Mutex
	jobs   map[string][]func()
	closed bool
	busy   sync.WaitGroup
	slots  chan struct{} // a token per running job
}

// Do queues job under key. Jobs of one key run in order; a job of a key that
// is idle starts in a new goroutine as soon as fewer than Limit jobs run.
// After Close, Do drops the job.
func (q *Queue) Do(key string, job func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if q.jobs == nil {
		q.jobs = map[string][]func(){}
		n := q.Limit
		if n <= 0 {
			n = DefaultLimit
		}
		q.slots = make(chan struct{}, n)
	}
	pending, running := q.jobs[key]
	q.jobs[key] = append(pending, job)
	if !running {
		q.busy.Add(1)
		go q.drain(key)
	}
}

func (q *Queue) drain(key string) {
	defer q.busy.Done()
	for {
		q.mu.Lock()
		pending := q.jobs[key]
		if len(pending) == 0 {
			delete(q.jobs, key)
			q.mu.Unlock()
			return
		}
		job := pending[0]
		pending[0] = nil
		q.jobs[key] = pending[1:]
		q.mu.Unlock()
		q.slots <- struct{}{}
		job()
		<-q.slots
	}
}

// Wait waits up to d for every queued job to finish; it reports whether they did.
func (q *Queue) Wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { q.busy.Wait(); close(done) }()
	clk := q.Clock
	if clk == nil {
		clk = clock.Real{}
	}
	select {
	case <-done:
		return true
	case <-clk.After(d):
		return false
	}
}

// Close refuses new jobs and waits for the queued ones.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.busy.Wait()
}
