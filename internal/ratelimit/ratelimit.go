// Package ratelimit is the error a chat adapter returns when the platform
// refused a call for its rate limit: bot.Alerts waits RetryAfter before it
// posts again.
package ratelimit

import "time"

// Error is a call the platform refused for its rate limit.
type Error struct {
	After  time.Duration // how long the platform asked to wait
	Global bool          // the limit is on the whole bot, not one route (Discord says so)
	Err    error         // the client library's error
	// Text, when set, is the error's message (an adapter that words its own,
	// with anything secret taken out); otherwise Err's message.
	Text string
}

func (e *Error) Error() string {
	if e.Text != "" {
		return e.Text
	}
	return e.Err.Error()
}

// Unwrap returns the client library's error.
func (e *Error) Unwrap() error { return e.Err }

// RetryAfter is how long to wait before trying again.
func (e *Error) RetryAfter() time.Duration { return e.After }
