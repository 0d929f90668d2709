package rules

import (
	"math"
	"testing"

	"github.com/vigilwiki/vigil/rules/value"
)

// TestFuncCacheTable checks the function cache's table against a Go map
// from key to entry, which it replaced: keys chosen to share their low
// bits (so every probe runs the whole cluster), growth from the first
// table's size to AbuseFilter's 1000 entries, a key's slot taken by
// another call, emptying at 1001 entries, and emptying per action (which
// keeps nothing alive), including when the generation wraps.
func TestFuncCacheTable(t *testing.T) {
	type entry struct {
		fn     uint8
		arg    string
		result string
	}
	var c funcCache
	c.reset()
	model := map[cacheKey]entry{}
	args := func(s string) []value.Value { return []value.Value{value.NewString(s)} }
	check := func(when string) {
		t.Helper()
		for k, e := range model {
			got, ok := c.get(k, e.fn, args(e.arg))
			if !ok || got.Str() != e.result {
				t.Fatalf("%s: key %#x: got %v, %v; want %q", when, k, got, ok, e.result)
			}
			if _, ok := c.get(k, e.fn+1, args(e.arg)); ok {
				t.Fatalf("%s: key %#x: a hit for another function", when, k)
			}
			if _, ok := c.get(k, e.fn, args(e.arg+"x")); ok {
				t.Fatalf("%s: key %#x: a hit for other arguments", when, k)
			}
		}
		if len(c.used) != len(model) {
			t.Fatalf("%s: %d entries, want %d", when, len(c.used), len(model))
		}
	}
	put := func(k cacheKey, e entry) bool {
		flushed := c.put(k, e.fn, args(e.arg), value.NewString(e.result), false)
		model[k] = e
		return flushed
	}
	key := func(i int) cacheKey { return cacheKey(i) << 20 } // all start at slot 0
	for i := range funcCacheMax {
		if put(key(i), entry{uint8(i % 7), "a" + string(rune('0'+i%10)), "r" + string(rune('0'+i%9))}) {
			t.Fatalf("emptied at %d entries", i+1)
		}
		if i == funcCacheSlots || i == funcCacheMax-1 {
			check("growing")
		}
	}
	if len(c.slots) > 2048 {
		t.Errorf("%d slots for %d entries", len(c.slots), len(c.used))
	}
	// Another call with a key already held replaces its entry.
	put(key(5), entry{3, "other", "replaced"})
	if _, ok := c.get(key(5), 5%7, args("a5")); ok {
		t.Error("the replaced call still hits")
	}
	check("replaced")
	if _, ok := c.get(key(funcCacheMax), 0, args("a0")); ok {
		t.Error("a hit for a key never stored")
	}
	// The 1001st entry empties the cache, itself included.
	if !put(key(funcCacheMax), entry{1, "b", "c"}) {
		t.Fatal("1001 entries did not empty the cache")
	}
	clear(model)
	check("emptied")
	if _, ok := c.get(key(1), 1, args("a1")); ok {
		t.Error("a hit after emptying")
	}
	put(key(1), entry{1, "a1", "again"})
	check("after emptying")

	// A new action keeps nothing of the last one alive: no slot holds its
	// arguments or results.
	c.reset()
	for i := range c.slots {
		if sl := c.slots[i]; sl.args != nil || sl.result != (value.Value{}) {
			t.Fatalf("slot %d still holds %v after the reset", i, sl.result)
		}
	}
	for i := range c.arena[:cap(c.arena)] {
		if c.arena[:cap(c.arena)][i] != (value.Value{}) {
			t.Fatalf("the arguments' arena still holds %v after the reset", c.arena[:cap(c.arena)][i])
		}
	}
	clear(model)
	check("next action")

	c.gen = math.MaxUint32
	put(key(2), entry{2, "x", "y"})
	c.reset()
	clear(model)
	if c.gen != 1 {
		t.Errorf("generation after wrapping: %d, want 1", c.gen)
	}
	for i := range c.slots {
		if c.slots[i].gen != 0 {
			t.Fatalf("slot %d kept generation %d after wrapping", i, c.slots[i].gen)
		}
	}
	check("wrapped")
	put(key(3), entry{3, "z", "w"})
	check("after wrapping")
}
