//go:build !linux

package cli

import "time"

// sleepUntil sleeps until t (see the Linux version for why it exists).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }
