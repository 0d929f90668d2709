// Package textfunc implements the string functions AbuseFilter's rules call,
// with the results PHP 8.2's mbstring, PCRE and html functions and
// MediaWiki's Sanitizer give: full Unicode case mapping, character-based
// lengths and offsets, entity decoding, and the rmspecials family.
package textfunc

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/vigilwiki/vigil/rules/internal/asciiword"
)

// IsASCII reports whether s holds only ASCII bytes.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// decodeMB decodes the character at the start of s as PHP 8.2's mbstring
// does: an ill-formed sequence is one error (bad) covering its maximal
// valid prefix ("\xE2\x82" followed by "a" is one error, then "a"), where
// Go's decoder reports an error per byte.
func decodeMB(s string) (r rune, size int, bad bool) {
	c := s[0]
	if c < utf8.RuneSelf {
		return rune(c), 1, false
	}
	r, size = utf8.DecodeRuneInString(s)
	if r != utf8.RuneError || size > 1 {
		return r, size, false
	}
	var need int
	lo, hi := byte(0x80), byte(0xBF) // the range of the second byte
	switch {
	case c >= 0xC2 && c <= 0xDF:
		need = 1
	case c >= 0xE0 && c <= 0xEF:
		need = 2
		if c == 0xE0 {
			lo = 0xA0
		} else if c == 0xED {
			hi = 0x9F
		}
	case c >= 0xF0 && c <= 0xF4:
		need = 3
		if c == 0xF0 {
			lo = 0x90
		} else if c == 0xF4 {
			hi = 0x8F
		}
	default:
		return utf8.RuneError, 1, true
	}
	n := 1
	for k := 0; k < need && n < len(s); k++ {
		b := s[n]
		if k == 0 && (b < lo || b > hi) || k > 0 && b&0xC0 != 0x80 {
			break
		}
		n++
	}
	return utf8.RuneError, n, true
}

// mapRunes applies f to every character; ill-formed sequences become "?"
// as mbstring's converter makes them. ASCII letters from first to
// first+25 have their case flipped, eight bytes at a time where the text
// is ASCII: wikitext is mostly ASCII, and pages are tens of KB.
func mapRunes(s string, first byte, exceptions map[rune]string, f func(rune) rune) string {
	b := make([]byte, 0, len(s)+8)
	for i := 0; i < len(s); {
		for ; i+8 <= len(s); i += 8 {
			w := asciiword.Load(s[i:])
			if !asciiword.IsASCII(w) {
				break
			}
			b = binary.LittleEndian.AppendUint64(b, asciiword.FlipCase(w, first))
		}
		if i == len(s) {
			break
		}
		r, size, bad := decodeMB(s[i:])
		i += size
		switch {
		case bad:
			b = append(b, '?')
		case r < utf8.RuneSelf:
			b = append(b, byte(f(r)))
		default:
			if e, ok := exceptions[r]; ok {
				b = append(b, e...)
			} else {
				b = utf8.AppendRune(b, f(r))
			}
		}
	}
	// b is not touched again: the string can share it.
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Lower is PHP 8.2's mb_strtolower: full Unicode lowercase mapping ("İ" gives
// "i̇"), without the context-sensitive final sigma.
func Lower(s string) string {
	if asciiWithout(s, 'A') {
		return s
	}
	return mapRunes(s, 'A', lowerExceptions, unicode.ToLower)
}

// Upper is PHP 8.2's mb_strtoupper: full Unicode uppercase mapping ("ß"
// gives "SS").
func Upper(s string) string {
	if asciiWithout(s, 'a') {
		return s
	}
	return mapRunes(s, 'a', upperExceptions, unicode.ToUpper)
}

// asciiWithout reports whether s is ASCII without letters in
// first..first+25, which case mapping leaves as they are: then s itself is
// the answer, with no copy. It reads eight bytes at a time, as mapRunes
// maps them (strings.ToLower went a byte at a time, twice over).
func asciiWithout(s string, first byte) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := asciiword.Load(s[i:])
		if !asciiword.IsASCII(w) || asciiword.FlipCase(w, first) != w {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c-first < 26 {
			return false
		}
	}
	return true
}

// utf8Width is the byte length mbstring assumes for a sequence starting with
// byte c (its mblen table for UTF-8); it decides how invalid input counts.
func utf8Width(c byte) int {
	switch {
	case c < 0xC0:
		return 1
	case c < 0xE0:
		return 2
	case c < 0xF0:
		return 3
	case c < 0xF8:
		return 4
	}
	return 1
}

// Len is mb_strlen: the number of characters.
func Len(s string) int {
	n, _ := measure(s)
	return n
}

// measure returns Len(s) and whether s is valid UTF-8.
func measure(s string) (n int, valid bool) {
	if IsASCII(s) {
		return len(s), true
	}
	if utf8.ValidString(s) {
		return utf8.RuneCountInString(s), true
	}
	for i := 0; i < len(s); i += utf8Width(s[i]) {
		n++
	}
	return n, false
}

