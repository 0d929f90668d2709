package value

import (
	"math"
	"testing"
)

func TestCPow(t *testing.T) {
	tests := []struct {
		x, y, want float64
	}{
		// Values printed by PHP 8.2 (glibc pow) where math.Pow is off.
		{1e14, 3, 1e42},
		{5000, 26, 1.4901161193847656e+96},
		{1e14, -2.5, 1e-35},
		{9223372036854775807, 1.2, 5.726215288975159e+22},
		{2, -1074, 5e-324},
		{2, -1075, 0},
		{10, 309, math.Inf(1)},
		{-10, 309, math.Inf(-1)},
		{-2, 3, -8},
		{0.5, 2, 0.25},
		{3, 0, 1},
		{4, 0.5, 2},
		{2, 0.5, math.Sqrt2},
		{math.E, 1, math.E},
		{-8, 1.0 / 3, math.NaN()},
		{0, -1, math.Inf(1)},
	}
	for _, tt := range tests {
		got := cpow(tt.x, tt.y)
		if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("cpow(%v, %v) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

// TestCPowAgainstSqrt checks fractional exponents against the correctly
// rounded math.Sqrt on many bases.
func TestCPowAgainstSqrt(t *testing.T) {
	for i := range 2000 {
		x := math.Float64frombits(0x3000000000000000 + uint64(i)*0x0005a5a5a5a5a5a5)
		if got, want := cpow(x, 0.5), math.Sqrt(x); got != want {
			t.Fatalf("cpow(%v, 0.5) = %v, want %v", x, got, want)
		}
	}
}
