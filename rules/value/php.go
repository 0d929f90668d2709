package value

import (
	"math"
	"strconv"
	"strings"
)

// This file holds PHP's primitive conversions: numeric strings, string to
// int and float, float to int, and float to string with precision 14.

// isPHPSpace reports the bytes PHP's numeric-string scanner skips
// (ZEND_STRTOL whitespace: space, \t, \n, \r, \v, \f).
func isPHPSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numKind is what PHP's is_numeric_string_ex found.
type numKind uint8

const (
	notNumeric numKind = iota
	numInt
	numFloat
)

// numeric is the result of scanning a string as PHP 8's
// _is_numeric_string_ex does.
type numeric struct {
	kind numKind
	i    int64
	f    float64
	// oflow is +1 or -1 when the string looked like an integer but did not
	// fit in an int64 (PHP then treats it as a float).
	oflow int
	// trailing is true when non-whitespace bytes follow the number.
	trailing bool
}

// scanNumeric scans s like PHP 8's is_numeric_string_ex: optional leading
// whitespace, optional sign, digits with an optional fraction and exponent
// (or a fraction alone), optional trailing whitespace. With allowErrors,
// trailing garbage is allowed and reported in trailing.
func scanNumeric(s string, allowErrors bool) numeric {
	i := 0
	for i < len(s) && isPHPSpace(s[i]) {
		i++
	}
	start := i // the number, with its sign
	p := i
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		p++
	}
	isFloat := false
	switch {
	case p < len(s) && isDigit(s[p]):
		for p < len(s) && isDigit(s[p]) {
			p++
		}
		if p < len(s) && s[p] == '.' {
			isFloat = true
			p++
			for p < len(s) && isDigit(s[p]) {
				p++
			}
		}
	case p+1 < len(s) && s[p] == '.' && isDigit(s[p+1]):
		isFloat = true
		p++
		for p < len(s) && isDigit(s[p]) {
			p++
		}
	default:
		return numeric{}
	}
	end := p
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		e := p + 1
		if e < len(s) && (s[e] == '-' || s[e] == '+') {
			e++
		}
		if e < len(s) && isDigit(s[e]) {
			for e < len(s) && isDigit(s[e]) {
				e++
			}
			isFloat = true
			end = e
		}
	}
	// Trailing whitespace is allowed (PHP 8); anything else is an error.
	rest := end
	for rest < len(s) && isPHPSpace(s[rest]) {
		rest++
	}
	trailing := rest != len(s)
	if trailing && !allowErrors {
		return numeric{}
	}
	text := s[start:end]
	if !isFloat {
		if iv, err := strconv.ParseInt(text, 10, 64); err == nil {
			return numeric{kind: numInt, i: iv, trailing: trailing}
		}
		// Too many digits for an int64: PHP reads it as a float and
		// remembers the overflow direction.
		f, _ := strconv.ParseFloat(text, 64)
		oflow := 1
		if text[0] == '-' {
			oflow = -1
		}
		return numeric{kind: numFloat, f: f, oflow: oflow, trailing: trailing}
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		// Out of range: ParseFloat returns ±Inf or ±0 with ErrRange,
		// which is what strtod gives too.
		if ne, ok := err.(*strconv.NumError); !ok || ne.Err != strconv.ErrRange {
			return numeric{}
		}
	}
	return numeric{kind: numFloat, f: f, trailing: trailing}
}

// StringToInt converts like PHP's (int)$string: the leading numeric part,
// with floats saturated to the int64 range (zend_dval_to_lval_cap).
func StringToInt(s string) int64 {
	n := scanNumeric(s, true)
	switch n.kind {
	case numInt:
		return n.i
	case numFloat:
		return floatToIntCap(n.f)
	}
	return 0
}

// StringToFloat converts like PHP's (float)$string, which is zend_strtod on
// the string: the longest prefix that reads as a decimal number, else 0.
func StringToFloat(s string) float64 {
	i := 0
	for i < len(s) && isPHPSpace(s[i]) {
		i++
	}
	p := i
	if p < len(s) && (s[p] == '-' || s[p] == '+') {
		p++
	}
	digits := 0
	for p < len(s) && isDigit(s[p]) {
		p++
		digits++
	}
	if p < len(s) && s[p] == '.' {
		q := p + 1
		frac := 0
		for q < len(s) && isDigit(s[q]) {
			q++
			frac++
		}
		if digits+frac > 0 {
			p = q
			digits += frac
		}
	}
	if digits == 0 {
		return 0
	}
	if p < len(s) && (s[p] == 'e' || s[p] == 'E') {
		e := p + 1
		if e < len(s) && (s[e] == '-' || s[e] == '+') {
			e++
		}
		if e < len(s) && isDigit(s[e]) {
			for e < len(s) && isDigit(s[e]) {
				e++
			}
			p = e
		}
	}
	f, err := strconv.ParseFloat(s[i:p], 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f
		}
		return 0
	}
	return f
}

const twoPow63 = 9223372036854775808.0

// fitsInt reports ZEND_DOUBLE_FITS_LONG.
func fitsInt(f float64) bool { return f >= -twoPow63 && f < twoPow63 }

