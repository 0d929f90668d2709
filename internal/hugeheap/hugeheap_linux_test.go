package hugeheap

import (
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestEnable grows the heap by 64 MB after Enable and counts the page faults
// that cost: one per 4 KB page without huge pages, one per 2 MB with them.
func TestEnable(t *testing.T) {
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !strings.Contains(string(mode), "[madvise]") {
		t.Skipf("the kernel's THP mode is not madvise (%q, %v): Enable has nothing to do", mode, err)
	}
	ok, err := Enable()
	if err != nil || !ok {
		t.Fatalf("Enable() = %v, %v", ok, err)
	}
	const size = 64 << 20
	before := faults(t)
	keep := make([][]byte, 0, size/32768)
	for range size / 32768 {
		b := make([]byte, 32768)
		for i := 0; i < len(b); i += 4096 {
			b[i] = 1
		}
		keep = append(keep, b)
	}
	got := faults(t) - before
	const pages = size / 4096
	if got > pages/8 {
		t.Errorf("64 MB of new heap took %d page faults (%d pages): not huge pages", got, pages)
	}
	if len(keep) != size/32768 {
		t.Fatal("lost allocations")
	}
}

// TestEnableRespectsGODEBUG: Go's own switch against huge pages wins.
func TestEnableRespectsGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "madvdontneed=1,disablethp=1")
	if ok, err := Enable(); ok || err != nil {
		t.Errorf("Enable() with disablethp=1 = %v, %v; want false, nil", ok, err)
	}
}

func faults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return int64(ru.Minflt)
}
