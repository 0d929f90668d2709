//go:build !linux

package hugeheap

// Enable does nothing where the kernel has no transparent huge pages.
func Enable() (bool, error) { return false, nil }

// Settle does nothing either.
func Settle() error { return nil }
