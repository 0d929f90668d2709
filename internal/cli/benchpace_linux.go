package cli

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepUntil sleeps until t with the kernel's timer precision. time.Sleep
// cannot: when the process has nothing else to run, Go's runtime waits in
// epoll, whose timeout is whole milliseconds, so an open loop of 1,000
// requests/s sent them 0.4 ms late in the median and 2 ms at the p99, and
// in bursts; the latencies, counted from when requests were due, charged
// that to the server.
func sleepUntil(t time.Time) {
	for {
		d := time.Until(t)
		if d <= 0 {
			return
		}
		ts := unix.NsecToTimespec(int64(d))
		_ = unix.Nanosleep(&ts, nil) // interrupted: the loop sleeps what is left
	}
}
