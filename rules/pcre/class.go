package pcre

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// class is a set of code points, kept as sorted, non-overlapping, non-adjacent
// ranges [lo, hi] (pairs in ranges). name, when set, is the RE2 spelling of
// the whole set (e.g. `\p{Lu}`), which keeps translations short.
type class struct {
	ranges []rune
	ascii  [2]uint64 // bitmap of the ASCII members, for the fast path
	name   string
}

const maxRune = unicode.MaxRune

func (c *class) contains(r rune) bool {
	if r < 128 {
		return c.ascii[r>>6]&(1<<(uint(r)&63)) != 0
	}
	rs := c.ranges
	// Binary search over the pairs.
	lo, hi := 0, len(rs)/2
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < rs[2*m]:
			hi = m
		case r > rs[2*m+1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// classBuilder accumulates ranges before normalising them.
type classBuilder struct {
	ranges []rune // characters and ranges given one by one
	sets   []rune // \d, \w, \p{..}, [:alpha:] and the like
}

func (b *classBuilder) addRange(lo, hi rune) {
	if lo > hi {
		return
	}
	b.ranges = append(b.ranges, lo, hi)
}

func (b *classBuilder) addRune(r rune) { b.addRange(r, r) }

func (b *classBuilder) addTable(t *unicode.RangeTable) {
	for _, r16 := range t.R16 {
		if r16.Stride == 1 {
			b.addRange(rune(r16.Lo), rune(r16.Hi))
			continue
		}
		for r := rune(r16.Lo); r <= rune(r16.Hi); r += rune(r16.Stride) {
			b.addRune(r)
		}
	}
	for _, r32 := range t.R32 {
		if r32.Stride == 1 {
			b.addRange(rune(r32.Lo), rune(r32.Hi))
			continue
		}
		for r := rune(r32.Lo); r <= rune(r32.Hi); r += rune(r32.Stride) {
			b.addRune(r)
		}
	}
}

func (b *classBuilder) addClass(c *class) { b.sets = append(b.sets, c.ranges...) }

// build returns the class's ranges. Caseless matching folds the
// characters and ranges given one by one, never the sets: in PCRE2's UCP
// mode (?i)\p{Lu} and (?i)[[:upper:]] still match upper case letters
// only, and \w or \d need no folding.
func (b *classBuilder) build(caseless bool) []rune {
	rs := normalize(b.ranges)
	if caseless {
		rs = foldRanges(rs)
	}
	if len(b.sets) == 0 {
		return rs
	}
	return normalize(append(rs, b.sets...))
}

// normalize sorts and merges the ranges, into a new slice.
func normalize(rs []rune) []rune {
	out := make([]rune, len(rs))
	copy(out, rs)
	if p := rangePairs(out); !sort.IsSorted(p) {
		sort.Sort(p)
	}
	w := 0
	for i := 0; i+1 < len(out); i += 2 {
		lo, hi := out[i], out[i+1]
		if w > 0 && lo <= out[w-1]+1 {
			out[w-1] = max(out[w-1], hi)
			continue
		}
		out[w], out[w+1] = lo, hi
		w += 2
	}
	return out[:w]
}

// normalized reports whether rs is already sorted, merged ranges.
func normalized(rs []rune) bool {
	for i := 0; i+1 < len(rs); i += 2 {
		if rs[i] > rs[i+1] || i > 0 && rs[i] <= rs[i-1]+1 {
			return false
		}
	}
	return len(rs)%2 == 0
}

// rangePairs sorts ranges [lo, hi] held as pairs of a slice by lo, in
// place.
type rangePairs []rune

func (p rangePairs) Len() int           { return len(p) / 2 }
func (p rangePairs) Less(i, j int) bool { return p[2*i] < p[2*j] }
func (p rangePairs) Swap(i, j int) {
	p[2*i], p[2*j] = p[2*j], p[2*i]
	p[2*i+1], p[2*j+1] = p[2*j+1], p[2*i+1]
}

// complement returns the ranges not in rs (rs normalised).
func complement(rs []rune) []rune {
	out := make([]rune, 0, len(rs)+2)
	next := rune(0)
	for i := 0; i < len(rs); i += 2 {
		if rs[i] > next {
			out = append(out, next, rs[i]-1)
		}
		next = rs[i+1] + 1
	}
	if next <= maxRune {
		out = append(out, next, maxRune)
	}
	return out
}

// foldRanges adds to rs every code point in the same simple case-folding
// orbit as one already in rs (PCRE2's caseless matching).
func foldRanges(rs []rune) []rune {
	out := append([]rune(nil), rs...)
	for i := 0; i < len(rs); i += 2 {
		lo, hi := rs[i], rs[i+1]
		if hi-lo > 0x10000 {
			// Huge ranges (negated classes) already hold nearly everything;
			// fold the cased parts only.
			for _, pair := range casedRanges {
				l, h := max(lo, pair[0]), min(hi, pair[1])
				for r := l; r <= h; r++ {
					out = appendOrbit(out, r)
				}
			}
			continue
		}
		for r := lo; r <= hi; r++ {
			out = appendOrbit(out, r)
		}
	}
	return normalize(out)
}

// casedRanges covers every code point that has a case-folding partner.
var casedRanges = [][2]rune{{0x41, 0x24F}, {0x250, 0x58F}, {0x10A0, 0x1FFF}, {0x2100, 0x2CFF}, {0xA640, 0xABBF}, {0xFB00, 0xFF5A}, {0x10400, 0x1E943}}

func appendOrbit(out []rune, r rune) []rune {
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		out = append(out, f, f)
	}
	return out
}

// newClass makes a class of rs, which it may keep: callers hand over
// ranges they do not change again.
func newClass(rs []rune, name string) *class {
	if !normalized(rs) {
		rs = normalize(rs)
	}
	c := &class{ranges: rs, name: name}
	for i := 0; i < len(c.ranges); i += 2 {
		for r := c.ranges[i]; r <= c.ranges[i+1] && r < 128; r++ {
			c.ascii[r>>6] |= 1 << (uint(r) & 63)
		}
	}
	return c
}

// Named sets, with PCRE2's UCP meanings (PCRE2 10.42, as PHP 8.2 on Debian 12
// links it).
var (
	hSpaceRunes = []rune{0x09, 0x09, 0x20, 0x20, 0xA0, 0xA0, 0x1680, 0x1680, 0x180E, 0x180E,
		0x2000, 0x200A, 0x202F, 0x202F, 0x205F, 0x205F, 0x3000, 0x3000}
	vSpaceRunes = []rune{0x0A, 0x0D, 0x85, 0x85, 0x2028, 0x2029}
)

func tableRanges(tables ...*unicode.RangeTable) []rune {
	var b classBuilder
	for _, t := range tables {
		b.addTable(t)
	}
	return normalize(b.ranges)
}

var (
	wordRanges  = normalize(append(tableRanges(unicode.L, unicode.N), '_', '_'))
	digitRanges = tableRanges(unicode.Nd)
	spaceRanges = normalize(append(append(append([]rune{}, hSpaceRunes...), vSpaceRunes...), tableRanges(unicode.Z)...))
	hRanges     = normalize(hSpaceRunes)
	vRanges     = normalize(vSpaceRunes)
)

// Named classes, shared by all patterns.
var (
	classWord     = newClass(wordRanges, `[\p{L}\p{N}_]`)
	classNotWord  = newClass(complement(wordRanges), `[^\p{L}\p{N}_]`)
	classDigit    = newClass(digitRanges, `\p{Nd}`)
	classNotDigit = newClass(complement(digitRanges), `\P{Nd}`)
	classSpace    = newClass(spaceRanges, "")
	classNotSpace = newClass(complement(spaceRanges), "")
	classH        = newClass(hRanges, "")
	classNotH     = newClass(complement(hRanges), "")
	classV        = newClass(vRanges, "")
	classNotV     = newClass(complement(vRanges), "")
	classNotNL    = newClass([]rune{0, '\n' - 1, '\n' + 1, maxRune}, "")
	classAll      = newClass([]rune{0, maxRune}, "")
)

// property returns the code points of a \p{...} name with PCRE2's loose
// matching of names (case, spaces, hyphens and underscores ignored).
func property(name string) ([]rune, bool) {
	key := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '_' {
			return -1
		}
		return unicode.ToLower(r)
	}, name)
	switch key {
	case "any":
		return []rune{0, maxRune}, true
	case "l&", "lc":
		return tableRanges(unicode.Lu, unicode.Ll, unicode.Lt), true
	case "xan":
		return tableRanges(unicode.L, unicode.N), true
	case "xwd":
		return wordRanges, true
	case "xsp", "xps":
		return spaceRanges, true
	case "xuc":
		return normalize([]rune{'$', '$', '@', '@', '`', '`', 0xA0, 0xD7FF, 0xE000, maxRune}), true
	case "cn":
		return tableRanges(unicode.Categories["Cn"]), true
	}
	if t, ok := lookupLoose(unicode.Categories, key); ok {
		return tableRanges(t), true
	}
	if t, ok := lookupLoose(unicode.Scripts, key); ok {
		return tableRanges(t), true
	}
	if t, ok := lookupLoose(unicode.Properties, key); ok {
		return tableRanges(t), true
	}
	return nil, false
}

