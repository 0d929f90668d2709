package pcre

import (
	"math/bits"
	"strings"
	"unsafe"
)

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
		if misses++; misses > 16+i>>5 || pairAVX2 && misses > 4+i>>8 {
			return containsRest(s[start+1:], sub)
		}
	}
	return false
}

// containsRest is Contains for the rest of a subject once its rare byte has
// proved common there: with AVX2 by the two rarest bytes together (see
// containsPair), which costs about twice a search for one byte that is rare
// indeed; otherwise with strings.Contains.
func containsRest(s, sub string) bool {
	if pairAVX2 && len(sub) >= 2 {
		return containsPair(s, sub)
	}
	return strings.Contains(s, sub)
}

// containsPair is Contains looking 32 places at a time for where the
// string's two rarest bytes both stand, and checking the string there.
// Looking for one byte restarts at each of its occurrences, and a guess
// from wikitext's frequencies can be wrong for the subject: the Y of
// "CATEGORY:LIVING PEOPLE" stands every 70 bytes or so of an upper-cased
// page (a real filter's subject), 400 restarts per page. sub has at least
// two bytes.
func containsPair(s, sub string) bool {
	lo, hi := rarePair(sub)
	last := len(s) - len(sub) // the last place sub may start
	n := len(s) - hi          // places whose second byte s holds
	base := unsafe.StringData(s)
	q := 0
	for q+32 <= n {
		at, mask := pairScanAVX2((*byte)(unsafe.Add(unsafe.Pointer(base), q+lo)), hi-lo, n-q, sub[lo], sub[hi])
		q += at
		if mask == 0 {
			break
		}
		for ; mask != 0; mask &= mask - 1 {
			if p := q + bits.TrailingZeros32(mask); p <= last && s[p:p+len(sub)] == sub {
				return true
			}
		}
		q += 32
	}
	// Fewer than 32 places are left.
	return q <= last && strings.Contains(s[q:], sub)
}

// rarePair returns the offsets of the two rarest bytes of s by byteRank
// (rareOffset's and the next), the lower first; s has at least two bytes.
func rarePair(s string) (lo, hi int) {
	first, second := rareOffset(s), -1
	for i := 0; i < len(s); i++ {
		if i != first && (second < 0 || byteRank[s[i]] < byteRank[s[second]]) {
			second = i
		}
	}
	return min(first, second), max(first, second)
}

// Needles is a set of fixed strings to look for in texts. Looking for each
// in turn reads a long text once per string; but the strings of a set often
// share their rarest byte ("(c|C)ategory\:(l|L)iving people" is four
// strings, each with its colon ninth), and Needles reads a long text once
// per such byte, checking every string of the byte at each occurrence.
type Needles struct {
	all    []string
	groups []needleGroup
	empty  bool // one of the strings is "", found in any text
}

// needleGroup is the strings whose rarest byte is c, and where c is in
// each.
type needleGroup struct {
	c    byte
	subs []string
	offs []int
}

// NewNeedles returns the set of subs.
func NewNeedles(subs []string) *Needles {
	n := &Needles{all: subs}
	for _, sub := range subs {
		if sub == "" {
			n.empty = true
			continue
		}
		off := rareOffset(sub)
		gi := -1
		for i := range n.groups {
			if n.groups[i].c == sub[off] {
				gi = i
			}
		}
		if gi < 0 {
			gi = len(n.groups)
			n.groups = append(n.groups, needleGroup{c: sub[off]})
		}
		g := &n.groups[gi]
		g.subs = append(g.subs, sub)
		g.offs = append(g.offs, off)
	}
	return n
}

// In reports whether s contains one of the strings.
func (n *Needles) In(s string) bool {
	if n.empty {
		return true
	}
	if len(s) < 1024 || len(n.groups) == len(n.all) {
		for _, sub := range n.all {
			if Contains(s, sub) {
				return true
			}
		}
		return false
	}
	for i := range n.groups {
		if n.groups[i].in(s) {
			return true
		}
	}
	return false
}

// in is Contains for all the group's strings at once. When its byte
// turns out to be common in s, it hands the rest to strings.Contains.
func (g *needleGroup) in(s string) bool {
	if len(g.subs) == 1 {
		return Contains(s, g.subs[0])
	}
	misses := 0
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], g.c)
		if j < 0 {
			return false
		}
		p := i + j
		for k, sub := range g.subs {
			if start := p - g.offs[k]; start >= 0 && start+len(sub) <= len(s) && s[start:start+len(sub)] == sub {
				return true
			}
		}
		i = p + 1
		if misses++; misses > 16+i>>5 {
			// Every string beginning at or before p has been checked: its
			// first c (where offs points) would be at p or before.
			for _, sub := range g.subs {
				if containsRest(s[i:], sub) {
					return true
				}
			}
			return false
		}
	}
	return false
}
