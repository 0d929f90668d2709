// Package gcburst holds the garbage collector off during a burst of
// allocation whose result is mostly kept, such as compiling a filter set.
// In a fresh process the heap is small, so at the default GOGC the
// collector runs again and again while the set is built, only to find the
// set itself alive: it was about half of a first compile's time (26.6 ms
// against 13.8 ms with GOGC=400, `vigil rules bench`, 444 filters), and at
// GOGC=400 the two collections left still cost a sixth (median 26.5 against
// 21.8 ms with none, twelfth machine).
//
// A burst restores GOGC and the memory limit it found: a change made to
// either while a burst is under way is undone when it ends, so a process
// sets them before it compiles (vigil serve does).
package gcburst

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
)

// Headroom is how much the process's memory may grow during a burst before
// the collector runs anyway (a memory limit, with the collector otherwise
// off): the 444 real filters take 12 MB to compile. Where the process's
// cgroup limits its memory, it is at most half of what that limit leaves.
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
			total := min(uint64(math.MaxInt64-Headroom), totalMemory())
			room := uint64(Headroom)
			if max, ok := cgroupMax(); ok {
				room = min(room, (max-min(max, total))/2)
			}
			debug.SetMemoryLimit(min(int64(total+room), limitBefore))
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

// cgroupMax is this process's cgroup memory limit, read once: a compile
// should not read files each time it starts.
var cgroupMax = sync.OnceValues(func() (uint64, bool) {
	return cgroupMemoryMax("/proc/self/cgroup", "/sys/fs/cgroup")
})

// cgroupMemoryMax is the memory limit of this process's cgroup, read from
// the cgroup file (/proc/self/cgroup) and the cgroup mount: v2's
// memory.max, or v1's memory.limit_in_bytes. Inside a container the path
// the file names may not exist under the mount, which then holds the
// container's own cgroup at its root.
func cgroupMemoryMax(cgroupFile, mount string) (uint64, bool) {
	f, err := os.Open(cgroupFile)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	var v1, v2 string
	haveV1, haveV2 := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2, haveV2 = parts[2], true
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1, haveV1 = parts[2], true
			}
		}
	}
	read := func(dirs []string, file string) (uint64, bool) {
		for _, d := range dirs {
			b, err := os.ReadFile(filepath.Join(d, file))
			if err != nil {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
			// "max", or v1's unlimited (a page-rounded int64 maximum)
			return n, err == nil && n < 1<<62
		}
		return 0, false
	}
	if haveV1 {
		if n, ok := read([]string{filepath.Join(mount, "memory", v1), filepath.Join(mount, "memory")}, "memory.limit_in_bytes"); ok {
			return n, true
		}
	}
	if haveV2 {
		return read([]string{filepath.Join(mount, v2), mount}, "memory.max")
	}
	return 0, false
}
