//go:build !linux

package cli

import "time"

// takeTimerSlack: timer slack is Linux's; elsewhere timer_slack does
// nothing.
func takeTimerSlack(time.Duration) (again bool, err error) { return false, nil }
