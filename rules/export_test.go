package rules

// ResetRegexCache empties the process-wide regex cache, so that a
// benchmark can measure a compile from nothing.
func ResetRegexCache() {
	regexCache.Lock()
	clear(regexCache.m)
	regexCache.Unlock()
}
