package rules

import (
	"slices"

	"github.com/vigilwiki/vigil/rules/prefilter"
)

// ResetRegexCache empties the process-wide regex cache, so that a
// benchmark can measure a compile from nothing.
func ResetRegexCache() {
	regexCache.Lock()
	clear(regexCache.m)
	regexCache.Unlock()
}

// LiteralScanner returns a function that scans a text with the set's
// literal index, for benchmarks.
func LiteralScanner(s *Set) func(text string) {
	found := make(prefilter.Set, s.literals.Words())
	return func(text string) {
		clear(found)
		s.literals.Scan(text, found)
	}
}

// WithoutGuards returns s with every filter run from its start as
// written, its guards' shared answers unused: what a Set's results must
// equal.
func WithoutGuards(s *Set) *Set {
	c := &Set{ids: s.ids, programs: s.programs, scope: s.scope, literals: s.literals, runs: slices.Clone(s.runs), code: s.code, guardCode: s.guardCode}
	for i := range c.runs {
		c.runs[i].n = 0
	}
	c.pool.New = func() any { return &State{} }
	return c
}

// WithoutCode returns s with every test run through its closures rather
// than from instructions (see code.go): what a Set's results must equal.
func WithoutCode(s *Set) *Set {
	c := &Set{ids: s.ids, programs: s.programs, scope: s.scope, literals: s.literals, staticShared: s.staticShared}
	c.planRuns(true)
	c.pool.New = func() any { return &State{} }
	return c
}

// WithoutLiteralIndex returns s with no literal index: every regex and
// containment test looks for its own literals in its subject, and no
// subject is scanned. What a Set's results must equal.
func WithoutLiteralIndex(s *Set) *Set {
	c := &Set{ids: s.ids, programs: s.programs, scope: s.scope, runs: s.runs, code: s.code, guardCode: s.guardCode, staticShared: s.staticShared}
	c.pool.New = func() any { return &State{} }
	return c
}

// CodeCalls returns the number of instructions in s's code that call a
// closure (see code.go) and of all of them.
func CodeCalls(s *Set) (calls, all int) {
	for _, in := range s.code {
		if in.op == opCall {
			calls++
		}
	}
	return calls, len(s.code)
}

// NewSetCachingAll compiles filters into a Set whose calls all use the
// function cache, as AbuseFilter's do (none cache-free; see
// markCacheFree): what a Set's results must equal.
func NewSetCachingAll(filters []FilterSource) *Set {
	set, _ := NewSet(filters)
	for _, p := range set.programs {
		for _, site := range slices.Concat(p.statics, p.dynamic) {
			site.cacheFree = false
		}
	}
	return set
}

// Guards returns the number of distinct guards in s, of their uses, and
// of filters that have any.
func Guards(s *Set) (distinct, uses, guarded int) {
	for _, r := range s.runs {
		if r.n > 0 {
			guarded++
		}
		uses += int(r.n)
	}
	return len(s.guardCode), uses, guarded
}

// StaticOps returns the number of distinct static keyword operators in s
// and of those whose answers an action remembers.
func StaticOps(s *Set) (distinct, shared int) {
	ids := map[int]bool{}
	for _, p := range s.programs {
		for _, id := range p.staticOps {
			ids[id] = true
		}
	}
	for id := range ids {
		if staticIsShared(s.staticShared, id) {
			shared++
		}
	}
	return len(ids), shared
}
