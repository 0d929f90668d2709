package rules

import "github.com/vigilwiki/vigil/rules/prefilter"

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
