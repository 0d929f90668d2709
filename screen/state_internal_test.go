package screen

import (
	"fmt"
	"testing"
	"time"
)

// TestMemStateForgetsExpired: expired counters and warn flags are dropped
// as writes go on, so memory follows the live keys.
func TestMemStateForgetsExpired(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := NewMemCounters().(*memCounters)
	f := NewMemFlags().(*memFlags)
	for i := range 10000 {
		c.Incr(fmt.Sprint("ip-", i), time.Second, t0)
		f.Set(fmt.Sprint("warn-", i), true, time.Second, t0)
	}
	if len(c.m) != 10000 || len(f.m) != 10000 {
		t.Fatalf("%d counters, %d flags", len(c.m), len(f.m))
	}
	later := t0.Add(2 * time.Second)
	for range 20000 {
		c.Incr("live", time.Minute, later)
		f.Set("live", true, time.Minute, later)
	}
	if len(c.m) > 100 || len(f.m) > 100 {
		t.Fatalf("expired entries kept: %d counters, %d flags", len(c.m), len(f.m))
	}
	if c.Get("live", later) != 20000 || !f.Get("live", later) {
		t.Fatal("the live entry was lost")
	}
}
