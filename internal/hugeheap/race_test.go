//go:build race

package hugeheap

// The race detector maps shadow memory beside the heap, with faults of its own.
const raceEnabled = true