// skipChars returns where the character k characters after byte from of s
// starts, as mb_strlen counts characters (by their lead bytes, which in
// valid UTF-8 is how the decoder counts them too, see Len), and whether s
// ended first with characters still to skip; from starts a character.
// Substr and Strpos walk to the characters they need: listing every
// character's offset, as they did, cost a filter's substr over a page
// eight bytes of memory per byte of it.
func skipChars(s string, from int, k int64) (int, bool) {
	i := from
	for ; k > 0 && i < len(s); k-- {
		i += utf8Width(s[i])
	}
	return min(i, len(s)), k > 0
}

// Substr is mb_substr(s, start, length); hasLength=false means no length.
func Substr(s string, start int64, length int64, hasLength bool) string {
	if start >= 0 && (!hasLength || length >= 0) {
		// Counted from the start: no need to know how long s is.
		b, short := skipChars(s, 0, start)
		if short {
			return ""
		}
		if !hasLength {
			return s[b:]
		}
		e, _ := skipChars(s, b, length)
		return s[b:e]
	}
	count, valid := measure(s)
	n := int64(count)
	if start < 0 {
		start = max(start+n, 0)
	}
	if start > n {
		return ""
	}
	end := n
	if hasLength {
		if length < 0 {
			end = n + length
			if end < start {
				return ""
			}
		} else if length < n-start {
			end = start + length
		}
	}
	if !valid {
		b, _ := skipChars(s, 0, start)
		e, _ := skipChars(s, b, end-start)
		return s[b:e]
	}
	return s[charAt(s, n, start):charAt(s, n, end)]
}

// charAt returns where character k of s starts (len(s) for k == n), s
// being valid UTF-8 of n characters, walking from the nearer end: a
// filter's substr from a page's end (a negative start) would otherwise
// walk the whole page.
func charAt(s string, n, k int64) int {
	if k <= n/2 {
		i, _ := skipChars(s, 0, k)
		return i
	}
	i := len(s)
	for ; n > k; n-- {
		i--
		for i > 0 && s[i]&0xC0 == 0x80 { // a continuation byte
			i--
		}
	}
	return i
}

// Strpos is mb_strpos(haystack, needle, offset) as AbuseFilter calls it: -1
// when not found, for an empty needle, or when the offset is outside the
// haystack.
func Strpos(haystack, needle string, offset int64) int64 {
	if needle == "" {
		return -1
	}
	// mb_strpos finds where to start as mb_strlen counts (by lead byte),
	// and reports the position as the decoder counts (an ill-formed
	// sequence is one character); the two differ only on invalid UTF-8.
	if offset < 0 {
		// PHP 8 counts a negative offset from the end and throws a
		// ValueError beyond the start; AbuseFilter would crash, we say -1.
		offset += int64(Len(haystack))
		if offset < 0 {
			return -1
		}
	}
	from, short := skipChars(haystack, 0, offset)
	if short {
		return -1 // beyond the end
	}
	i := strings.Index(haystack[from:], needle)
	if i < 0 {
		return -1
	}
	byteAt := from + i
	if IsASCII(haystack[:byteAt]) {
		return int64(byteAt)
	}
	pos := int64(0)
	for j := 0; j < byteAt; pos++ {
		_, size, _ := decodeMB(haystack[j:])
		j += size
	}
	return pos
}

// SubstrCount is PHP's substr_count: non-overlapping occurrences; 0 for an
// empty needle (AbuseFilter's guard).
func SubstrCount(haystack, needle string) int {
	if needle == "" {
		return 0
	}
	return strings.Count(haystack, needle)
}

// isSpaceUCP is PCRE2's \s with UCP.
func isSpaceUCP(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xA0, 0x1680, 0x180E, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200A || r > 0x7F && unicode.Is(unicode.Z, r)
}

// RmSpecials is preg_replace('/[^\p{L}\p{N}\s]/u', ”, s). Invalid UTF-8
// makes preg_replace fail, which AbuseFilter turns into an empty string.
func RmSpecials(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	return keepRunes(s, &asciiAlnumSpace, func(r rune) bool {
		return unicode.IsLetter(r) || unicode.IsNumber(r) || isSpaceUCP(r)
	})
}

// RmWhitespace is preg_replace('/\s+/u', ”, s).
func RmWhitespace(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	return keepRunes(s, &asciiNotSpace, func(r rune) bool { return !isSpaceUCP(r) })
}

// The ASCII characters RmSpecials and RmWhitespace keep.
var asciiAlnumSpace, asciiNotSpace = func() (alnumSpace, notSpace [utf8.RuneSelf]bool) {
	for c := range rune(utf8.RuneSelf) {
		alnumSpace[c] = unicode.IsLetter(c) || unicode.IsNumber(c) || isSpaceUCP(c)
		notSpace[c] = !isSpaceUCP(c)
	}
	return
}()

