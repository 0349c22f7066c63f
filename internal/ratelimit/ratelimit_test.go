package ratelimit

import (
	"errors"
	"testing"
	"time"
)

func TestError(t *testing.T) {
	inner := errors.New("slack rate limit exceeded, retry after 3s")
	var err error = &Error{After: 3 * time.Second, Err: inner}
	if err.Error() != inner.Error() {
		t.Errorf("Error() = %q, want the library's %q", err.Error(), inner.Error())
	}
	if !errors.Is(err, inner) {
		t.Error("the library's error is not unwrapped")
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != 3*time.Second {
		t.Error("no RetryAfter of 3s for the runtime")
	}
	worded := &Error{After: time.Second, Global: true, Err: inner, Text: "discord: rate limited"}
	if worded.Error() != "discord: rate limited" {
		t.Errorf("Error() = %q, want the adapter's own text", worded.Error())
	}
}
