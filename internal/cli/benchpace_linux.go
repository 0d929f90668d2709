package cli

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sleepUntil sleeps until t with the kernel's timer precision. time.Sleep
// cannot: when the process has nothing else to run, Go's runtime waits in
// epoll, whose timeout is whole milliseconds, so an open loop of 1,000
// requests/s sent them 0.4 ms late in the median and 2 ms at the p99, and
// in bursts; the latencies, counted from when requests were due, charged
// that to the server.
//
// The sleep is a raw system call, which the runtime does not see: through
// syscall.Syscall, a thread asleep in a system call 1,000 times a second kept
// the runtime's monitor thread polling every 20 µs to take its processor
// away, 40 % of the load generator's CPU on a machine it shares with the
// server (docs/performance.md, twenty-eighth session). The goroutine keeps
// its processor while it sleeps; the load generator has another. The
// runtime's signal asking it to stop (for the collector, say) ends the
// sleep early, and the loop's next call stops it, so the world does not
// wait for the sleep (TestSleepUntilLetsTheWorldStop).
func sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := unix.NsecToTimespec(int64(d))
		// Interrupted (EINTR): the loop sleeps what is left.
		unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
}