// keepRunes returns the characters of s (valid UTF-8) that keep accepts,
// ASCII ones through a table: pages are mostly ASCII.
func keepRunes(s string, ascii *[utf8.RuneSelf]bool, keep func(rune) bool) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if ascii[c] {
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if keep(r) {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	if len(b) == len(s) {
		return s
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// RmDoubles is preg_replace('/(.)\1+/us', '\1', s): runs of one character
// collapse to one.
func RmDoubles(s string) string {
	if !utf8.ValidString(s) {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := rune(-1)
	for _, r := range s {
		if r != prev {
			b.WriteRune(r)
		}
		prev = r
	}
	return b.String()
}

// SpecialRatio is 1 - mb_strlen(rmspecials(s)) / mb_strlen(s), or 0 for "".
func SpecialRatio(s string) float64 {
	if s == "" {
		return 0
	}
	return 1 - float64(Len(RmSpecials(s)))/float64(Len(s))
}

// html401Allowed is PHP's unicode_cp_is_allowed for the HTML 4.01 doctype.
func html401Allowed(cp int64) bool {
	return cp >= 0x20 && cp <= 0x7E || cp == 0x0A || cp == 0x09 || cp == 0x0D ||
		cp >= 0xA0 && cp <= 0xD7FF ||
		cp >= 0xE000 && cp <= 0x10FFFF && cp&0xFFFF < 0xFFFE && (cp < 0xFDD0 || cp > 0xFDEF)
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// HTMLEntityDecode is html_entity_decode(s, ENT_QUOTES, 'UTF-8'): the HTML
// 4.01 named entities and numeric references; anything else stays.
func HTMLEntityDecode(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '&' {
			j := strings.IndexByte(s[i:], '&')
			if j < 0 {
				j = len(s) - i
			}
			b.WriteString(s[i : i+j])
			i += j
			continue
		}
		if out, next, ok := decodeHTML4Entity(s, i); ok {
			b.WriteString(out)
			i = next
			continue
		}
		b.WriteByte('&')
		i++
	}
	return b.String()
}

func decodeHTML4Entity(s string, i int) (string, int, bool) {
	j := i + 1
	if j < len(s) && s[j] == '#' {
		j++
		base := 10
		if j < len(s) && (s[j] == 'x' || s[j] == 'X') {
			base = 16
			j++
		}
		start := j
		for j < len(s) && (base == 16 && isHex(s[j]) || base == 10 && s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == start || j >= len(s) || s[j] != ';' {
			return "", 0, false
		}
		cp, err := strconv.ParseInt(s[start:j], base, 64)
		if err != nil || !html401Allowed(cp) {
			return "", 0, false
		}
		return string(rune(cp)), j + 1, true
	}
	start := j
	for j < len(s) && isAlnum(s[j]) {
		j++
	}
	if j == start || j >= len(s) || s[j] != ';' {
		return "", 0, false
	}
	if e, ok := html401Entities[s[start:j]]; ok {
		return e, j + 1, true
	}
	return "", 0, false
}

// mediaWikiEntityAliases are MediaWiki's non-standard entity names.
var mediaWikiEntityAliases = map[string]string{"רלמ;": "rlm;", "رلم;": "rlm;"}

// validCodepoint is MediaWiki's Sanitizer::validateCodepoint.
func validCodepoint(cp int64) bool {
	return cp == 0x09 || cp == 0x0A || cp >= 0x20 && cp <= 0x7E || cp >= 0xA0 && cp <= 0xD7FF ||
		cp >= 0xE000 && cp <= 0xFFFD || cp >= 0x10000 && cp <= 0x10FFFF
}

// DecodeCharReferences is MediaWiki's Sanitizer::decodeCharReferences:
// named (HTML5) and numeric references are decoded; invalid code points
// become U+FFFD; unknown names stay.
func DecodeCharReferences(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if s[i] != '&' {
			b.WriteByte(s[i])
			i++
			continue
		}
		// &name;
		j := i + 1
		for j < len(s) && (isAlnum(s[j]) || s[j] >= 0x80) {
			j++
		}
		if j > i+1 && j < len(s) && s[j] == ';' {
			name := s[i+1 : j+1]
			if alias, ok := mediaWikiEntityAliases[name]; ok {
				name = alias
			}
			if e, ok := html5Entities[name]; ok {
				b.WriteString(e)
			} else {
				b.WriteString("&" + name)
			}
			i = j + 1
			continue
		}
		// &#digits; or &#xhex;
		if j := i + 1; j < len(s) && s[j] == '#' {
			k := j + 1
			hex := k < len(s) && (s[k] == 'x' || s[k] == 'X')
			if hex {
				k++
			}
			start := k
			for k < len(s) && (hex && isHex(s[k]) || !hex && s[k] >= '0' && s[k] <= '9') {
				k++
			}
			if k > start && k < len(s) && s[k] == ';' {
				base := 10
				if hex {
					base = 16
				}
				cp, err := strconv.ParseInt(s[start:k], base, 64)
				if err == nil && validCodepoint(cp) {
					b.WriteRune(rune(cp))
				} else {
					b.WriteRune(utf8.RuneError)
				}
				i = k + 1
				continue
			}
		}
		b.WriteByte('&')
		i++
	}
	return b.String()
}
