// Package gcburst holds the garbage collector off during a burst of
// allocation whose result is mostly kept, such as compiling a filter set.
// In a fresh process the heap is small, so at the default GOGC the
// collector runs again and again while the set is built, only to find the
// set itself alive: it was about half of a first compile's time (26.6 ms
// against 13.8 ms with GOGC=400, `vigil rules bench`, 444 filters), and at
// GOGC=400 the two collections left still cost a sixth (median 26.5 against
// 21.8 ms with none, twelfth machine).
package gcburst

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// Headroom is how much the process's memory may grow during a burst before
// the collector runs anyway (a memory limit, with the collector otherwise
// off): the 444 real filters take 12 MB to compile.
const Headroom = 128 << 20

var (
	mu          sync.Mutex
	depth       int   // bursts under way
	gogc        int   // GOGC before the first of them
	limitBefore int64 // the memory limit before the first of them
)

// Run calls f with the collector off up to a memory limit of Headroom more
// than the process holds now (or the limit already set, if lower), and
// restores both once no burst is under way (bursts may overlap: several
// wikis' sets compile at once). A collector that is off is left as it is.
func Run(f func()) {
	enter()
	defer leave()
	f()
}

func enter() {
	mu.Lock()
	defer mu.Unlock()
	if depth == 0 {
		gogc = Current()
		if gogc >= 0 {
			limitBefore = debug.SetMemoryLimit(-1)
			limit := int64(min(uint64(math.MaxInt64-Headroom), totalMemory())) + Headroom
			debug.SetMemoryLimit(min(limit, limitBefore))
			debug.SetGCPercent(-1)
		}
	}
	depth++
}

func leave() {
	mu.Lock()
	defer mu.Unlock()
	depth--
	if depth == 0 && gogc >= 0 {
		debug.SetGCPercent(gogc)
		debug.SetMemoryLimit(limitBefore)
	}
}

// Current is GOGC now (-1: off), read without changing it.
func Current() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 100
	}
	v := s[0].Value.Uint64()
	if v > 1<<31 { // off reads as the largest value
		return -1
	}
	return int(v)
}

// totalMemory is all the memory the Go runtime has mapped and not released,
// what a memory limit counts.
func totalMemory() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 || s[1].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64() - s[1].Value.Uint64()
}
