package pcre

import (
	"reflect"
	"testing"
)

// TestParseSharesChunks: a parse fills the unused end of the previous
// parse's chunk of nodes, and leaves the previous pattern's nodes as they
// were (an error there would corrupt regexes built from them later).
func TestParseSharesChunks(t *testing.T) {
	patterns := []string{`\bfoo(bar|baz)+\b`, `(?i)casino|poker`, `[a-z]{3,}\d`, `x`, `((a)|b)\2`, `^\s*$`}
	first, _, _, err := parse(patterns[0], flags{})
	if err != nil {
		t.Fatal(err)
	}
	spare.Lock()
	spare.nodes = nil // the next parse starts a chunk, and leaves most of it
	spare.Unlock()
	want, _, _, _ := parse(patterns[0], flags{}) // the same tree, in other memory
	spare.Lock()
	rest := spare.nodes
	spare.Unlock()
	if cap(rest) == 0 {
		t.Fatal("a parse left no spare nodes")
	}
	// `y` is one node: the first of the spare ones.
	second, _, _, err := parse(`y`, flags{})
	if err != nil {
		t.Fatal(err)
	}
	if next := &rest[:1][0]; second != next {
		t.Errorf("the next parse's node is at %p, the spare nodes begin at %p", second, next)
	}
	for range 50 {
		for _, p := range patterns {
			if _, _, _, err := parse(p, flags{}); err != nil {
				t.Fatal(err)
			}
		}
		parse(`(unclosed`, flags{}) // an error gives its chunk back too
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("parses after it changed the nodes of %q", patterns[0])
	}
	again, _, _, _ := parse(patterns[0], flags{})
	if !reflect.DeepEqual(again, want) {
		t.Errorf("%q parses differently from spare nodes", patterns[0])
	}
}
