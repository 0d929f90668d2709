package gcburst

import (
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
)

func TestRun(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	tests := []struct {
		name        string
		gogc        int
		limit       int64
		limitDuring func(limit int64) bool // the memory limit during the burst is right
	}{
		{"default", 100, math.MaxInt64, func(l int64) bool { return l < 1<<40 && uint64(l) >= totalMemory() }},
		{"relaxed", 400, math.MaxInt64, func(l int64) bool { return l < 1<<40 && uint64(l) >= totalMemory() }},
		{"lower limit set", 100, 32 << 20, func(l int64) bool { return l == 32<<20 }},
		{"off", -1, math.MaxInt64, func(l int64) bool { return l == math.MaxInt64 }},
	}
	for _, tt := range tests {
		debug.SetGCPercent(tt.gogc)
		debug.SetMemoryLimit(tt.limit)
		if got := Current(); got != tt.gogc {
			t.Fatalf("%s: Current() = %d after SetGCPercent(%d)", tt.name, got, tt.gogc)
		}
		var during int
		var limit int64
		Run(func() { during, limit = Current(), debug.SetMemoryLimit(-1) })
		if during != -1 || !tt.limitDuring(limit) {
			t.Errorf("%s: GOGC %d, memory limit %d during the burst", tt.name, during, limit)
		}
		if Current() != tt.gogc || debug.SetMemoryLimit(-1) != tt.limit {
			t.Errorf("%s: GOGC %d, memory limit %d after; want %d, %d", tt.name, Current(), debug.SetMemoryLimit(-1), tt.gogc, tt.limit)
		}
	}
}

// TestRunNoCollection: a burst that keeps 32 MB runs no collection; the
// same without Run does, at the default GOGC.
func TestRunNoCollection(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64)) // a GOMEMLIMIT would collect
	var kept [][]byte
	build := func() {
		kept = nil
		for range 32 << 20 / 4096 {
			kept = append(kept, make([]byte, 4096))
		}
	}
	runtime.GC() // no cycle under way to finish inside what is counted
	before := cycles()
	build()
	without := cycles() - before
	runtime.GC()
	before = cycles()
	Run(build)
	with := cycles() - before
	if with != 0 || without == 0 {
		t.Errorf("collections while keeping 32 MB: %d in a burst, %d outside one", with, without)
	}
	if len(kept) != 32<<20/4096 {
		t.Fatal("lost allocations")
	}
}

func cycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
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
	if afterFirst != -1 || Current() != 100 {
		t.Fatalf("GOGC %d once the first burst ended, %d after both; want -1 (off), 100", afterFirst, Current())
	}
}

func TestCgroupMemoryMax(t *testing.T) {
	tests := []struct {
		name   string
		cgroup string
		files  map[string]string // under the mount
		want   uint64
		ok     bool
	}{
		{"v2 limited", "0::/app.slice/vigil.service\n", map[string]string{"app.slice/vigil.service/memory.max": "536870912\n"}, 512 << 20, true},
		{"v2 unlimited", "0::/app.slice/vigil.service\n", map[string]string{"app.slice/vigil.service/memory.max": "max\n"}, 0, false},
		{"v2 in a container", "0::/kubepods/pod1/c1\n", map[string]string{"memory.max": "268435456\n"}, 256 << 20, true},
		{"v1 limited", "4:memory:/process_api/x\n0::/\n", map[string]string{"memory/process_api/x/memory.limit_in_bytes": "1073741824\n"}, 1 << 30, true},
		{"v1 unlimited", "5:cpuacct,memory:/x\n0::/\n", map[string]string{"memory/x/memory.limit_in_bytes": "9223372036854771712\n"}, 0, false},
		{"none", "0::/\n", nil, 0, false},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		for name, body := range tt.files {
			p := filepath.Join(dir, "mnt", name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cg := filepath.Join(dir, "cgroup")
		if err := os.WriteFile(cg, []byte(tt.cgroup), 0o644); err != nil {
			t.Fatal(err)
		}
		got, ok := cgroupMemoryMax(cg, filepath.Join(dir, "mnt"))
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: cgroupMemoryMax = %d, %v; want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
	if _, ok := cgroupMemoryMax(filepath.Join(t.TempDir(), "missing"), "/sys/fs/cgroup"); ok {
		t.Error("no cgroup file: a limit was found")
	}
}
