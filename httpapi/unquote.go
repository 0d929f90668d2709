package httpapi

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// fastStrings decodes JSON strings with a faster unquote than the
// decoder's own: wikitexts are most of a screening request's bytes and
// have an escape (\n, \") every few dozen bytes, which the decoder copies
// byte by byte; here the spans between escapes are found with IndexByte
// and copied whole. The decoder still reads (and so validates) the value.
var fastStrings = jsonv2.WithUnmarshalers(jsonv2.UnmarshalFromFunc(func(dec *jsontext.Decoder, s *string) error {
	if dec.PeekKind() != '"' {
		return errors.ErrUnsupported
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	*s = unquote(v)
	return nil
}))

// unquote returns the text of a JSON string literal that the decoder has
// already validated (quotes, escapes and UTF-8).
func unquote(v []byte) string {
	s := v[1 : len(v)-1]
	i := bytes.IndexByte(s, '\\')
	if i < 0 {
		return string(s)
	}
	out := make([]byte, 0, len(s))
	for {
		out = append(out, s[:i]...)
		s = s[i:]
		c := s[1]
		s = s[2:]
		switch c {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r, _ := hexRune(s[:4]) // validated by the decoder
			s = s[4:]
			if utf16.IsSurrogate(r) {
				r2 := rune(-1)
				if len(s) >= 6 && s[0] == '\\' && s[1] == 'u' {
					r2, _ = hexRune(s[2:6])
				}
				if p := utf16.DecodeRune(r, r2); p != utf8.RuneError {
					r = p
					s = s[6:]
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default: // " \ /
			out = append(out, c)
		}
		i = bytes.IndexByte(s, '\\')
		if i < 0 {
			out = append(out, s...)
			break
		}
	}
	// out is not kept anywhere else.
	return unsafe.String(unsafe.SliceData(out), len(out))
}
