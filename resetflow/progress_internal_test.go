package resetflow

import (
	"testing"
	"time"
)

// TestPollSchedule: every 2 s for the first two minutes, every 10 s until five,
// then every 30 s; at most 98 reads per reset with the defaults.
func TestPollSchedule(t *testing.T) {
	cfg := DefaultConfig()
	for _, tt := range []struct {
		elapsed, want time.Duration
	}{
		{0, 2 * time.Second}, {7 * time.Second, 2 * time.Second}, {119 * time.Second, 2 * time.Second},
		{2 * time.Minute, 10 * time.Second}, {299 * time.Second, 10 * time.Second},
		{5 * time.Minute, 30 * time.Second}, {14 * time.Minute, 30 * time.Second},
	} {
		if got := pollDelay(cfg, tt.elapsed); got != tt.want {
			t.Errorf("pollDelay(%v) = %v; want %v", tt.elapsed, got, tt.want)
		}
	}
	reads := 0
	for el := time.Duration(0); ; {
		el += pollDelay(cfg, el)
		if el > cfg.PollTimeout {
			break
		}
		reads++
	}
	if reads != 98 {
		t.Errorf("%d reads until poll_timeout; the README states 98", reads)
	}
	// A tiny poll_max never makes the middle phase faster than poll_first.
	small := cfg
	small.PollFirst, small.PollMax = 20*time.Millisecond, 40*time.Millisecond
	if got := pollDelay(small, 3*time.Minute); got != 40*time.Millisecond {
		t.Errorf("pollDelay with poll_max 40ms = %v", got)
	}
}

// TestReadPacer: reads of many resets at once are spaced GraphReadsPerSecond apart.
func TestReadPacer(t *testing.T) {
	var p readPacer
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var last time.Time
	for i := 0; i < 3*GraphReadsPerSecond; i++ {
		last = p.slot(at)
	}
	if want := at.Add(time.Duration(3*GraphReadsPerSecond-1) * time.Second / GraphReadsPerSecond); !last.Equal(want) {
		t.Errorf("the %dth read at once got slot %v; want %v", 3*GraphReadsPerSecond, last.Sub(at), want.Sub(at))
	}
	if got := p.slot(at.Add(time.Hour)); !got.Equal(at.Add(time.Hour)) {
		t.Errorf("a read after a quiet hour waits: %v", got)
	}
}
