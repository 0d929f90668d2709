package pcre

import (
	"unicode/utf8"
	"unsafe"
)

// Patterns that are exactly (X{a,b})\1{k} look for text repeated k+1
// times. For a yes/no answer there is no need to try every start and
// every length with backtracking: with the text as characters c, a repeat
// of a unit of length L starts at p when c[j] == c[j+L] for every j in
// [p, p+kL) and c[p:p+L] are all in X. One pass per length L finds the
// runs of c[j] == c[j+L], so the search is O(n·(b-a+1)) character
// comparisons with no backtracking.

// unitOf returns the repeat-unit instruction when the whole pattern is
// one, with a character class as its unit.
func unitOf(root *node) *inst {
	if root.op != opConcat {
		return nil
	}
	in, used := unitRepeat(root.subs)
	if used != len(root.subs) || in.char == nil {
		return nil
	}
	return &in
}

// charMatches reports whether r matches the single-character instruction.
func charMatches(in *inst, r rune) bool {
	switch in.op {
	case iRune:
		return r == in.r
	case iRuneFold:
		return foldEqual(r, in.r)
	case iClass:
		if r < utf8.RuneSelf {
			return in.cls.ascii[r>>6]&(1<<(r&63)) != 0
		}
		return in.cls.contains(r)
	case iAny:
		return true
	case iAnyNotNL:
		return r != '\n'
	}
	return false
}

// matchUnit is the yes/no match of a unit-only pattern on a valid UTF-8
// subject.
func matchUnit(in *inst, s string) bool {
	if isASCII(s) {
		return unitSearch(in, unsafe.Slice(unsafe.StringData(s), len(s)))
	}
	return unitSearch(in, []rune(s))
}

func unitSearch[T byte | rune](in *inst, c []T) bool {
	n := len(c)
	copies := in.x
	maxL := n / (copies + 1)
	if in.max >= 0 && in.max < maxL {
		maxL = in.max
	}
	if in.min > maxL {
		return false
	}
	// good[i] counts the characters of c[:i] in the class, so that a
	// unit's check is one subtraction. It is built on first need: most
	// texts have no candidate repeat at all.
	var buf [256]int32
	var good []int32
	prefix := func() []int32 {
		if good != nil {
			return good
		}
		good = buf[:0]
		if n+1 > len(buf) {
			good = make([]int32, 0, n+1)
		}
		good = append(good, 0)
		for i := range c {
			g := good[i]
			if charMatches(in.char, rune(c[i])) {
				g++
			}
			good = append(good, g)
		}
		return good
	}
	for L := in.min; L <= maxL; L++ {
		need := copies * L
		if need < 7 {
			if unitRuns(c, prefix(), L, need, 0, n-L) {
				return true
			}
			continue
		}
		// Every window of need >= 7 equal pairs holds a whole aligned
		// group of 4 pairs, so only the groups whose 4 pairs are all
		// equal (rare in text: the first comparison nearly always fails)
		// need the exact pass, over the windows that can hold them.
		for b := 0; b+3+L < n; b += 4 {
			if c[b] != c[b+L] || c[b+1] != c[b+1+L] || c[b+2] != c[b+2+L] || c[b+3] != c[b+3+L] {
				continue
			}
			if unitRuns(c, prefix(), L, need, max(0, b-need), min(n-L, b+4+need)) {
				return true
			}
		}
	}
	return false
}

// unitRuns looks for a repeat of a unit of length L starting in [lo, hi-need]:
// need equal pairs c[j] == c[j+L] in a row from p, with c[p:p+L] all in
// the class (good counts them).
func unitRuns[T byte | rune](c []T, good []int32, L, need, lo, hi int) bool {
	run := 0
	for j := lo; j < hi; j++ {
		if c[j] != c[j+L] {
			run = 0
			continue
		}
		run++
		if run >= need {
			p := j - need + 1
			if int(good[p+L]-good[p]) == L {
				return true
			}
		}
	}
	return false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
