package httpapi

import (
	"bytes"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/jsonstr"
)

// The wikitexts are nearly all of a screening request's bytes, and the
// JSON decoder looks at each of their bytes twice (once to find where the
// string ends, once to unquote it). decodeAction lifts the two wikitexts
// out of the body in one pass, 8 bytes at a time, hands the small rest to
// the decoder, and puts them back. Whenever anything is unusual (bad
// JSON, a duplicate, an escaped name, a UTF-16 surrogate), it reports
// false and the caller decodes the whole body the usual way, which also
// gives the usual error. FuzzDecodeAction checks that both ways agree.

// bigFields are the members lifted out, in the order of their pointers in
// decodeAction.
var bigFields = [...]string{"old_wikitext", "new_wikitext"}

// decodeAction decodes body (valid UTF-8) into a, which must be zero.
func decodeAction(body []byte, a *vigil.Action) bool {
	var texts [len(bigFields)]string
	var found [len(bigFields)]bool
	var spans [len(bigFields)][2]int // the string literals' places in body
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return false
	}
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return false // nothing to gain
	}
	for {
		if i >= len(body) || body[i] != '"' {
			return false
		}
		end := stringEnd(body, i)
		if end < 0 {
			return false
		}
		name := body[i+1 : end-1]
		i = skipSpace(body, end)
		if i >= len(body) || body[i] != ':' {
			return false
		}
		i = skipSpace(body, i+1)
		field := -1
		for k, f := range bigFields {
			if string(name) == f {
				field = k
			}
		}
		if field >= 0 && i < len(body) && body[i] == '"' {
			if found[field] {
				return false // given twice: the decoder will say so
			}
			text, end, ok := scanString(body, i)
			if !ok {
				return false
			}
			texts[field], found[field], spans[field] = text, true, [2]int{i, end}
			i = end
		} else if i = skipValue(body, i, 0); i < 0 {
			return false
		}
		i = skipSpace(body, i)
		if i >= len(body) {
			return false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return false
		}
		i = skipSpace(body, i+1)
	}
	if !found[0] && !found[1] {
		return false
	}
	// The rest of the body, with each lifted string as "".
	var cuts [][2]int
	for k := range bigFields {
		if found[k] {
			cuts = append(cuts, spans[k])
		}
	}
	if len(cuts) == 2 && cuts[1][0] < cuts[0][0] {
		cuts[0], cuts[1] = cuts[1], cuts[0]
	}
	rest := make([]byte, 0, 512)
	at := 0
	for _, c := range cuts {
		rest = append(append(rest, body[at:c[0]]...), `""`...)
		at = c[1]
	}
	rest = append(rest, body[at:]...)
	if err := jsonv2.Unmarshal(rest, a, jsonv2.RejectUnknownMembers(true), fastStrings); err != nil {
		return false
	}
	for k, p := range [...]**string{&a.OldWikitext, &a.NewWikitext} {
		if found[k] {
			*p = &texts[k]
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// stringEnd returns the index after the string literal at b[i], or -1.
// It does not validate: the decoder does, for everything but the lifted
// strings.
func stringEnd(b []byte, i int) int {
	i++
	for {
		j := bytes.IndexAny(b[i:], `"\`)
		if j < 0 {
			return -1
		}
		i += j
		if b[i] == '"' {
			return i + 1
		}
		i += 2 // an escape: the next byte cannot end the string
		if i > len(b) {
			return -1
		}
	}
}

// skipValue returns the index after the JSON value at b[i], or -1; like
// stringEnd, it only finds the end.
func skipValue(b []byte, i, depth int) int {
	if i >= len(b) || depth > 64 {
		return -1
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		closer := byte('}')
		if b[i] == '[' {
			closer = ']'
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1
		}
		for {
			if closer == '}' {
				if i >= len(b) || b[i] != '"' {
					return -1
				}
				if i = stringEnd(b, i); i < 0 {
					return -1
				}
				i = skipSpace(b, i)
				if i >= len(b) || b[i] != ':' {
					return -1
				}
				i = skipSpace(b, i+1)
			}
			if i = skipValue(b, i, depth+1); i < 0 {
				return -1
			}
			i = skipSpace(b, i)
			if i >= len(b) {
				return -1
			}
			if b[i] == closer {
				return i + 1
			}
			if b[i] != ',' {
				return -1
			}
			i = skipSpace(b, i+1)
		}
	}
	// A number, true, false or null.
	start := i
	for i < len(b) && (b[i] >= '0' && b[i] <= '9' || b[i] >= 'a' && b[i] <= 'z' || b[i] == '-' || b[i] == '+' || b[i] == '.' || b[i] == 'E') {
		i++
	}
	if i == start {
		return -1
	}
	return i
}

// scanString validates and unquotes the JSON string literal at b[i]; b is
// valid UTF-8. It returns the text and the index after the literal; ok is
// false on anything the decoder would refuse, and on UTF-16 surrogate
// escapes, which are left to the decoder.
func scanString(b []byte, i int) (text string, end int, ok bool) {
	i++
	start := i
	var out strings.Builder // empty until the first escape
	escaped := false
	for {
		i += jsonstr.IndexStop(b[i:])
		if i >= len(b) {
			return "", 0, false
		}
		c := b[i]
		switch {
		case c == '"':
			if !escaped {
				return string(b[start:i]), i + 1, true
			}
			out.Write(b[start:i])
			return out.String(), i + 1, true
		case c < 0x20:
			return "", 0, false
		}
		if !escaped {
			// The text is at most as long as what is left of its literal:
			// one search for the closing quote (SIMD, skipping escaped
			// quotes) sizes it, where growing it copied whole pages.
			escaped = true
			out.Grow(quoteEnd(b, i) - start)
		}
		out.Write(b[start:i])
		if i+1 >= len(b) {
			return "", 0, false
		}
		switch e := b[i+1]; e {
		case '"', '\\', '/':
			out.WriteByte(e)
		case 'b':
			out.WriteByte('\b')
		case 'f':
			out.WriteByte('\f')
		case 'n':
			out.WriteByte('\n')
		case 'r':
			out.WriteByte('\r')
		case 't':
			out.WriteByte('\t')
		case 'u':
			if i+6 > len(b) {
				return "", 0, false
			}
			r, okHex := hexRune(b[i+2 : i+6])
			if !okHex || r >= 0xd800 && r < 0xe000 {
				return "", 0, false
			}
			out.WriteRune(r)
			i += 4
		default:
			return "", 0, false
		}
		i += 2
		start = i
	}
}

// quoteEnd returns the index of the first unescaped quote at or after i,
// or len(b): a bound, not a validation (scanString validates). Unlike
// stringEnd, which stops at every escape (a wikitext has one per line), it
// only stops at quotes.
func quoteEnd(b []byte, i int) int {
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return len(b)
		}
		i += j
		k := i
		for k > 0 && b[k-1] == '\\' {
			k--
		}
		if (i-k)%2 == 0 {
			return i
		}
		i++
	}
}

func hexRune(h []byte) (rune, bool) {
	var r rune
	for _, c := range h {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}
