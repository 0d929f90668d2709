package cli

import (
	"testing"
	"time"
)

// TestSleepUntil: never returns before its time, whether that is past,
// now, under a millisecond or beyond one (how late is for the benchmark
// to report: timings are not pass/fail here).
func TestSleepUntil(t *testing.T) {
	for _, d := range []time.Duration{-time.Millisecond, 0, time.Microsecond, 150 * time.Microsecond, 3 * time.Millisecond} {
		for range 20 {
			due := time.Now().Add(d)
			sleepUntil(due)
			if now := time.Now(); now.Before(due) {
				t.Fatalf("sleepUntil(now%+v) returned %v early", d, due.Sub(now))
			}
		}
	}
}
