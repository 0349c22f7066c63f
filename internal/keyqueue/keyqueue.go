// Package keyqueue runs jobs one after another per key (per person) and
// concurrently across keys, without a goroutine for an idle key. Chat adapters
// use it so a person's events are handled in the order they arrived while the
// socket reader and other people never wait.
package keyqueue

import (
	"sync"
	"time"

	"github.com/passcodebot/passcodebot/internal/clock"
)

// Queue is ready to use; it is safe for concurrent use.
type Queue struct {
	Clock clock.Clock // Wait's deadline; nil is the wall clock

	mu     sync.Mutex
	jobs   map[string][]func()
	closed bool
	busy   sync.WaitGroup
}

// Do queues job under key. Jobs of one key run in order; a job of a key that
// is idle starts at once in a new goroutine. After Close, Do drops the job.
func (q *Queue) Do(key string, job func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if q.jobs == nil {
		q.jobs = map[string][]func(){}
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
		job()
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