func lookupLoose(m map[string]*unicode.RangeTable, key string) (*unicode.RangeTable, bool) {
	for name, t := range m {
		k := strings.ToLower(strings.ReplaceAll(name, "_", ""))
		if k == key {
			return t, true
		}
	}
	return nil, false
}

// posixClass returns the code points of a POSIX class name with UCP
// semantics. Under caseless matching [:upper:] and [:lower:] mean
// [:alpha:], as PCRE2 does.
// posixClass returns a POSIX class as UCP mode defines it. Caseless
// matching does not change it (see classBuilder.build).
func posixClass(name string) ([]rune, bool) {
	switch name {
	case "alnum":
		return tableRanges(unicode.L, unicode.N), true
	case "alpha":
		return tableRanges(unicode.L), true
	case "ascii":
		return []rune{0, 127}, true
	case "blank":
		return hRanges, true
	case "cntrl":
		return tableRanges(unicode.Cc), true
	case "digit":
		return digitRanges, true
	case "lower":
		return tableRanges(unicode.Ll), true
	case "upper":
		return tableRanges(unicode.Lu), true
	case "space":
		return spaceRanges, true
	case "word":
		return wordRanges, true
	case "xdigit":
		return []rune{'0', '9', 'A', 'F', 'a', 'f'}, true
	case "graph":
		return graphRanges(), true
	case "print":
		return normalize(append(graphRanges(), tableRanges(unicode.Zs)...)), true
	case "punct":
		var b classBuilder
		b.addTable(unicode.P)
		for r := rune(0); r < 256; r++ {
			if unicode.Is(unicode.S, r) {
				b.addRune(r)
			}
		}
		return normalize(b.ranges), true
	}
	return nil, false
}

