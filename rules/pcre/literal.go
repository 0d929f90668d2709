package pcre

import (
	"encoding/binary"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/vigilwiki/vigil/rules/internal/asciiword"
)

// Literals are strings of which every match of a pattern contains at least
// one. A subject that contains none of them cannot match, so a prefilter
// can decide the pattern without running it.
type Literals struct {
	// Any is the set; nil when the pattern guarantees no literal.
	Any []string
	// Fold means the strings are in case-folded form (see FoldString) and
	// must be looked for in the folded subject.
	Fold bool
}

// Limits on the sets the extraction builds.
const (
	maxExactSet = 16
	maxAnySet   = 64
)

// info is what literal extraction knows about a node, each a set of
// strings or nil when unknown: exact, the strings it matches (when few);
// pre and suf, strings one of which every match starts or ends with; req,
// strings one of which every match contains. Concatenation joins the
// suffixes of one piece to the prefixes of the next, so that fu+c+k
// requires "fu", "uc" or "ck" and ha{2,} requires "haa".
type info struct {
	exact    []string
	pre, suf []string
	req      []string
}

type extractor struct{ fold bool }

// extractLiterals computes the literals of a pattern.
func extractLiterals(root *node) Literals {
	e := extractor{fold: hasCaseless(root)}
	return Literals{Any: e.info(root).best(), Fold: e.fold}
}

// prefixes and suffixes are what a node is known to start and end with.
func (i info) prefixes() []string {
	if i.exact != nil {
		return i.exact
	}
	return i.pre
}

func (i info) suffixes() []string {
	if i.exact != nil {
		return i.exact
	}
	return i.suf
}

// best is the most selective requirement known.
func (i info) best() []string {
	return better(better(i.req, asReq(i.exact)), better(asReq(i.pre), asReq(i.suf)))
}

func hasCaseless(n *node) bool {
	if n == nil {
		return false
	}
	if (n.op == opLiteral || n.op == opBackref) && n.fold {
		return true
	}
	for _, s := range n.subs {
		if hasCaseless(s) {
			return true
		}
	}
	return hasCaseless(n.condLook)
}

// FoldRune maps r to the representative of its simple case-folding orbit
// (the smallest code point in it).
func FoldRune(r rune) rune {
	if r < 128 {
		if r >= 'a' && r <= 'z' {
			return r - 32
		}
		return r
	}
	if r < rune(len(foldTwoByte)) {
		return rune(foldTwoByte[r])
	}
	return foldOrbit(r)
}

// foldTwoByte holds FoldRune of every code point below U+0800 (the
// two-byte UTF-8 range: Latin, Greek, Cyrillic…), the non-ASCII letters
// wikitext holds most.
var foldTwoByte = func() (t [0x800]uint16) {
	for r := range t {
		t[r] = uint16(foldOrbit(rune(r)))
	}
	return t
}()

func foldOrbit(r rune) rune {
	if r < 'z'+1 {
		if r >= 'a' {
			return r - 32
		}
		return r
	}
	min := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < min {
			min = f
		}
	}
	return min
}

// FoldString maps every character of s with FoldRune. It returns s itself
// when nothing changes, and otherwise makes one allocation: folding never
// lengthens valid UTF-8 (the representative is the smallest code point of
// its orbit), so only invalid bytes, which become U+FFFD, need more room.
func FoldString(s string) string {
	b, changed := AppendFold(nil, s)
	if !changed {
		return s
	}
	return unsafe.String(&b[0], len(b))
}

// AppendFold appends the folded form of s to dst, when it differs from s;
// changed reports whether it does (otherwise dst is returned as it was).
// Callers that fold many texts reuse one buffer.
func AppendFold(dst []byte, s string) (_ []byte, changed bool) {
	i := 0
	for i < len(s) && foldASCII[s[i]] == s[i] {
		i++
	}
	if i == len(s) {
		return dst, false
	}
	start := len(dst)
	b := slices.Grow(dst, len(s))[:start+len(s)]
	copy(b[start:], s[:i])
	j := start + i
	for i < len(s) {
		// Eight ASCII bytes at a time, lower-case letters upper-cased.
		for i+8 <= len(s) && j+8 <= len(b) {
			x := asciiword.Load(s[i:])
			if !asciiword.IsASCII(x) {
				break
			}
			binary.LittleEndian.PutUint64(b[j:], asciiword.FlipCase(x, 'a'))
			i += 8
			j += 8
		}
		if i == len(s) {
			break
		}
		if c := s[i]; c < utf8.RuneSelf {
			b[j] = foldASCII[c]
			i++
			j++
			continue
		}
		if n := foldTwoBytes(b[j:], s[i:]); n > 0 {
			i += n
			j += n
			continue
		}
		if n := foldThreeBytes(b[j:], s[i:]); n > 0 {
			i += n
			j += n
			continue
		}
		// b keeps room for the rest of s byte for byte; only an invalid
		// byte, which becomes three, takes more, and then b doubles (a
		// text of invalid bytes must not cost a copy per byte).
		r, size := utf8.DecodeRuneInString(s[i:])
		f := FoldRune(r)
		if need := j + utf8.RuneLen(f) + len(s) - i - size; need > len(b) {
			nb := make([]byte, max(need, 2*len(b)))
			copy(nb, b[:j])
			b = nb
		}
		j += utf8.EncodeRune(b[j:], f)
		i += size
	}
	return b[:j], true
}

