package value

import (
	"math"
	"strconv"
	"strings"
)

// Conversions, as AFPData::castTypes does them with PHP's casts.
// Undefined converts like null; callers decide beforehand what undefined
// means for them, as AbuseFilter does.

// ToBool is PHP truthiness: "" and "0" are false, 0 and 0.0 are false, null
// is false, an array is true when it has elements.
func (v Value) ToBool() bool {
	if v.isTagged() {
		return v.Float() != 0
	}
	switch v.k() {
	case Bool, Int:
		return v.bits != 0
	case Float:
		return v.Float() != 0
	case String:
		return !(v.bits == 0 || v.bits == 1 && *(*byte)(v.ptr) == '0')
	case Array:
		return v.Len() > 0
	}
	return false
}

// ToString is PHP's string cast: floats with precision 14, true as "1",
// false and null as "", an array as each element's string followed by "\n".
func (v Value) ToString() string {
	if v.isTagged() {
		if v.k() == Array {
			return "" // PHP iterates the float payload as an empty array
		}
		return FormatFloat(v.Float())
	}
	switch v.k() {
	case String:
		return v.Str()
	case Int:
		return strconv.FormatInt(int64(v.bits), 10)
	case Float:
		return FormatFloat(v.Float())
	case Bool:
		if v.bits != 0 {
			return "1"
		}
		return ""
	case Array:
		elems := v.Elems()
		if len(elems) == 0 {
			return ""
		}
		var b strings.Builder
		b.Grow(arrayStringSize(elems))
		appendArray(&b, elems)
		return b.String()
	}
	return ""
}

// arrayStringSize is about the length of an array's string form (strings
// and separators exactly, other scalars as a few bytes), so that the lines
// of a page are joined without growing and copying.
func arrayStringSize(elems []Value) int {
	n := 0
	for _, e := range elems {
		switch {
		case e.k() == Array && !e.isTagged():
			n += arrayStringSize(e.Elems())
		case e.k() == String && !e.isTagged():
			n += int(e.bits)
		default:
			n += 8
		}
		n++
	}
	return n
}

func appendArray(b *strings.Builder, elems []Value) {
	for _, e := range elems {
		if e.k() == Array && !e.isTagged() {
			// Nested arrays are stringified recursively, each followed by
			// the separator of their own element.
			appendArray(b, e.Elems())
		} else {
			b.WriteString(e.ToString())
		}
		b.WriteByte('\n')
	}
}

// ToInt is PHP's int cast (intval); an array gives its element count.
func (v Value) ToInt() int64 {
	if v.isTagged() {
		if v.k() == Int {
			// castTypes returns an int-tagged value unchanged; its float
			// payload then acts as an int where PHP needs one.
			return FloatToInt(v.Float())
		}
		return FloatToInt(v.Float())
	}
	switch v.k() {
	case Int, Bool:
		return int64(v.bits)
	case Float:
		return FloatToInt(v.Float())
	case String:
		return StringToInt(v.Str())
	case Array:
		return int64(v.Len())
	}
	return 0
}

// ToFloat is PHP's float cast (floatval); an array gives its element count.
func (v Value) ToFloat() float64 {
	if v.isTagged() {
		return v.Float()
	}
	switch v.k() {
	case Int:
		return float64(int64(v.bits))
	case Bool:
		return float64(v.bits)
	case Float:
		return v.Float()
	case String:
		return StringToFloat(v.Str())
	case Array:
		return float64(v.Len())
	}
	return 0
}

// ToNumber is AFPData::toNumber: ints, bools and null become ints; strings,
// floats and arrays become floats.
func (v Value) ToNumber() Value {
	switch v.k() {
	case Int, Bool, Null, Undefined:
		if v.isTagged() {
			if v.k() == Int {
				return NewFloat(v.Float())
			}
			return NewInt(FloatToInt(v.Float()))
		}
		return NewInt(v.ToInt())
	}
	return NewFloat(v.ToFloat())
}

// Cast converts v to kind k as AbuseFilter's string(), int(), float() and
// bool() functions do (AFPData::castTypes): a value already of kind k is
// returned unchanged.
func (v Value) Cast(k Kind) Value {
	if v.k() == k {
		return v
	}
	switch k {
	case Bool:
		return NewBool(v.ToBool())
	case Int:
		return NewInt(v.ToInt())
	case Float:
		return NewFloat(v.ToFloat())
	case String:
		return NewString(v.ToString())
	case Null:
		return NullValue
	case Array:
		return NewArray([]Value{v})
	}
	return v
}

// Native returns v as a plain Go value for JSON: nil, bool, int64, float64,
// string or []any. Undefined becomes nil.
func (v Value) Native() any {
	if v.isTagged() {
		// AFPData::toNative reads a tagged float through its tag: null stays
		// null, an array tag iterates a float (nothing) into [].
		switch v.k() {
		case Null:
			return nil
		case Array:
			return []any{}
		}
		return v.Float()
	}
	switch v.k() {
	case Bool:
		return v.bits != 0
	case Int:
		return int64(v.bits)
	case Float:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			// JSON has no NaN or infinities; PHP's json_encode fails on
			// them. Give their PHP string form instead.
			return FormatFloat(f)
		}
		return f
	case String:
		return v.Str()
	case Array:
		elems := v.Elems()
		out := make([]any, len(elems))
		for i, e := range elems {
			out[i] = e.Native()
		}
		return out
	}
	return nil
}

// FromNative converts a decoded JSON value (nil, bool, float64,
// json.Number, string, []any) or a Go int/int64/float64/string/bool/[]string
// to a Value. Whole JSON numbers become ints, others floats. The second
// result is false for types with no rule-language equivalent (objects).
func FromNative(x any) (Value, bool) {
	switch t := x.(type) {
	case nil:
		return NullValue, true
	case bool:
		return NewBool(t), true
	case int:
		return NewInt(int64(t)), true
	case int64:
		return NewInt(t), true
	case float64:
		return NewFloat(t), true
	case string:
		return NewString(t), true
	case interface{ Int64() (int64, error) }:
		s := x.(interface{ String() string }).String()
		if !strings.ContainsAny(s, ".eE") {
			if i, err := t.Int64(); err == nil {
				return NewInt(i), true
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return NullValue, false
		}
		return NewFloat(f), true
	case []string:
		return NewStrings(t), true
	case []any:
		elems := make([]Value, len(t))
		for i, e := range t {
			ev, ok := FromNative(e)
			if !ok {
				return NullValue, false
			}
			elems[i] = ev
		}
		return NewArray(elems), true
	}
	return NullValue, false
}
