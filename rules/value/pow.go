package value

import (
	"math"
	"math/big"
	"sync"
)

// cpow is C's pow() as PHP calls it. glibc's pow is correctly rounded (the
// nearest double to the true power); Go's math.Pow can be several ulps
// off: 1e14 ** 3 is 1e42 in PHP but 9.999999999999999e+41 from math.Pow.
// cpow computes the power with powPrec bits and rounds once. Rules rarely
// raise to powers, so exactness wins over speed here.
func cpow(x, y float64) float64 {
	if math.IsNaN(x) || math.IsNaN(y) || math.IsInf(x, 0) || math.IsInf(y, 0) ||
		x == 0 || y == 0 || x == 1 || x == -1 {
		return math.Pow(x, y)
	}
	// Results far outside the double range are 0 or ±Inf either way; the
	// bound keeps big.Float's exponent in range.
	if math.Abs(math.Log2(math.Abs(x))*y) > 2200 {
		return math.Pow(x, y)
	}
	var r *big.Float
	switch {
	case y == math.Trunc(y) && math.Abs(y) <= 1<<31:
		r = bigPowInt(x, uint64(math.Abs(y)))
	case x > 0:
		t := bigLog(x)
		t.Mul(t, newBig().SetFloat64(math.Abs(y)))
		r = bigExp(t)
	default:
		return math.NaN() // a negative base and a fractional exponent
	}
	if y < 0 {
		r.Quo(newBig().SetInt64(1), r)
	}
	f, _ := r.Float64()
	return f
}

const powPrec = 192

func newBig() *big.Float { return new(big.Float).SetPrec(powPrec) }

func bigPowInt(x float64, n uint64) *big.Float {
	acc := newBig().SetInt64(1)
	sq := newBig().SetFloat64(x)
	for n > 0 {
		if n&1 == 1 {
			acc.Mul(acc, sq)
		}
		n >>= 1
		if n > 0 {
			sq.Mul(sq, sq)
		}
	}
	return acc
}

// bigLog is ln(x) for x > 0: x = m·2^e with m in [0.5, 1), and
// ln(m) = 2·atanh((m-1)/(m+1)), whose series gains 3 bits a term.
func bigLog(x float64) *big.Float {
	m, e := math.Frexp(x)
	r := atanhSeries(newBig().SetFloat64(m))
	return r.Add(r, newBig().Mul(ln2(), newBig().SetInt64(int64(e))))
}

// atanhSeries is ln(m) = 2·Σ z^(2k+1)/(2k+1) with z = (m-1)/(m+1).
func atanhSeries(m *big.Float) *big.Float {
	one := newBig().SetInt64(1)
	z := newBig().Quo(newBig().Sub(m, one), newBig().Add(m, one))
	z2 := newBig().Mul(z, z)
	sum, term := newBig().Set(z), newBig().Set(z)
	eps := newBig().SetMantExp(one, -powPrec)
	for k := int64(3); ; k += 2 {
		term.Mul(term, z2)
		q := newBig().Quo(term, newBig().SetInt64(k))
		if q.Sign() == 0 || newBig().Abs(q).Cmp(eps) < 0 {
			break
		}
		sum.Add(sum, q)
	}
	return sum.Mul(sum, newBig().SetInt64(2))
}

var ln2 = sync.OnceValue(func() *big.Float {
	return atanhSeries(newBig().SetInt64(2))
})

// bigExp is e^t for the moderate t that cpow's range check allows:
// t = k·ln2 + r, and e^r from its Taylor series on r/2^8, squared 8 times.
func bigExp(t *big.Float) *big.Float {
	kf, _ := newBig().Quo(t, ln2()).Float64()
	k := int64(math.Round(kf))
	r := newBig().Sub(t, newBig().Mul(ln2(), newBig().SetInt64(k)))
	const halvings = 8
	r.SetMantExp(r, -halvings)
	one := newBig().SetInt64(1)
	eps := newBig().SetMantExp(one, -powPrec)
	sum, term := newBig().SetInt64(1), newBig().SetInt64(1)
	for n := int64(1); ; n++ {
		term.Mul(term, r)
		term.Quo(term, newBig().SetInt64(n))
		if term.Sign() == 0 || newBig().Abs(term).Cmp(eps) < 0 {
			break
		}
		sum.Add(sum, term)
	}
	for range halvings {
		sum.Mul(sum, sum)
	}
	return sum.SetMantExp(sum, int(k))
}
