package cli

import (
	"runtime"
	"testing"
	"time"
)

// TestSleepUntilLetsTheWorldStop: the pacer's raw sleep keeps its
// processor, so a stop of the world (the collector's) must not wait for
// the sleep to end: every other goroutine of the load generator, reading
// answers whose latency is being measured, would wait as long.
func TestSleepUntilLetsTheWorldStop(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	slept := make(chan struct{})
	wake := time.Now().Add(3 * time.Second)
	go func() {
		sleepUntil(wake)
		close(slept)
	}()
	time.Sleep(50 * time.Millisecond) // the goroutine is asleep
	start := time.Now()
	runtime.GC()
	took := time.Since(start)
	t.Logf("GC took %v", took)
	<-slept
	if time.Now().Before(wake) {
		t.Errorf("sleepUntil returned before its time")
	}
	// Without a yield on the signal that asks the sleeper to stop, the
	// collection waits for the whole sleep (about 3 s).
	if took > 1500*time.Millisecond {
		t.Errorf("a collection took %v while the pacer slept: it waited for the sleep", took)
	}
}
