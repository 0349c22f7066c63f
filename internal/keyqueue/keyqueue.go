// Package keyqueue runs jobs one after another per key (per person) and
// concurrently across keys, on a bounded set of workers, without a goroutine
// for an idle key. Chat adapters
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

// idleWorker is how long a worker with nothing to do waits for another key
// before it ends.
const idleWorker = 5 * time.Second

// Queue is ready to use; it is safe for concurrent use.
//
// Jobs run on at most Limit worker goroutines. A worker takes the next key
// whose job waits, runs that one job, and goes on with the next key waiting
// (the key goes to the back of the line if it has more); with none waiting,
// it waits up to idleWorker for one before it ends. A goroutine started for
// each idle key grew its stack from the minimum for every job (the engine's
// and SQLite's calls are deep): copying stacks was 5 % of the bot's CPU at
// 1,000 employees at once (issue 17); a worker keeps the stack it grew.
type Queue struct {
	Clock clock.Clock // Wait's deadline; nil is the wall clock
	// Limit is the most jobs that run at once, across keys; 0 means
	// DefaultLimit. Set it before the first Do.
	Limit int

	mu      sync.Mutex
	jobs    map[string][]func() // each key with a job queued or running: its jobs, the running one first
	ready   []string            // keys whose next job waits for a worker, in order
	parked  []chan string       // idle workers, each waiting to be handed a key
	workers int                 // worker goroutines, parked ones included
	closed  bool
	busy    sync.WaitGroup // one per job queued or running
}

// Do queues job under key. Jobs of one key run in order; a job of a key that
// is idle starts as soon as fewer than Limit jobs run. After Close, Do drops
// the job.
func (q *Queue) Do(key string, job func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if q.jobs == nil {
		q.jobs = map[string][]func(){}
	}
	pending, known := q.jobs[key]
	q.jobs[key] = append(pending, job)
	q.busy.Add(1)
	if known {
		return // its worker goes on with it
	}
	switch {
	case len(q.parked) > 0:
		n := len(q.parked) - 1
		wake := q.parked[n]
		q.parked = q.parked[:n]
		wake <- key // buffered: the worker takes it when it wakes
	case q.workers < q.limit():
		q.workers++
		go q.work(key)
	default:
		q.ready = append(q.ready, key)
	}
}

func (q *Queue) limit() int {
	if q.Limit > 0 {
		return q.Limit
	}
	return DefaultLimit
}

// work runs the next job of key, then of each key that waits, until there
// is none for idleWorker or the queue is closed.
func (q *Queue) work(key string) {
	var wake chan string
	for {
		q.mu.Lock()
		job := q.jobs[key][0]
		q.mu.Unlock()
		job()
		q.mu.Lock()
		pending := q.jobs[key]
		pending[0] = nil
		if len(pending) == 1 {
			delete(q.jobs, key)
		} else {
			q.jobs[key] = pending[1:]
			q.ready = append(q.ready, key)
		}
		q.busy.Done()
		if len(q.ready) > 0 {
			key = q.ready[0]
			q.ready[0] = ""
			q.ready = q.ready[1:]
			q.mu.Unlock()
			continue
		}
		if q.closed {
			q.workers--
			q.mu.Unlock()
			return
		}
		if wake == nil {
			wake = make(chan string, 1)
		}
		q.parked = append(q.parked, wake)
		q.mu.Unlock()
		next, ok := q.park(wake)
		if !ok {
			return
		}
		key = next
	}
}

// park waits for a key on wake; ok is false when the worker ends instead
// (idle for idleWorker, or the queue closed).
func (q *Queue) park(wake chan string) (string, bool) {
	t := time.NewTimer(idleWorker)
	defer t.Stop()
	select {
	case key, ok := <-wake:
		if !ok {
			q.mu.Lock()
			q.workers--
			q.mu.Unlock()
		}
		return key, ok
	case <-t.C:
		q.mu.Lock()
		for i, w := range q.parked {
			if w == wake {
				q.parked = append(q.parked[:i], q.parked[i+1:]...)
				q.workers--
				q.mu.Unlock()
				return "", false
			}
		}
		q.mu.Unlock()
		// Handed a key (or closed) as the timer fired: it is in wake already.
		key, ok := <-wake
		if !ok {
			q.mu.Lock()
			q.workers--
			q.mu.Unlock()
		}
		return key, ok
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

// Close refuses new jobs and waits for the queued ones; idle workers end.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	for _, wake := range q.parked {
		close(wake)
	}
	q.parked = nil
	q.mu.Unlock()
	q.busy.Wait()
}
