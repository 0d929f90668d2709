// Package hugeheap asks Linux to back the Go heap with transparent huge
// pages where the system leaves that to each program (THP "madvise", the
// default of many distributions). Go's runtime stopped asking for them in
// Go 1.21.1, so every 4 KB of a growing heap costs a page fault. On virtual
// machines whose page faults trap to the hypervisor that was most of a
// fresh process's time: a first compile of the 444 real filters took a
// median of 59 ms there with 6,200 faults, and 26 ms with huge pages.
//
// A long-running process calls Settle once it has started: the heap keeps
// the huge pages it has and takes no more, since the kernel's khugepaged
// would otherwise refill 2 MB regions that Go's scavenger returned, memory
// the process holds without Go knowing (golang/go#64332).
package hugeheap

// Span is how much heap address space Enable covers: more than a start-up
// needs, and address space costs nothing until it is touched.
const Span = 256 << 20
