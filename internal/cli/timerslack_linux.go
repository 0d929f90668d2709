package cli

import (
	"fmt"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// takeTimerSlack gives the process the timer slack want (timer_slack),
// if it has another, and reports whether the process must be started
// again for it: a thread's slack is set for that thread alone and passed
// to the threads it creates, and Go's runtime started its threads before
// any of Vigil's code runs, its scheduler's monitor (sysmon) among them.
// The slack survives execve, so once set on this thread the process runs
// itself again, and then every thread has it.
//
// Why: sysmon sleeps 20 µs at a time while the process is busy, and a
// request in a disk sync keeps it busy. At 1,000 requests/s it woke about
// 5,500 times a second, and each wake-up of a thread costs a trap to the
// hypervisor on the virtual machines Vigil was measured on. A slack lets
// the kernel wake it later, with other timers; it delays Go's timers
// (deadlines, tickers) by as much at most, not the reading of sockets
// (docs/performance.md, twenty-fifth session).
func takeTimerSlack(want time.Duration) (again bool, err error) {
	if want <= 0 {
		return false, nil
	}
	// prctl changes the calling thread, which must also be the one that
	// runs execve.
	runtime.LockOSThread()
	cur, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0)
	if err == nil && time.Duration(cur) == want {
		runtime.UnlockOSThread()
		return false, nil
	}
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, uintptr(want.Nanoseconds()), 0, 0, 0); err != nil {
		runtime.UnlockOSThread()
		return false, fmt.Errorf("configuration: timer_slack: %w", err)
	}
	// Left locked: the caller runs execve from this thread (and unlocks
	// it if that fails).
	return true, nil
}
