package textfunc

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestCommonAffixes: the block-wise comparison finds what comparing byte
// by byte finds, for differences at any place around the blocks' edges.
func TestCommonAffixes(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for i := range 5000 {
		base := strings.Repeat("abcdefgh", r.IntN(400))
		a, b := []byte(base), []byte(base)
		if len(a) > 0 && r.IntN(4) > 0 {
			a[r.IntN(len(a))] = 'X'
		}
		if r.IntN(3) == 0 {
			b = append(b, "yz"[:r.IntN(3)]...)
		}
		if r.IntN(3) == 0 && len(b) > 0 {
			b = b[r.IntN(len(b)):]
		}
		prefix, suffix := CommonAffixes(string(a), string(b))
		n := min(len(a), len(b))
		wantP := 0
		for wantP < n && a[wantP] == b[wantP] {
			wantP++
		}
		wantS := 0
		for wantS < n-wantP && a[len(a)-1-wantS] == b[len(b)-1-wantS] {
			wantS++
		}
		if prefix != wantP || suffix != wantS {
			t.Fatalf("case %d (%d and %d bytes): %d, %d; want %d, %d", i, len(a), len(b), prefix, suffix, wantP, wantS)
		}
	}
}
