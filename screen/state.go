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
	mu  sync.Mutex
	m   map[string]window
	ops int
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
	c.sweep(now)
	w, ok := c.m[key]
	if !ok || !now.Before(w.expires) {
		w = window{expires: now.Add(ttl)}
	}
	w.count++
	c.m[key] = w
	return w.count
}

// sweep drops expired windows now and then, so memory follows the active
// keys only.
func (c *memCounters) sweep(now time.Time) {
	c.ops++
	if c.ops%1024 != 0 {
		return
	}
	for k, w := range c.m {
		if !now.Before(w.expires) {
			delete(c.m, k)
		}
	}
}

type flag struct {
	v       bool
	expires time.Time
}

type memFlags struct {
	mu  sync.Mutex
	m   map[string]flag
	ops int
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
	f.ops++
	if f.ops%1024 == 0 {
		for k, e := range f.m {
			if !now.Before(e.expires) {
				delete(f.m, k)
			}
		}
	}
	if !v {
		delete(f.m, key)
		return
	}
	f.m[key] = flag{v: v, expires: now.Add(ttl)}
}
