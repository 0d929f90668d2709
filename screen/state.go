package screen

import (
	"sync"
	"time"
)

// Counters keep AbuseFilter's throttle counts: fixed windows that start
// at the first count and are not extended by later ones. The in-memory
// implementation serves one instance; several instances need a shared
// one.
type Counters interface {
	// Get returns the count of key in its current window (0 if none).
	Get(key string, now time.Time) int64
	// Incr adds one to key, starting a window of length ttl if none is
	// open, and returns the new count.
	Incr(key string, ttl time.Duration, now time.Time) int64
}

// Flags keep AbuseFilter's "warned" marks, by key, for ttl.
type Flags interface {
	Get(key string, now time.Time) bool
	Set(key string, v bool, ttl time.Duration, now time.Time)
}

type window struct {
	count   int64
	expires time.Time
}

// memCounters is Counters in memory.
type memCounters struct {
	mu sync.Mutex
	m  map[string]window
}

// NewMemCounters returns in-memory Counters.
func NewMemCounters() Counters { return &memCounters{m: map[string]window{}} }

func (c *memCounters) Get(key string, now time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.m[key]
	if !ok || !now.Before(w.expires) {
		return 0
	}
	return w.count
}

func (c *memCounters) Incr(key string, ttl time.Duration, now time.Time) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	sweep(c.m, now, func(w window) time.Time { return w.expires })
	w, ok := c.m[key]
	if !ok || !now.Before(w.expires) {
		if !ok && len(c.m) >= maxMemEntries {
			return 1 // full: counted as a first hit, not remembered
		}
		w = window{expires: now.Add(ttl)}
	}
	w.count++
	c.m[key] = w
	return w.count
}

// maxMemEntries bounds the in-memory counters and flags: when that many
// are live, new ones are not remembered (a throttle counts less, a warned
// user may be warned again) rather than memory growing without end.
const maxMemEntries = 1 << 20

// sweep deletes expired entries a few at each write, so that memory
// follows the live keys and no write holds the lock over the whole map
// (Go's map iteration starts at a random place, so successive sweeps
// cover all of it).
func sweep[V any](m map[string]V, now time.Time, expires func(V) time.Time) {
	visited := 0
	for k, v := range m {
		if !now.Before(expires(v)) {
			delete(m, k)
		}
		if visited++; visited == 8 {
			return
		}
	}
}

type flag struct {
	v       bool
	expires time.Time
}

type memFlags struct {
	mu sync.Mutex
	m  map[string]flag
}

// NewMemFlags returns in-memory Flags.
func NewMemFlags() Flags { return &memFlags{m: map[string]flag{}} }

func (f *memFlags) Get(key string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	e, ok := f.m[key]
	return ok && now.Before(e.expires) && e.v
}

func (f *memFlags) Set(key string, v bool, ttl time.Duration, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sweep(f.m, now, func(e flag) time.Time { return e.expires })
	if !v {
		delete(f.m, key)
		return
	}
	if _, ok := f.m[key]; !ok && len(f.m) >= maxMemEntries {
		return // full: not remembered (see maxMemEntries)
	}
	f.m[key] = flag{v: v, expires: now.Add(ttl)}
}
