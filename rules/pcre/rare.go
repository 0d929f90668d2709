package pcre

import "strings"

// Searching a page for a fixed string with strings.Contains restarts at
// every occurrence of the string's first byte; for "category:living
// people" on wikitext that is the 700 c's of a 30 KB page. Contains looks
// instead for the string's rarest byte, as a guess from how often bytes
// occur in wikitext, and checks the string around it.

// byteRank orders bytes from the most frequent in wikitext (255) down: a
// heuristic from English letter frequencies and wiki markup. Bytes not
// listed (other punctuation, non-ASCII) rank 0, the rarest.
var byteRank = func() (r [256]uint8) {
	const common = " etaoinsrhldcumfpgwyb,.vk[]|='\n0123456789TSACMBPHRDLWNEFGIO{}-/:<>\"()xjqzKUVYJQXZ"
	for i := 0; i < len(common); i++ {
		r[common[i]] = uint8(255 - i)
	}
	return r
}()

// rareOffset returns the offset of the rarest byte of s by byteRank.
func rareOffset(s string) int {
	best := 0
	for i := 1; i < len(s); i++ {
		if byteRank[s[i]] < byteRank[s[best]] {
			best = i
		}
	}
	return best
}

// Contains is strings.Contains, faster on long texts (pages) for strings
// whose first byte is common. When the rarest byte turns out to be common
// in s too, it hands the rest to strings.Index.
func Contains(s, sub string) bool {
	if len(sub) < 2 || len(s) < 1024 {
		return strings.Contains(s, sub)
	}
	off := rareOffset(sub)
	c := sub[off]
	misses := 0
	for i := off; i < len(s); {
		j := strings.IndexByte(s[i:], c)
		if j < 0 {
			return false
		}
		start := i + j - off
		if start+len(sub) > len(s) {
			return false
		}
		if s[start:start+len(sub)] == sub {
			return true
		}
		i += j + 1
		if misses++; misses > 16+i>>5 {
			return strings.Contains(s[start+1:], sub)
		}
	}
	return false
}
