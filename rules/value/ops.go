package value

import (
	"errors"
	"math"
)

// ErrDivideByZero is returned by Div and Mod for a zero divisor; the
// evaluator reports it as AbuseFilter's "dividebyzero".
var ErrDivideByZero = errors.New("dividebyzero")

// phpForm is what AFPData::toString() hands to PHP's === and <: a string,
// or for a string-tagged float (see Value) the float itself.
func (v Value) phpForm() (isFloat bool, f float64, s string) {
	if v.isTagged() && v.k() == String {
		return true, v.Float(), ""
	}
	return false, 0, v.ToString()
}

// Equal is AbuseFilter's == (strict=false) and === (strict=true), that is
// AFPData::equals: scalars are equal when their PHP string forms are
// identical (and, when strict, their types too); arrays element by element;
// an array equals a scalar only when it is empty and the scalar is false or
// null (never when strict). Neither operand may be undefined.
func Equal(a, b Value, strict bool) bool {
	// Fast paths with the same results as the general rule below.
	if a.k() == b.k() && !a.isTagged() && !b.isTagged() {
		switch a.k() {
		case String:
			return a.bits == b.bits && (a.ptr == b.ptr || a.Str() == b.Str())
		case Int, Bool, Null:
			return a.bits == b.bits
		}
	}
	aArr, bArr := a.k() == Array && !a.isTagged(), b.k() == Array && !b.isTagged()
	switch {
	case !aArr && !bArr:
		if strict && a.k() != b.k() {
			return false
		}
		af, ff, as := a.phpForm()
		bf, fb, bs := b.phpForm()
		if af || bf {
			// PHP's === between a float and a string is false; between
			// two floats it compares the numbers.
			return af && bf && ff == fb
		}
		return as == bs
	case aArr && bArr:
		ea, eb := a.Elems(), b.Elems()
		if len(ea) != len(eb) {
			return false
		}
		for i := range ea {
			if !Equal(ea[i], eb[i], strict) {
				return false
			}
		}
		return true
	}
	if strict {
		return false
	}
	emptyVsFalsy := func(arr, other Value) bool {
		return arr.Len() == 0 && (other.k() == Bool && !other.isTagged() && other.bits == 0 || other.k() == Null)
	}
	if aArr {
		return emptyVsFalsy(a, b)
	}
	return emptyVsFalsy(b, a)
}

// Compare orders a and b as AbuseFilter's < does: both are converted to
// their PHP string forms and compared with PHP 8's rules (numerically when
// both are numeric strings, byte-wise otherwise). It returns -1, 0 or 1.
// AbuseFilter's a > b is Compare(b, a) < 0 and a >= b is Compare(b, a) <= 0,
// as PHP evaluates them.
func Compare(a, b Value) int {
	if !a.isTagged() && !b.isTagged() {
		if x, ok := a.intForm(); ok {
			if y, ok := b.intForm(); ok {
				// Both string forms are integer strings (or ""), which
				// PHP compares as numbers.
				switch {
				case x < y:
					return -1
				case x > y:
					return 1
				}
				return 0
			}
			if b.k() == Null || b.k() == Bool && b.bits == 0 || b.k() == String && b.bits == 0 {
				// "" sorts before every non-empty string.
				return 1
			}
		} else if a.k() == Null || a.k() == Bool && a.bits == 0 || a.k() == String && a.bits == 0 {
			if b.k() == Null || b.k() == Bool && b.bits == 0 || b.k() == String && b.bits == 0 {
				return 0
			}
			if _, ok := b.intForm(); ok {
				return -1
			}
		}
	}
	af, fa, as := a.phpForm()
	bf, fb, bs := b.phpForm()
	switch {
	case af && bf:
		return compareFloats(fa, fb)
	case af:
		return compareFloatString(fa, bs)
	case bf:
		return -compareFloatString(fb, as)
	}
	if as == bs {
		return 0
	}
	return compareStrings(as, bs)
}

// intForm reports whether v's PHP string form is a canonical integer
// string (an int, or true as "1"), and that integer.
func (v Value) intForm() (int64, bool) {
	switch v.k() {
	case Int:
		return int64(v.bits), true
	case Bool:
		if v.bits != 0 {
			return 1, true
		}
	}
	return 0, false
}

// Not is AbuseFilter's !: undefined stays undefined.
func Not(v Value) Value {
	if v.k() == Undefined {
		return v
	}
	return NewBool(!v.ToBool())
}

// Neg is AbuseFilter's unary minus (AFPData::unaryMinus): an int is negated
// as an int; anything else becomes its negated float value under its
// original type tag.
func Neg(v Value) Value {
	switch {
	case v.k() == Undefined:
		return v
	case v.k() == Int && !v.isTagged():
		i := int64(v.bits)
		if i == math.MinInt64 {
			// PHP's -PHP_INT_MIN overflows to a float.
			return taggedFloat(Int, twoPow63)
		}
		return NewInt(-i)
	}
	// The tag stays, even on an array (whose float payload most later
	// operations reject with a PHP TypeError; Vigil reads it as well as it
	// can instead of crashing).
	return taggedFloat(v.k(), -v.ToFloat())
}

