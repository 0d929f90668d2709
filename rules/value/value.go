// Package value implements the values of AbuseFilter's rule language with
// PHP's exact semantics: the seven types (undefined, null, bool, int, float,
// string, array), PHP 8's conversions between them, loose and strict
// equality through string forms, ordering through PHP's string comparison,
// and arithmetic with PHP's int-to-float overflow rules.
//
// Values are immutable. Arrays have value semantics: operations that change
// an array return a new one.
package value

import (
	"math"
	"unsafe"
)

// Kind is the type tag of a Value, as AbuseFilter's AFPData names them.
type Kind uint8

const (
	Undefined Kind = iota // AFPData::DUNDEFINED: the result of reading a skipped variable
	Null
	Bool
	Int
	Float
	String
	Array
)

var kindNames = [...]string{"undefined", "null", "bool", "int", "float", "string", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "invalid"
}

// Value is one rule-language value. It is three words so that it passes
// in registers through the evaluator's hot path: ptr holds a string's
// bytes or an array's slice, bits holds an int, a float's bits, a bool or a
// string's length, and tag holds the Kind and two flags.
type Value struct {
	ptr  unsafe.Pointer
	bits uint64
	tag  uint8
}

const (
	kindMask = 0x07
	// flagFloat marks a value whose PHP payload is a float although its
	// kind is null, bool, int or string. AbuseFilter's unary minus produces
	// these (AFPData::unaryMinus keeps the type tag: -"5" is a string
	// holding float -5.0), and PHP then treats the payload as the float it
	// is.
	flagFloat = 0x08
	// flagUndef marks an array that holds undefined at some depth, so that
	// HasUndefined needs no walk.
	flagUndef = 0x10
)

func (v Value) k() Kind        { return Kind(v.tag & kindMask) }
func (v Value) isTagged() bool { return v.tag&flagFloat != 0 }

// Constructors.

var (
	UndefinedValue = Value{tag: uint8(Undefined)}
	NullValue      = Value{tag: uint8(Null)}
	True           = Value{tag: uint8(Bool), bits: 1}
	False          = Value{tag: uint8(Bool)}
)

func NewBool(b bool) Value {
	if b {
		return True
	}
	return False
}

func NewInt(i int64) Value     { return Value{tag: uint8(Int), bits: uint64(i)} }
func NewFloat(f float64) Value { return Value{tag: uint8(Float), bits: math.Float64bits(f)} }

func NewString(s string) Value {
	return Value{tag: uint8(String), ptr: unsafe.Pointer(unsafe.StringData(s)), bits: uint64(len(s))}
}

// NewArray returns an array value holding elems. The caller must not modify
// elems afterwards.
func NewArray(elems []Value) Value {
	v := Value{tag: uint8(Array), ptr: unsafe.Pointer(&elems)}
	for _, e := range elems {
		if e.k() == Undefined || (e.tag&flagUndef != 0) {
			v.tag |= flagUndef
			break
		}
	}
	return v
}

// NewStrings returns an array of strings.
func NewStrings(ss []string) Value {
	elems := make([]Value, len(ss))
	for i, s := range ss {
		elems[i] = NewString(s)
	}
	return NewArray(elems)
}

// taggedFloat returns a value with tag k whose PHP payload is the float f.
func taggedFloat(k Kind, f float64) Value {
	if k == Float {
		return NewFloat(f)
	}
	return Value{tag: uint8(k) | flagFloat, bits: math.Float64bits(f)}
}

// Accessors. They return the payload without conversion; use the To*
// methods for PHP conversions.

func (v Value) Kind() Kind { return v.k() }

// IsPHPFloat reports whether the value's payload is a float although its tag
// says otherwise (see Value).
func (v Value) IsPHPFloat() bool { return v.isTagged() }

func (v Value) IsUndefined() bool { return v.k() == Undefined }

// IsString reports a string value with a string payload (not a tagged
// float).
func (v Value) IsString() bool { return v.k() == String && !v.isTagged() }

// Str returns the bytes of a string value (no conversion).
func (v Value) Str() string {
	if v.k() != String || v.isTagged() {
		return ""
	}
	return unsafe.String((*byte)(v.ptr), int(v.bits))
}

// Int returns the payload of an int value.
func (v Value) Int() int64 { return int64(v.bits) }

// Float returns the payload of a float value (or of a tagged float).
func (v Value) Float() float64 { return math.Float64frombits(v.bits) }

// BoolPayload returns the payload of a bool value.
func (v Value) BoolPayload() bool { return v.bits != 0 }

// Elems returns the elements of an array value. Callers must not modify them.
func (v Value) Elems() []Value {
	if v.k() != Array || v.ptr == nil || v.isTagged() {
		return nil
	}
	return *(*[]Value)(v.ptr)
}

// Len returns the element count of an array value.
func (v Value) Len() int { return len(v.Elems()) }

// HasUndefined reports whether v is undefined or an array containing an
// undefined value at any depth (AFPData::hasUndefined).
func (v Value) HasUndefined() bool {
	return v.k() == Undefined || (v.tag&flagUndef != 0)
}

// UndefinedToNull returns a copy of v with every undefined replaced by null
// (AFPData::cloneAsUndefinedReplacedWithNull).
func (v Value) UndefinedToNull() Value {
	switch v.k() {
	case Undefined:
		return NullValue
	case Array:
		if !(v.tag&flagUndef != 0) {
			return v
		}
		elems := v.Elems()
		out := make([]Value, len(elems))
		for i, e := range elems {
			out[i] = e.UndefinedToNull()
		}
		return NewArray(out)
	}
	return v
}

// Identical reports whether a and b have the same tag and the same payload,
// the way PHP's serialize() would tell them apart. AbuseFilter keys its
// function-result cache on serialize(args), so this is the cache's equality.
func Identical(a, b Value) bool {
	if a.k() != b.k() || a.isTagged() != b.isTagged() {
		return false
	}
	switch {
	case a.isTagged() || a.k() == Float:
		fa, fb := a.Float(), b.Float()
		return fa == fb && math.Signbit(fa) == math.Signbit(fb) || fa != fa && fb != fb
	case a.k() == String:
		return a.bits == b.bits && (a.ptr == b.ptr || a.Str() == b.Str())
	case a.k() == Array:
		ea, eb := a.Elems(), b.Elems()
		if len(ea) != len(eb) {
			return false
		}
		for i := range ea {
			if !Identical(ea[i], eb[i]) {
				return false
			}
		}
		return true
	default:
		return a.bits == b.bits
	}
}

// Identity returns a number that identifies the payload of a string or
// array value while the value is alive, for memoising work per value. Two
// values with the same identity and the same length hold the same payload.
func (v Value) Identity() uintptr { return uintptr(v.ptr) }

// PlainInt returns the payload of an int value that is not a tagged float.
func (v Value) PlainInt() (int64, bool) {
	return int64(v.bits), v.tag == uint8(Int)
}

// Truthy is how AbuseFilter's &, |, if and ?: read a value: undefined is
// false, anything else converts as PHP's (bool).
func (v Value) Truthy() bool {
	if v.tag == uint8(Bool) {
		return v.bits != 0
	}
	return v.k() != Undefined && v.ToBool()
}