// FloatToInt converts like PHP's (int)$float on 64-bit PHP 8.2
// (zend_dval_to_lval): NaN and infinities give 0, values out of range wrap
// modulo 2^64.
func FloatToInt(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	if fitsInt(f) {
		return int64(f)
	}
	const twoPow64 = 18446744073709551616.0
	dmod := math.Mod(f, twoPow64)
	if dmod < 0 {
		// Make it positive; -2^63 is representable as is.
		if dmod == -twoPow63 {
			return math.MinInt64
		}
		dmod += twoPow64
	}
	if dmod >= twoPow63 {
		dmod -= twoPow64
	}
	return int64(dmod)
}

// floatToIntCap is zend_dval_to_lval_cap: like FloatToInt but saturating.
func floatToIntCap(f float64) int64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	if !fitsInt(f) {
		if f > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return int64(f)
}

// FormatFloat formats f as PHP does when it converts a float to a string
// with precision=14 (zend_gcvt with mode 2): at most 14 significant digits,
// trailing zeros removed, exponent form "1.0E+25" when the exponent is below
// -4 or at least 15.
func FormatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NAN"
	case math.IsInf(f, 1):
		return "INF"
	case math.IsInf(f, -1):
		return "-INF"
	}
	const precision = 14
	neg := math.Signbit(f)
	if f == 0 {
		if neg {
			return "-0"
		}
		return "0"
	}
	// 'e' with precision-1 gives exactly `precision` significant digits,
	// correctly rounded, as zend_dtoa mode 2 does.
	e := strconv.FormatFloat(math.Abs(f), 'e', precision-1, 64)
	mant, expStr, _ := strings.Cut(e, "e")
	exp, _ := strconv.Atoi(expStr)
	digits := strings.TrimRight(strings.Replace(mant, ".", "", 1), "0")
	if digits == "" {
		digits = "0"
	}
	decpt := exp + 1 // position of the decimal point relative to digits
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	if decpt < -3 || decpt > precision {
		// Exponential form.
		b.WriteByte(digits[0])
		b.WriteByte('.')
		if len(digits) == 1 {
			b.WriteByte('0')
		} else {
			b.WriteString(digits[1:])
		}
		b.WriteByte('E')
		x := decpt - 1
		if x < 0 {
			b.WriteByte('-')
			x = -x
		} else {
			b.WriteByte('+')
		}
		b.WriteString(strconv.Itoa(x))
		return b.String()
	}
	if decpt <= 0 {
		b.WriteString("0.")
		for i := decpt; i < 0; i++ {
			b.WriteByte('0')
		}
		b.WriteString(digits)
		return b.String()
	}
	if len(digits) <= decpt {
		b.WriteString(digits)
		for i := len(digits); i < decpt; i++ {
			b.WriteByte('0')
		}
		return b.String()
	}
	b.WriteString(digits[:decpt])
	b.WriteByte('.')
	b.WriteString(digits[decpt:])
	return b.String()
}

// compareStrings compares two PHP strings as PHP 8's "<" does
// (zendi_smart_strcmp): numerically when both are numeric strings, else
// byte-wise. It returns -1, 0 or 1.
func compareStrings(a, b string) int {
	na := scanNumeric(a, false)
	if na.kind != notNumeric {
		nb := scanNumeric(b, false)
		if nb.kind != notNumeric {
			if na.oflow != 0 && na.oflow == nb.oflow && na.f-nb.f == 0 {
				// Both overflowed the same way: numbers cannot tell.
				return strings.Compare(a, b)
			}
			if na.kind == numFloat || nb.kind == numFloat {
				fa, fb := na.f, nb.f
				switch {
				case na.kind != numFloat:
					if nb.oflow != 0 {
						return -nb.oflow
					}
					fa = float64(na.i)
				case nb.kind != numFloat:
					if na.oflow != 0 {
						return na.oflow
					}
					fb = float64(nb.i)
				case fa == fb && (math.IsInf(fa, 0)):
					return strings.Compare(a, b)
				}
				return normalize(fa - fb)
			}
			switch {
			case na.i < nb.i:
				return -1
			case na.i > nb.i:
				return 1
			}
			return 0
		}
	}
	return strings.Compare(a, b)
}

// normalize is ZEND_NORMALIZE_BOOL on a float difference.
func normalize(d float64) int {
	switch {
	case d > 0:
		return 1
	case d < 0:
		return -1
	}
	return 0
}

// compareFloatString compares a float with a string as PHP 8 does
// (compare_doubles_to_string).
func compareFloatString(f float64, s string) int {
	n := scanNumeric(s, false)
	switch n.kind {
	case numInt:
		return normalize(f - float64(n.i))
	case numFloat:
		if f == n.f {
			return 0
		}
		return normalize(f - n.f)
	}
	return strings.Compare(FormatFloat(f), s)
}

// compareFloats is ZEND_THREEWAY_COMPARE on floats (NaN compares as greater).
func compareFloats(a, b float64) int {
	switch {
	case a == b:
		return 0
	case a < b:
		return -1
	}
	return 1
}
