package gcburst

import (
	"runtime/debug"
	"sync"
	"testing"
)

func TestRun(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	tests := []struct {
		name          string
		gogc          int
		during, after int
	}{
		{"default", 100, Percent, 100},
		{"lower", 50, Percent, 50},
		{"already relaxed", 800, 800, 800},
		{"off", -1, -1, -1},
	}
	for _, tt := range tests {
		debug.SetGCPercent(tt.gogc)
		if got := Current(); got != tt.gogc {
			t.Fatalf("%s: Current() = %d after SetGCPercent(%d)", tt.name, got, tt.gogc)
		}
		var during int
		Run(func() { during = Current() })
		if during != tt.during || Current() != tt.after {
			t.Errorf("%s: GOGC %d during, %d after; want %d, %d", tt.name, during, Current(), tt.during, tt.after)
		}
	}
}

// TestRunOverlapping: overlapping bursts restore GOGC only when the last
// one ends, whatever their order.
func TestRunOverlapping(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	firstIn, secondIn, firstOut := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go Run(func() { // the first burst ends while the second runs
		defer wg.Done()
		close(firstIn)
		<-secondIn
	})
	<-firstIn
	var afterFirst int
	go Run(func() {
		defer wg.Done()
		close(secondIn)
		<-firstOut
		afterFirst = Current()
	})
	<-secondIn
	for {
		mu.Lock()
		d := depth
		mu.Unlock()
		if d == 1 {
			break
		}
	}
	close(firstOut)
	wg.Wait()
	for {
		mu.Lock()
		d := depth
		mu.Unlock()
		if d == 0 {
			break
		}
	}
	if afterFirst != Percent || Current() != 100 {
		t.Fatalf("GOGC %d once the first burst ended, %d after both; want %d, 100", afterFirst, Current(), Percent)
	}
}
