package hugeheap

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestEnableRespectsGODEBUG: Go's own switch against huge pages wins.
func TestEnableRespectsGODEBUG(t *testing.T) {
	t.Setenv("GODEBUG", "madvdontneed=1,disablethp=1")
	if ok, err := Enable(); ok || err != nil {
		t.Errorf("Enable() with disablethp=1 = %v, %v; want false, nil", ok, err)
	}
}

// TestEnableThenSettle grows the heap by 64 MB after Enable: the memory it
// lands in must be advised for huge pages (the kernel's VmFlags "hg"), and
// where the kernel had huge pages to give, cost one fault per 2 MB rather
// than one per 4 KB page. After Settle the same memory is advised against
// them ("nh").
func TestEnableThenSettle(t *testing.T) {
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
	probe := uintptr(unsafe.Pointer(&keep[len(keep)/2][0]))
	flags, hugeKB := mapping(t, probe)
	if !strings.Contains(flags, " hg") {
		t.Fatalf("new heap at %#x: VmFlags %q, want hg (advised for huge pages)", probe, flags)
	}
	const pages = size / 4096
	switch {
	case hugeKB == 0:
		t.Logf("the kernel gave no huge pages (fragmented memory?): %d faults for %d pages", got, pages)
	case raceEnabled:
		t.Logf("%d faults for %d pages, the race detector's shadow memory's included", got, pages)
	case got > pages/8:
		t.Errorf("64 MB of new heap took %d page faults (%d pages) with %d KB in huge pages", got, pages, hugeKB)
	}

	if err := Settle(); err != nil {
		t.Fatal(err)
	}
	if flags, _ := mapping(t, probe); strings.Contains(flags, " hg") || !strings.Contains(flags, " nh") {
		t.Errorf("after Settle: VmFlags %q, want nh and not hg", flags)
	}
	if err := Settle(); err != nil {
		t.Errorf("a second Settle: %v", err)
	}
	if len(keep) != size/32768 {
		t.Fatal("lost allocations")
	}
}

func faults(t *testing.T) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return int64(ru.Minflt)
}

// mapping reads /proc/self/smaps for the mapping holding addr: its VmFlags
// (with a leading space) and its AnonHugePages in KB.
func mapping(t *testing.T, addr uintptr) (flags string, hugeKB int) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if r, _, ok := strings.Cut(line, " "); ok && strings.Contains(r, "-") && !strings.HasSuffix(r, ":") {
			a, b, _ := strings.Cut(r, "-")
			start, err1 := strconv.ParseUint(a, 16, 64)
			end, err2 := strconv.ParseUint(b, 16, 64)
			in = err1 == nil && err2 == nil && uint64(addr) >= start && uint64(addr) < end
			continue
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			hugeKB, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
		if v, ok := strings.CutPrefix(line, "VmFlags:"); ok {
			return v, hugeKB
		}
	}
	t.Fatalf("no mapping holds %#x", addr)
	return "", 0
}
