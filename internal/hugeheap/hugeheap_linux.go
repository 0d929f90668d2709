package hugeheap

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugePage = 2 << 20

var (
	sink []byte // keeps the first probe on the heap

	mu     sync.Mutex
	lo, hi uintptr // the advised range; hi == 0: none
)

// Enable marks the next Span bytes of the heap for huge pages, and reports
// whether it did. It does nothing where it would not help or could harm:
// THP "always" (the kernel does it already) or "never", strict overcommit
// or a limit on the address space (where mapping Span could fail, which the
// runtime treats as fatal), a 32-bit address space, and
// GODEBUG=disablethp=1, Go's own switch against huge pages for the heap.
//
// It has the runtime map Span bytes with one large allocation that is never
// touched (fresh memory is known to be zero), advises the range from the
// heap's first object to the allocation's end, and frees the allocation,
// returning its pages to the system at once, so that the objects that follow
// fill the advised range. Heap mapped beyond it keeps small pages.
func Enable() (bool, error) {
	if !wanted() {
		return false, nil
	}
	first := make([]byte, 64)
	sink = first
	big := make([]byte, Span)
	// Addresses only: no pointer is made from them.
	f := uintptr(unsafe.Pointer(unsafe.SliceData(first)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(big)))
	start, end := f, b+Span
	if b < f || b-f > Span {
		// Not the one growing range the runtime uses on Linux: advise
		// only the allocation.
		start = b
	}
	start &^= hugePage - 1
	end = (end + hugePage - 1) &^ (hugePage - 1)
	// A range with holes (address space not mapped) gives ENOMEM after
	// advising what is mapped.
	err := madvise(start, end-start, unix.MADV_HUGEPAGE)
	runtime.KeepAlive(first)
	runtime.KeepAlive(big)
	sink, big = nil, nil
	// Collect the allocation and return its pages (never touched, so this
	// is cheap): otherwise the runtime counts them as held until its
	// scavenger gets to them, and so does a memory limit derived from that.
	debug.FreeOSMemory()
	if err != nil && err != unix.ENOMEM {
		return false, fmt.Errorf("advise huge pages for the heap: %w", err)
	}
	mu.Lock()
	lo, hi = start, end
	mu.Unlock()
	return true, nil
}

// Settle keeps the huge pages the advised range has and lets it take no
// more (MADV_NOHUGEPAGE), for a process that has finished starting.
func Settle() error {
	mu.Lock()
	defer mu.Unlock()
	if hi == 0 {
		return nil
	}
	err := madvise(lo, hi-lo, unix.MADV_NOHUGEPAGE)
	lo, hi = 0, 0
	if err != nil && err != unix.ENOMEM {
		return fmt.Errorf("settle the heap's huge pages: %w", err)
	}
	return nil
}

func madvise(addr, n uintptr, advice int) error {
	if _, _, e := unix.Syscall(unix.SYS_MADVISE, addr, n, uintptr(advice)); e != 0 {
		return e
	}
	return nil
}

func wanted() bool {
	if unsafe.Sizeof(uintptr(0)) < 8 {
		return false // Span is too much of a 32-bit address space
	}
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if strings.TrimSpace(kv) == "disablethp=1" {
			return false
		}
	}
	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || !bytes.Contains(mode, []byte("[madvise]")) {
		return false
	}
	over, err := os.ReadFile("/proc/sys/vm/overcommit_memory")
	if err != nil || strings.TrimSpace(string(over)) == "2" {
		return false
	}
	var as unix.Rlimit
	return unix.Getrlimit(unix.RLIMIT_AS, &as) == nil && as.Cur == unix.RLIM_INFINITY
}