// graphRanges is [:graph:] with UCP: L, M, N, P, S and Cf, except U+061C,
// U+180E and U+2066..U+2069.
func graphRanges() []rune {
	all := tableRanges(unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Cf)
	except := normalize([]rune{0x061C, 0x061C, 0x180E, 0x180E, 0x2066, 0x2069})
	return intersect(all, complement(except))
}

func intersect(a, b []rune) []rune {
	var out []rune
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		lo, hi := max(a[i], b[j]), min(a[i+1], b[j+1])
		if lo <= hi {
			out = append(out, lo, hi)
		}
		if a[i+1] < b[j+1] {
			i += 2
		} else {
			j += 2
		}
	}
	return out
}

// isWordRune is \w with UCP.
func isWordRune(r rune) bool {
	if r < 128 {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// wordBefore reports whether the character before s[i:] is a word
// character (\w with UCP); wordAt, the character at s[i:]. Outside s
// there is none: \b holds at its ends next to a word character.
func wordBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

func wordAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}

// foldEqual reports whether a and b are equal under simple case folding.
func foldEqual(a, b rune) bool {
	if a == b {
		return true
	}
	if a < 128 && b < 128 {
		return a|0x20 == b|0x20 && (a|0x20) >= 'a' && (a|0x20) <= 'z'
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}
