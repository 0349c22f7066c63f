package teams

import "time"

// WaitIdle waits until the queued work of every person is done (tests only).
func (a *Adapter) WaitIdle(d time.Duration) bool { return a.queues.Wait(d) }
