//go:build unix

package cli

import (
	"syscall"
	"time"
)

// processUsage is what this process has used so far.
func processUsage() procUsage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return procUsage{}
	}
	return procUsage{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), faults: int64(ru.Minflt)}
}