// foldTwoBytes folds into dst the two-byte characters (Latin letters with
// marks, Greek, Cyrillic…) at the start of s that fold to two-byte ones,
// without decoding and encoding runes, and returns how many bytes it took
// (as many as it wrote). In a Cyrillic text nearly every character is one,
// and folding them rune by rune was a fifth of screening such a page.
func foldTwoBytes(dst []byte, s string) int {
	n := 0
	for n+1 < len(s) && n+1 < len(dst) {
		c, d := s[n], s[n+1]
		if c < 0xc2 || c > 0xdf || d&0xc0 != 0x80 {
			break
		}
		f := foldTwoByte[rune(c&0x1f)<<6|rune(d&0x3f)]
		if f < utf8.RuneSelf {
			break // ſ folds to S: the general path
		}
		dst[n], dst[n+1] = 0xc0|byte(f>>6), 0x80|byte(f&0x3f)
		n += 2
	}
	return n
}

// foldThreeBytes copies into dst the three-byte characters at the start of
// s that FoldRune leaves as they are (CJK ideographs, kana, hangul, most
// punctuation: all but a few hundred) and returns how many bytes it took.
// Rune by rune, each went through unicode.SimpleFold's searches: a
// Japanese page folded at 60 MB/s, a tenth of the speed of a Latin one.
func foldThreeBytes(dst []byte, s string) int {
	n := 0
	for n+2 < len(s) && n+2 < len(dst) {
		c, d, e := s[n], s[n+1], s[n+2]
		if c&0xf0 != 0xe0 || d&0xc0 != 0x80 || e&0xc0 != 0x80 {
			break
		}
		r := rune(c&0x0f)<<12 | rune(d&0x3f)<<6 | rune(e&0x3f)
		if r < 0x800 || r >= 0xd800 && r <= 0xdfff {
			break // overlong or a surrogate: invalid, the general path
		}
		if foldsThreeByte[r/64]>>(r%64)&1 != 0 {
			break
		}
		dst[n], dst[n+1], dst[n+2] = c, d, e
		n += 3
	}
	return n
}

// foldsThreeByte marks the code points from U+0800 to U+FFFF that FoldRune
// changes. Only runes with a case mapping can be in an orbit, so only the
// ranges of unicode.CaseRanges need asking (TestFoldsThreeByte checks
// every code point).
var foldsThreeByte = func() (t [0x10000 / 64]uint64) {
	for _, cr := range unicode.CaseRanges {
		for r := max(rune(cr.Lo), 0x800); r <= min(rune(cr.Hi), 0xffff); r++ {
			if foldOrbit(r) != r {
				t[r/64] |= 1 << (r % 64)
			}
		}
	}
	return t
}()

// foldASCII folds ASCII bytes (lower-case letters to upper case) and maps
// every other byte to 0, so that the scan for an unchanged prefix stops at
// the first non-ASCII byte too.
var foldASCII = func() (t [256]byte) {
	for c := 0; c < utf8.RuneSelf; c++ {
		t[c] = byte(c)
		if 'a' <= c && c <= 'z' {
			t[c] = byte(c - 'a' + 'A')
		}
	}
	return t
}()

func (e extractor) runeString(r rune) string {
	if e.fold {
		r = FoldRune(r)
	}
	if r < utf8.RuneSelf {
		return asciiStrings[r : r+1]
	}
	return string(r)
}

// literalRun joins the run of literal characters that starts at subs[i]
// into one string, rather than growing a string per character, and
// returns the index of the run's last character.
func (e extractor) literalRun(subs []*node, i int) (string, int) {
	var b strings.Builder
	for ; i < len(subs) && subs[i].op == opLiteral; i++ {
		b.WriteString(e.runeString(subs[i].r))
	}
	return b.String(), i - 1
}

// asciiStrings holds every ASCII character, so that one-character strings
// need no allocation.
var asciiStrings = func() string {
	b := make([]byte, utf8.RuneSelf)
	for i := range b {
		b[i] = byte(i)
	}
	return string(b)
}()

func (e extractor) info(n *node) info {
	switch n.op {
	case opLiteral:
		return info{exact: []string{e.runeString(n.r)}}
	case opClass:
		return info{exact: e.classSet(n.cls)}
	case opEmpty, opAssert, opLook, opKeep:
		return info{exact: []string{""}}
	case opGroup, opAtomic:
		return e.info(n.sub())
	case opConcat:
		acc := info{exact: []string{""}}
		for i := 0; i < len(n.subs); i++ {
			if n.subs[i].op == opLiteral {
				var run string
				run, i = e.literalRun(n.subs, i)
				acc = concatInfo(acc, info{exact: []string{run}})
				continue
			}
			acc = concatInfo(acc, e.info(n.subs[i]))
		}
		return acc
	case opAlt:
		return e.alt(n.subs)
	case opRepeat:
		return e.repeat(n)
	}
	return info{}
}

