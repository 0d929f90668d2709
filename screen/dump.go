package screen

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/vigilwiki/vigil/internal/jsonstr"
	"github.com/vigilwiki/vigil/rules/validutf8"
)

// marshalDump encodes a variable dump as encoding/json does (keys sorted,
// the same escapes) except that <, > and & are not escaped, as in the
// API's responses: wikitext is full of them. Strings, most of a dump's
// bytes, are copied 8 bytes at a time where nothing needs escaping;
// encoding/json looks at each byte and was a twentieth of the service's CPU.
func marshalDump(m map[string]any) json.RawMessage {
	return appendDump(nil, m)
}

// appendDump is marshalDump appending to buf.
func appendDump(buf []byte, m map[string]any) json.RawMessage {
	keys := make([]string, 0, len(m))
	size := 2
	for k, v := range m {
		keys = append(keys, k)
		if s, ok := v.(string); ok {
			size += len(s) + len(s)/8 // room for some escapes
		}
	}
	slices.Sort(keys)
	buf = slices.Grow(buf[:0], size+32*len(keys))
	buf = append(buf, '{')
	for i, k := range keys {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendJSONString(buf, k)
		buf = append(buf, ':')
		var ok bool
		if buf, ok = appendJSONValue(buf, m[k]); !ok {
			return json.RawMessage("{}")
		}
	}
	return append(buf, '}')
}

func appendJSONValue(buf []byte, v any) ([]byte, bool) {
	switch v := v.(type) {
	case string:
		return appendJSONString(buf, v), true
	case nil:
		return append(buf, "null"...), true
	case bool:
		return strconv.AppendBool(buf, v), true
	case int64:
		return strconv.AppendInt(buf, v, 10), true
	case []any:
		buf = append(buf, '[')
		for i, e := range v {
			if i > 0 {
				buf = append(buf, ',')
			}
			var ok bool
			if buf, ok = appendJSONValue(buf, e); !ok {
				return buf, false
			}
		}
		return append(buf, ']'), true
	}
	b, err := json.Marshal(v) // floats and anything rarer
	if err != nil {
		return buf, false
	}
	return append(buf, b...), true
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with SetEscapeHTML(false).
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		// Non-ASCII bytes need a look too (invalid UTF-8, U+2028).
		i += jsonstr.IndexStopOrNonASCII(s[i:])
		if i >= len(s) {
			break
		}
		c := s[i]
		if c >= utf8.RuneSelf {
			buf, start, i = appendNonASCII(buf, s, start, i)
			continue
		}
		// A quote, a backslash or a control character.
		buf = append(buf, s[start:i]...)
		switch c {
		case '"', '\\':
			buf = append(buf, '\\', c)
		case '\b':
			buf = append(buf, '\\', 'b')
		case '\f':
			buf = append(buf, '\\', 'f')
		case '\n':
			buf = append(buf, '\\', 'n')
		case '\r':
			buf = append(buf, '\\', 'r')
		case '\t':
			buf = append(buf, '\\', 't')
		default:
			buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// appendNonASCII takes the text from s[i], a byte beyond ASCII, to where
// the caller's scan goes on: escaped where it must be, appended from start
// when it is (the caller appends the rest later). Apart from the caller's
// loop, which ASCII text keeps to.
func appendNonASCII(buf []byte, s string, start, i int) ([]byte, int, int) {
	r, size := utf8.DecodeRuneInString(s[i:])
	if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
		buf, start = appendRunes(buf, s, start, i, i+size)
	}
	i += size
	if i < len(s) && s[i] >= utf8.RuneSelf {
		// Two runes beyond ASCII in a row: a script other than Latin,
		// most likely. The text runs on to the next quote, backslash or
		// control character (a line's end, in a wikitext), rarely needs an
		// escape, and is then taken whole: rune by rune, a Cyrillic
		// wikitext went five times slower than an English one.
		end := i + jsonstr.IndexStopString(s[i:])
		if !plainUTF8(s[i:end]) {
			buf, start = appendRunes(buf, s, start, i, end)
		}
		i = end
	}
	return buf, start, i
}

// plainUTF8 reports whether s is valid UTF-8 without U+2028 or U+2029,
// which a JSON string holds as they are.
func plainUTF8(s string) bool {
	if !validutf8.String(s) {
		return false
	}
	for {
		// Both separators are E2 80 A8/A9; E2 80 starts other common
		// punctuation (dashes, quotes, the ellipsis) too.
		k := strings.Index(s, "\xe2\x80")
		if k < 0 {
			return true
		}
		if k+2 < len(s) && (s[k+2] == 0xa8 || s[k+2] == 0xa9) {
			return false
		}
		s = s[k+2:]
	}
}

// appendRunes escapes what s[i:end] needs escaped, where it holds no quote,
// backslash or control character: invalid bytes become U+FFFD, the line
// and paragraph separators \u2028 and \u2029. Each escape is appended after
// the text before it, from start; it returns where the text not yet
// appended starts (the caller appends the rest later).
func appendRunes(buf []byte, s string, start, i, end int) ([]byte, int) {
	for i < end {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		// An ASCII byte never continues a sequence, so s[i:end] decodes
		// as s[i:] would.
		r, size := utf8.DecodeRuneInString(s[i:end])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(append(buf, s[start:i]...), `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(append(buf, s[start:i]...), `\u202`...)
			buf = append(buf, hexDigits[r&0xf])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	return buf, start
}

// dumpBuffers hold the public variable dumps of actions being screened: a
// dump (about twice the page) is dead once its log entries are written,
// and was a third of the bytes the engine allocated.
var dumpBuffers = sync.Pool{New: func() any { return new([]byte) }}
