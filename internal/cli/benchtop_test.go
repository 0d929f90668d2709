package cli

import (
	"testing"
	"time"

	"github.com/vigilwiki/vigil/rules"
)

// TestFilterTimes: the per-filter times of --top leave out the actions
// that took over interruptedFactor times their varset's median, so that a
// stall does not land on whichever filter was running; a varset whose
// every action is over the limit counts them all.
func TestFilterTimes(t *testing.T) {
	action := func(times ...time.Duration) *rules.Result {
		res := &rules.Result{}
		for _, d := range times {
			res.Filters = append(res.Filters, rules.FilterResult{Time: d})
			res.Time += d
		}
		return res
	}
	const us = time.Microsecond
	// Varset 0: median 10 µs, so actions over 40 µs are interrupted.
	// Varset 1: median 1 µs, but every action takes 10 µs.
	ft := newFilterTimes(3, []time.Duration{10 * us, 1 * us})
	for pass := range 100 {
		if pass == 50 {
			// A 3 ms stall while filter 2 ran.
			ft.add(0, action(2*us, 1*us, 3000*us))
		} else {
			ft.add(0, action(2*us, 1*us, 7*us))
		}
		ft.add(1, action(4*us, 4*us, 2*us))
	}
	if ft.leftOut != 101 {
		t.Errorf("left out %d actions, want 101 (the stalled one and all of varset 1's)", ft.leftOut)
	}
	// Filter 2: 7 µs in varset 0 (the stall left out), 2 µs in varset 1
	// (all of them, since none was kept).
	for i, want := range []float64{3000, 2500, 4500} {
		if got := ft.mean(i); got != want {
			t.Errorf("filter %d: mean %v ns, want %v", i, got, want)
		}
	}

	// Without a limit (a median of 0) nothing is left out.
	ft = newFilterTimes(1, []time.Duration{0})
	ft.add(0, action(5*us))
	ft.add(0, action(3000*us))
	if ft.leftOut != 0 || ft.mean(0) != float64(3005*us)/2 {
		t.Errorf("without a limit: left out %d, mean %v", ft.leftOut, ft.mean(0))
	}
	if got := newFilterTimes(2, []time.Duration{us}).mean(1); got != 0 {
		t.Errorf("no actions: mean %v, want 0", got)
	}
}