// Add is AbuseFilter's +: string concatenation when either side is a
// string, array concatenation when both are arrays, numeric addition
// otherwise.
func Add(a, b Value) Value {
	switch {
	case a.k() == Undefined || b.k() == Undefined:
		return UndefinedValue
	case a.k() == String || b.k() == String:
		return NewString(a.ToString() + b.ToString())
	case a.k() == Array && b.k() == Array:
		ea, eb := a.Elems(), b.Elems()
		out := make([]Value, 0, len(ea)+len(eb))
		out = append(append(out, ea...), eb...)
		return NewArray(out)
	}
	x, y := a.ToNumber(), b.ToNumber()
	if x.k() == Int && y.k() == Int {
		s, overflow := addInt(int64(x.bits), int64(y.bits))
		if !overflow {
			return NewInt(s)
		}
	}
	return NewFloat(x.ToFloat() + y.ToFloat())
}

// Sub is AbuseFilter's binary minus.
func Sub(a, b Value) Value {
	if a.k() == Undefined || b.k() == Undefined {
		return UndefinedValue
	}
	x, y := a.ToNumber(), b.ToNumber()
	if x.k() == Int && y.k() == Int {
		p, q := int64(x.bits), int64(y.bits)
		d := p - q
		if (p >= 0) == (q >= 0) || (d >= 0) == (p >= 0) {
			return NewInt(d)
		}
	}
	return NewFloat(x.ToFloat() - y.ToFloat())
}

func addInt(a, b int64) (int64, bool) {
	s := a + b
	return s, (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0)
}

func mulInt(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, false
	}
	c := a * b
	if c/b != a || a == -1 && b == math.MinInt64 || b == -1 && a == math.MinInt64 {
		return 0, true
	}
	return c, false
}

// Mul is AbuseFilter's *.
func Mul(a, b Value) Value {
	if a.k() == Undefined || b.k() == Undefined {
		return UndefinedValue
	}
	x, y := a.ToNumber(), b.ToNumber()
	if x.k() == Int && y.k() == Int {
		p, overflow := mulInt(int64(x.bits), int64(y.bits))
		if !overflow {
			return NewInt(p)
		}
	}
	return NewFloat(x.ToFloat() * y.ToFloat())
}

// divisor converts b for / and % and reports division by zero the way
// AFPData::mulRel checks it: (float)b == 0 for /, (int)b == 0 for %.
func divisor(b Value, mod bool) (Value, error) {
	y := b.ToNumber()
	if mod {
		if y.ToInt() == 0 {
			return y, ErrDivideByZero
		}
	} else if y.ToFloat() == 0 {
		return y, ErrDivideByZero
	}
	return y, nil
}

// Div is AbuseFilter's /: an int when both operands are ints and the
// division is exact, a float otherwise. An undefined divisor gives
// undefined; a zero divisor is an error even when a is undefined.
func Div(a, b Value) (Value, error) {
	if b.k() == Undefined {
		return UndefinedValue, nil
	}
	y, err := divisor(b, false)
	if err != nil {
		return UndefinedValue, err
	}
	if a.k() == Undefined {
		return UndefinedValue, nil
	}
	x := a.ToNumber()
	if x.k() == Int && y.k() == Int {
		n, d := int64(x.bits), int64(y.bits)
		if !(n == math.MinInt64 && d == -1) && n%d == 0 {
			return NewInt(n / d), nil
		}
		return NewFloat(float64(n) / float64(d)), nil
	}
	return NewFloat(x.ToFloat() / y.ToFloat()), nil
}

// Mod is AbuseFilter's %: both operands as ints, the sign of the dividend.
func Mod(a, b Value) (Value, error) {
	if b.k() == Undefined {
		return UndefinedValue, nil
	}
	y, err := divisor(b, true)
	if err != nil {
		return UndefinedValue, err
	}
	if a.k() == Undefined {
		return UndefinedValue, nil
	}
	n, d := a.ToNumber().ToInt(), y.ToInt()
	if d == -1 {
		// PHP special-cases -1 to avoid the INT_MIN % -1 trap.
		return NewInt(0), nil
	}
	return NewInt(n % d), nil
}

// Pow is AbuseFilter's ** (PHP's pow()): an int for an int base and a
// non-negative int exponent unless it overflows, a float otherwise.
func Pow(a, b Value) Value {
	if a.k() == Undefined || b.k() == Undefined {
		return UndefinedValue
	}
	x, y := a.ToNumber(), b.ToNumber()
	if x.k() == Int && y.k() == Int {
		base, exp := int64(x.bits), int64(y.bits)
		if exp < 0 {
			return NewFloat(cpow(float64(base), float64(exp)))
		}
		return powInt(base, exp)
	}
	return NewFloat(cpow(x.ToFloat(), y.ToFloat()))
}

// powInt is PHP's pow(int, int) for exponents >= 0: square-and-multiply,
// switching to floats at the first overflow exactly where PHP does.
func powInt(base, exp int64) Value {
	if exp == 0 {
		return NewInt(1)
	}
	if base == 0 {
		return NewInt(0)
	}
	l1, l2, i := int64(1), base, exp
	for i >= 1 {
		if i%2 != 0 {
			i--
			p, overflow := mulInt(l1, l2)
			if overflow {
				return NewFloat(float64(l1) * float64(l2) * cpow(float64(l2), float64(i)))
			}
			l1 = p
		} else {
			i /= 2
			p, overflow := mulInt(l2, l2)
			if overflow {
				return NewFloat(float64(l1) * cpow(float64(l2)*float64(l2), float64(i)))
			}
			l2 = p
		}
	}
	return NewInt(l1)
}
