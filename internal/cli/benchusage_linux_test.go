package cli

import (
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestProcessUsage reads this process's usage both ways the bench does (its
// own rusage, and /proc/PID/stat as for the child server): both must see
// the faults of touching fresh memory, and agree on them.
func TestProcessUsage(t *testing.T) {
	before, beforeStat := processUsage(), childUsage(os.Getpid())
	mem, err := syscall.Mmap(-1, 0, 8<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	// One fault per 4 KB page, whatever the system's huge page setting.
	if err := unix.Madvise(mem, unix.MADV_NOHUGEPAGE); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	after, afterStat := processUsage(), childUsage(os.Getpid())
	d, dStat := after.sub(before), afterStat.sub(beforeStat)
	const pages = 8 << 20 / 4096
	if d.faults < pages || dStat.faults < pages {
		t.Errorf("touching %d new pages: %d faults by rusage, %d by /proc", pages, d.faults, dStat.faults)
	}
	if diff := after.faults - afterStat.faults; diff < -pages/4 || diff > pages/4 {
		t.Errorf("faults so far: %d by rusage, %d by /proc", after.faults, afterStat.faults)
	}
	if afterStat.cpu <= 0 || afterStat.cpu > after.cpu+time.Second {
		t.Errorf("CPU so far: %v by rusage, %v by /proc", after.cpu, afterStat.cpu)
	}
}
