package syntax

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// token is one scanned token.
type token struct {
	tok Token
	pos Pos // first byte of the token's text
	// start is where AbuseFilter's tokenizer began reading this token: the
	// end of the previous token, before any whitespace and comments.
	// AbuseFilter reports some errors at this offset.
	start Pos
	end   Pos    // the byte after the token
	lit   string // identifier as written, decoded string, operator text
	ival  int64
	fval  float64
}

// operatorsByFirst lists the operators by their first byte, longest
// first as in operators.
var operatorsByFirst = func() (m [256][]operator) {
	for _, op := range operators {
		m[op.text[0]] = append(m[op.text[0]], op)
	}
	return m
}()

var (
	punctuation = [256]Token{',': Comma, '(': LParen, ')': RParen, '[': LBrack, ']': RBrack, ';': Semicolon}
	bases       = [256]int{'x': 16, 'b': 2, 'o': 8}
)

// MaxSourceSize bounds the rule text the scanner accepts. AbuseFilter stores
// patterns in a 64 KiB blob; Vigil allows more but not without bound.
const MaxSourceSize = 1 << 20

// scanner reads the tokens of a rule exactly as AbuseFilterTokenizer does.
type scanner struct {
	src       string
	validUTF8 bool // numbers are recognised only in valid UTF-8 (the number regex has /u)
}

// scanAll tokenizes the whole source, as AbuseFilter does before parsing:
// a tokenizer error anywhere wins over any parse error. The last token is
// always EOF.
func scanAll(src string, toks []token) ([]token, *Error) {
	if len(src) > MaxSourceSize {
		return nil, newError(0, 0, ErrTooComplex, "the rule is %d bytes long; at most %d are accepted", len(src), MaxSourceSize)
	}
	s := scanner{src: src, validUTF8: utf8.ValidString(src)}
	offset := 0
	for {
		t, next, err := s.next(offset)
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.tok == EOF {
			return toks, nil
		}
		offset = next
	}
}

// isSpace reports the bytes AbuseFilter's tokenizer skips between tokens.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}

func (s *scanner) next(offset int) (token, int, *Error) {
	src := s.src
	start := offset
	// Comments: whitespace then "/*", repeatedly. AbuseFilter searches for
	// the closing "*/" from before the opening "/*", so "/*/" is a whole
	// comment.
	for {
		j := offset
		for j < len(src) && isSpace(src[j]) {
			j++
		}
		if !strings.HasPrefix(src[j:], "/*") {
			break
		}
		close := strings.Index(src[j+1:], "*/")
		if close < 0 {
			return token{}, 0, newError(Pos(j), Pos(offset), ErrUnclosedComment, "unclosed comment")
		}
		offset = j + 1 + close + 2
	}
	for offset < len(src) && isSpace(src[offset]) {
		offset++
	}
	t := token{start: Pos(start), pos: Pos(offset)}
	if offset >= len(src) {
		t.tok, t.end = EOF, Pos(offset)
		return t, offset, nil
	}
	c := src[offset]
	switch c {
	case ',', '(', ')', '[', ']', ';':
		t.tok = punctuation[c]
		t.lit = src[offset : offset+1]
		t.end = Pos(offset + 1)
		return t, offset + 1, nil
	case '"', '\'':
		return s.stringLiteral(t, offset)
	}
	for _, op := range operatorsByFirst[c] {
		if strings.HasPrefix(src[offset:], op.text) {
			t.tok, t.lit = op.tok, op.text
			t.end = Pos(offset + len(op.text))
			return t, int(t.end), nil
		}
	}
	if end, ok := s.number(&t, offset); ok {
		return t, end, nil
	}
	end := offset
	for end < len(src) && isIdentByte(src[end]) {
		end++
	}
	if end > offset {
		word := src[offset:end]
		t.tok, t.lit, t.end = Identifier, word, Pos(end)
		if kw, ok := keywords[word]; ok {
			t.tok = kw
		}
		return t, end, nil
	}
	r, _ := utf8.DecodeRuneInString(src[offset:])
	text := string(r)
	if r == utf8.RuneError {
		text = strconv.Quote(src[offset : offset+1])
	}
	return token{}, 0, newError(Pos(offset), Pos(start), ErrUnrecognisedToken, "unrecognised character %s", text)
}

func isIdentByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isWordAt reports whether a Unicode word character (letter, number or
// underscore, PCRE's \w with UCP) starts at i.
func (s *scanner) isWordAt(i int) bool {
	if i >= len(s.src) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s.src[i:])
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// digitsAt returns the end of a run of Unicode decimal digits (PCRE's \d
// with UCP) starting at i.
func (s *scanner) digitsAt(i int) int {
	for i < len(s.src) {
		r, size := utf8.DecodeRuneInString(s.src[i:])
		if !unicode.IsDigit(r) {
			break
		}
		i += size
	}
	return i
}

// numberInput matches AbuseFilter's number body at p,
// "[0-9A-Fa-f]+(?:\.\d*)?|\.\d+" followed by "(?!\w)", as PCRE's
// backtracking would, and returns its end.
func (s *scanner) numberInput(p int) (int, bool) {
	src := s.src
	q := p
	for q < len(src) && isHexDigit(src[q]) {
		q++
	}
	if q > p {
		// Shorter hex runs would leave a word character next, so only the
		// longest run can succeed; likewise for the fraction's digits.
		if q < len(src) && src[q] == '.' {
			if e := s.digitsAt(q + 1); !s.isWordAt(e) {
				return e, true
			}
		}
		if !s.isWordAt(q) {
			return q, true
		}
		return 0, false
	}
	if p+1 < len(src) && src[p] == '.' {
		if e := s.digitsAt(p + 1); e > p+1 && !s.isWordAt(e) {
			return e, true
		}
	}
	return 0, false
}

// number reads an int or float literal at offset as AbuseFilter does: its
// number regex, then a check that the digits fit the base. Text that fails
// the check is not a number (it is read again as an identifier).
func (s *scanner) number(t *token, offset int) (int, bool) {
	if !s.validUTF8 {
		// The number regex carries /u, and PCRE refuses to match in a
		// subject that is not valid UTF-8.
		return 0, false
	}
	src := s.src
	base := 10
	inputStart := offset
	end, ok := 0, false
	if offset+1 < len(src) && src[offset] == '0' && strings.IndexByte("xbo", src[offset+1]) >= 0 {
		if end, ok = s.numberInput(offset + 2); ok {
			base = bases[src[offset+1]]
			inputStart = offset + 2
		}
	}
	if !ok {
		if end, ok = s.numberInput(offset); !ok {
			return 0, false
		}
	}
	input := src[inputStart:end]
	for i := 0; i < len(input); i++ {
		c := input[i]
		var fits bool
		switch base {
		case 2:
			fits = c == '0' || c == '1'
		case 8:
			fits = c >= '0' && c <= '7'
		case 16:
			fits = isHexDigit(c)
		default:
			fits = c >= '0' && c <= '9' || c == '.'
		}
		if !fits {
			return 0, false
		}
	}
	t.end = Pos(end)
	t.lit = src[offset:end]
	if strings.Contains(input, ".") {
		t.tok = Float
		t.fval, _ = strconv.ParseFloat(input, 64)
		return end, true
	}
	t.tok = Int
	n, ok := new(big.Int).SetString(input, base)
	switch {
	case !ok:
		t.ival = 0
	case n.IsInt64():
		t.ival = n.Int64()
	default:
		// PHP's intval() saturates.
		t.ival = math.MaxInt64
	}
	return end, true
}

// stringLiteral reads a '...' or "..." literal with AbuseFilter's escapes:
// \\ \<quote> \n \r \t and \xHH (a raw byte); any other backslash pair is
// kept as written.
func (s *scanner) stringLiteral(t token, offset int) (token, int, *Error) {
	src := s.src
	quote := src[offset]
	offset++
	var b strings.Builder
	for offset < len(src) {
		c := src[offset]
		switch {
		case c == quote:
			t.tok, t.lit, t.end = String, b.String(), Pos(offset+1)
			return t, offset + 1, nil
		case c != '\\':
			n := strings.IndexAny(src[offset:], string(quote)+"\\")
			if n < 0 {
				n = len(src) - offset
			}
			b.WriteString(src[offset : offset+n])
			offset += n
			continue
		case offset+1 >= len(src):
			return t, 0, newError(t.pos, Pos(offset+1), ErrUnclosedString, "unclosed string")
		}
		switch e := src[offset+1]; e {
		case '\\':
			b.WriteByte('\\')
		case quote:
			b.WriteByte(quote)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'x':
			if offset+3 < len(src) && isHexDigit(src[offset+2]) && isHexDigit(src[offset+3]) {
				v, _ := strconv.ParseUint(src[offset+2:offset+4], 16, 8)
				b.WriteByte(byte(v))
				offset += 2
			} else {
				b.WriteString(`\x`)
			}
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
		offset += 2
	}
	return t, 0, newError(t.pos, Pos(offset), ErrUnclosedString, "unclosed string")
}