// concatInfo is what is known of a followed by b.
func concatInfo(a, b info) info {
	var out info
	if a.exact != nil && b.exact != nil {
		out.exact = cross(a.exact, b.exact)
	}
	if a.exact != nil {
		if out.pre = cross(a.exact, b.prefixes()); out.pre == nil {
			out.pre = a.exact
		}
	} else {
		out.pre = a.pre
	}
	if b.exact != nil {
		if out.suf = cross(a.suffixes(), b.exact); out.suf == nil {
			out.suf = b.exact
		}
	} else {
		out.suf = b.suf
	}
	out.req = better(better(a.best(), b.best()), asReq(cross(a.suffixes(), b.prefixes())))
	return out
}

// repeat: X{m,n} with m >= 1 is m copies of X followed by more, so it
// starts with m copies of X's prefixes and ends with m copies of its
// suffixes; X? is X or nothing.
func (e extractor) repeat(n *node) info {
	sub := e.info(n.sub())
	if n.min == 0 {
		if n.max == 1 && sub.exact != nil {
			return info{exact: union([]string{""}, sub.exact)}
		}
		return info{}
	}
	acc := sub
	for i := 1; i < n.min && i < 4; i++ {
		next := concatInfo(acc, sub)
		if next.best() == nil && acc.best() != nil {
			break
		}
		acc = next
	}
	if n.min != n.max || n.min >= 4 {
		acc.pre, acc.suf = acc.prefixes(), acc.suffixes()
		acc.exact = nil
	}
	return acc
}

// classSet returns the members of a small class as strings.
func (e extractor) classSet(c *class) []string {
	count := 0
	for i := 0; i < len(c.ranges); i += 2 {
		count += int(c.ranges[i+1]-c.ranges[i]) + 1
		if count > 4*2 {
			return nil
		}
	}
	seen := map[string]bool{}
	var out []string
	for i := 0; i < len(c.ranges); i += 2 {
		for r := c.ranges[i]; r <= c.ranges[i+1]; r++ {
			s := e.runeString(r)
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	if len(out) > 4 {
		return nil
	}
	return out
}

func (e extractor) alt(subs []*node) info {
	var out info
	exactOK, preOK, sufOK, reqOK := true, true, true, true
	for _, s := range subs {
		si := e.info(s)
		exactOK = exactOK && si.exact != nil
		if exactOK {
			out.exact = addNew(out.exact, si.exact)
			exactOK = len(out.exact) <= maxExactSet
		}
		preOK = preOK && si.prefixes() != nil
		if preOK {
			out.pre = addNew(out.pre, si.prefixes())
			preOK = len(out.pre) <= maxAnySet
		}
		sufOK = sufOK && si.suffixes() != nil
		if sufOK {
			out.suf = addNew(out.suf, si.suffixes())
			sufOK = len(out.suf) <= maxAnySet
		}
		r := si.best()
		reqOK = reqOK && r != nil
		if reqOK {
			out.req = addNew(out.req, r)
			reqOK = len(out.req) <= maxAnySet
		}
	}
	if !exactOK {
		out.exact = nil
	}
	if !preOK {
		out.pre = nil
	}
	if !sufOK {
		out.suf = nil
	}
	if !reqOK {
		out.req = nil
	}
	return out
}

func exactIf(ok bool, s []string) []string {
	if ok {
		return s
	}
	return nil
}

// cross is every string of a followed by every string of b; nil when
// either is unknown or the product is too large.
func cross(a, b []string) []string { return crossMax(a, b, maxExactSet) }

// crossMax is cross with a bound of max strings.
func crossMax(a, b []string, max int) []string {
	if len(a) == 0 || len(b) == 0 || len(a)*len(b) > max {
		return nil
	}
	// {""} is the identity, and common (a concatenation starts from it;
	// assertions match it): no copy. The result's capacity is cut so that
	// appending to it can never write into the other slice.
	if len(a) == 1 && a[0] == "" {
		return b[:len(b):len(b)]
	}
	if len(b) == 1 && b[0] == "" {
		return a[:len(a):len(a)]
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out
}

func union(a, b []string) []string {
	return addNew(append([]string(nil), a...), b)
}

// addNew appends to dst, which the caller owns, the strings of b it does
// not hold yet.
func addNew(dst, b []string) []string {
	out := dst
	for _, s := range b {
		found := false
		for _, t := range out {
			if t == s {
				found = true
				break
			}
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// asReq turns an exact set into a requirement, unless it holds "" (which
// needs nothing).
func asReq(set []string) []string {
	for _, s := range set {
		if s == "" {
			return nil
		}
	}
	return set
}

// better picks the more selective of two requirements: the one whose
// shortest member is longer.
func better(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	ma, mb := shortest(a), shortest(b)
	if mb > ma || mb == ma && len(b) < len(a) {
		return b
	}
	return a
}

func shortest(set []string) int {
	m := -1
	for _, s := range set {
		if m < 0 || len(s) < m {
			m = len(s)
		}
	}
	return m
}
