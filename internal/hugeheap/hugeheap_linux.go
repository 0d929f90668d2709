package hugeheap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

const hugePage = 2 << 20

// sink keeps the probe allocation on the heap.
var sink []byte

// Enable marks the next Span bytes of the heap for huge pages, and reports
// whether it did. It does nothing where it would not help or is not wanted:
// THP "always" (the kernel does it already) or "never", strict overcommit
// (where mapping Span could fail), a 32-bit address space, and
// GODEBUG=disablethp=1, Go's own switch against huge pages for the heap.
//
// It has the runtime map Span bytes with one large allocation that is never
// touched (fresh memory is known to be zero), advises the range from the
// heap's first object to the allocation's end, and lets the collector free
// the allocation, so that later objects fill the advised range. Heap mapped
// beyond it keeps small pages.
func Enable() (bool, error) {
	if !wanted() {
		return false, nil
	}
	first := make([]byte, 64)
	sink = first
	big := make([]byte, Span)
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(first)))
	b := uintptr(unsafe.Pointer(unsafe.SliceData(big)))
	hi := b + Span
	if b < lo || b-lo > Span {
		// Not the one growing range the runtime uses on Linux:
		// advise only the allocation.
		lo = b
	}
	lo &^= hugePage - 1
	hi = (hi + hugePage - 1) &^ (hugePage - 1)
	start := unsafe.Add(unsafe.Pointer(unsafe.SliceData(big)), -int(b-lo))
	// A range with holes (address space not mapped) gives ENOMEM after
	// advising what is mapped.
	err := unix.Madvise(unsafe.Slice((*byte)(start), hi-lo), unix.MADV_HUGEPAGE)
	runtime.KeepAlive(big)
	sink, big = nil, nil
	runtime.GC()
	if err != nil && !errors.Is(err, unix.ENOMEM) {
		return false, fmt.Errorf("advise huge pages for the heap: %w", err)
	}
	return true, nil
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
	return err == nil && strings.TrimSpace(string(over)) != "2"
}
