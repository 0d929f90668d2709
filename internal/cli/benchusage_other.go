//go:build !unix

package cli

// processUsage is unknown here: the bench then reports no CPU time or
// page faults of its own.
func processUsage() procUsage { return procUsage{} }
