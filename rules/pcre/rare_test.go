package pcre

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestContainsRare: Contains agrees with strings.Contains on long subjects: needles
// at the start, the end, across the fallback to strings.Index, absent,
// and with their rare byte common in the subject.
func TestContainsRare(t *testing.T) {
	forEachPath(t, testContainsRare)
}

// forEachPath runs test with Contains as this machine runs it and, where
// that is the search for two bytes with AVX2, again without it.
func forEachPath(t *testing.T, test func(t *testing.T)) {
	t.Run("native", test)
	if pairAVX2 {
		t.Run("one-byte", func(t *testing.T) {
			pairAVX2 = false
			defer func() { pairAVX2 = true }()
			test(t)
		})
	}
}

func testContainsRare(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	alphabets := []string{"ab", "abc ", "aaaaaaaaab", "etaoin :vqz", "xyz"}
	for range 3000 {
		alpha := alphabets[r.IntN(len(alphabets))]
		subject := make([]byte, 1024+r.IntN(3000))
		for i := range subject {
			subject[i] = alpha[r.IntN(len(alpha))]
		}
		s := string(subject)
		var sub string
		switch r.IntN(4) {
		case 0: // taken from the subject, anywhere
			at := r.IntN(len(s) - 16)
			sub = s[at : at+1+r.IntN(16)]
		case 1: // its very end
			sub = s[len(s)-1-r.IntN(12):]
		case 2: // its very start
			sub = s[:1+r.IntN(12)]
		default: // random, usually absent
			b := make([]byte, 1+r.IntN(8))
			for i := range b {
				b[i] = alpha[r.IntN(len(alpha))]
			}
			sub = string(b)
		}
		if got, want := Contains(s, sub), strings.Contains(s, sub); got != want {
			t.Fatalf("Contains(%d bytes, %q) = %v, want %v", len(s), sub, got, want)
		}
	}
}

// TestContainsPlaces: a needle is found at every place of a subject that
// block boundaries and the subject's end make special (the last whole
// block, the places after it, the very end), its two rare bytes being
// common around it, and not found when one byte of it differs.
func TestContainsPlaces(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		for _, sub := range []string{"Yx", "CATEGORY:LIVING PEOPLE", "{{DB|", "zq", "====", "ab:cd:ef:gh:ij:kl:mn:op:qr:st:uv:wx:yz:01:23:45:67:89"} {
			for _, n := range []int{1024, 1025, 1055, 1056, 1057, 1100} {
				// Filler full of the needle's bytes, the needle itself not.
				fill := []byte(strings.Repeat(sub[:len(sub)-1]+"\n", n/len(sub)+2)[:n])
				for at := 0; at+len(sub) <= n; at++ {
					if at > 70 && at < n-100 && at%29 != 0 {
						continue // the middle at a stride: its blocks are alike
					}
					b := append([]byte(nil), fill...)
					copy(b[at:], sub)
					s := string(b)
					if !Contains(s, sub) {
						t.Fatalf("%q at %d of %d bytes not found", sub, at, n)
					}
					b[at+len(sub)-1] ^= 0x40 // the needle's last byte, off
					if got, want := Contains(string(b), sub), strings.Contains(string(b), sub); got != want {
						t.Fatalf("%q at %d of %d bytes, last byte changed: %v, want %v", sub, at, n, got, want)
					}
				}
			}
		}
	})
}

// FuzzContains: Contains agrees with strings.Contains on both paths, for a
// subject repeated to a page's length.
func FuzzContains(f *testing.F) {
	f.Add("The [[city]] council.\n", "CATEGORY:LIVING PEOPLE", 60, 5)
	f.Add("CATEGORY:LIVING PEOPLX ", "CATEGORY:LIVING PEOPLE", 50, 1000)
	f.Add("aaaab", "aab", 300, 7)
	f.Fuzz(func(t *testing.T, unit, sub string, repeat, at int) {
		if len(unit) == 0 || len(unit)*repeat > 1<<16 || repeat < 0 {
			return
		}
		s := strings.Repeat(unit, repeat)
		if at >= 0 && at <= len(s) { // the needle put in at a place of the fuzzer's choice
			s = s[:at] + sub + s[at:]
		}
		want := strings.Contains(s, sub)
		if got := Contains(s, sub); got != want {
			t.Fatalf("Contains(%d bytes, %q) = %v, want %v", len(s), sub, got, want)
		}
		if pairAVX2 {
			pairAVX2 = false
			defer func() { pairAVX2 = true }()
			if got := Contains(s, sub); got != want {
				t.Fatalf("one-byte Contains(%d bytes, %q) = %v, want %v", len(s), sub, got, want)
			}
		}
	})
}

// TestContainsRareFallback: a needle after many false candidates is found
// wherever the search hands over to strings.Index.
func TestContainsRareFallback(t *testing.T) {
	for n := range 200 {
		s := strings.Repeat("b", n) + "ab" + strings.Repeat("c", 1100)
		if !Contains(s, "ab") {
			t.Fatalf("%q not found after %d b's", "ab", n)
		}
	}
}

// TestNeedlesFallback: a string of a group is found wherever the search
// for the group's byte hands over to looking for each string.
func TestNeedlesFallback(t *testing.T) {
	forEachPath(t, func(t *testing.T) {
		subs := []string{"e:t", "a:n"} // one group: the colon is their rarest byte
		n := NewNeedles(subs)
		if len(n.groups) != 1 {
			t.Fatalf("%d groups, want 1", len(n.groups))
		}
		for k := range 300 {
			for _, sub := range subs {
				s := strings.Repeat("o:", k) + sub + strings.Repeat("b", 1100)
				if !n.In(s) {
					t.Fatalf("%q not found after %d o:'s", sub, k)
				}
			}
		}
	})
}

func TestRareOffset(t *testing.T) {
	for _, tt := range []struct {
		s    string
		want int
	}{
		{"category:living people", 8}, // the colon
		{"{{disambig|", 0},            // a brace
		{"e", 0},
		{"Müller", 1}, // non-ASCII ranks rarest
	} {
		if got := rareOffset(tt.s); got != tt.want {
			t.Errorf("rareOffset(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func BenchmarkContainsRare(b *testing.B) {
	// A 30 KB page of wikitext-like prose without the needles, and the
	// five spellings of "Category:Living people" real filters look for.
	page := strings.Repeat("The [[city]] council, founded in 1820, was led by [[Carl Müller|Müller]] for a decade.<ref>{{cite book|title=Chronicle}}</ref>\n", 240)
	set := []string{"CATEGORY:LIVING PEOPLE", "category:living people", "category:Living people", "Category:Living people", "Category:living people"}
	b.Run("strings.Contains", func(b *testing.B) {
		for b.Loop() {
			for _, s := range set {
				strings.Contains(page, s)
			}
		}
	})
	b.Run("Contains", func(b *testing.B) {
		for b.Loop() {
			for _, s := range set {
				Contains(page, s)
			}
		}
	})
	// The four spellings of `(c|C)ategory\:(l|L)iving people`: one pass.
	n := NewNeedles(set[1:])
	b.Run("Needles", func(b *testing.B) {
		for b.Loop() {
			n.In(page)
		}
	})
	b.Run("Contains4", func(b *testing.B) {
		for b.Loop() {
			for _, s := range set[1:] {
				Contains(page, s)
			}
		}
	})
	// A real filter's ucase(new_wikitext) contains "CATEGORY:LIVING
	// PEOPLE": wikitext's frequencies say Y is rare, the upper-cased page
	// has one every 70 bytes or so.
	upper := strings.ToUpper(page)
	for _, path := range []string{"native", "one-byte"} {
		if path == "one-byte" && pairAVX2 {
			pairAVX2 = false
			defer func() { pairAVX2 = true }()
		}
		b.Run("upper/"+path, func(b *testing.B) {
			for b.Loop() {
				Contains(upper, set[0])
			}
		})
		b.Run("page/"+path, func(b *testing.B) {
			for b.Loop() {
				for _, s := range set {
					Contains(page, s)
				}
			}
		})
	}
}

// TestNeedles: Needles.In agrees with looking for each string in turn, on
// long and short subjects, with strings that share their rare byte (found
// in one pass), that do not, that are empty, and past the fallback when the
// shared byte is common.
func TestNeedles(t *testing.T) {
	forEachPath(t, testNeedles)
}

func testNeedles(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	alphabets := []string{"ab", "abc ", "aaaaaaaaab", "etaoin :vqz", "xyz:"}
	for range 4000 {
		alpha := alphabets[r.IntN(len(alphabets))]
		subject := make([]byte, r.IntN(4000))
		for i := range subject {
			subject[i] = alpha[r.IntN(len(alpha))]
		}
		s := string(subject)
		var subs []string
		for range 1 + r.IntN(6) {
			var sub string
			switch {
			case r.IntN(3) == 0 && len(s) > 20: // from the subject
				at := r.IntN(len(s) - 16)
				sub = s[at : at+1+r.IntN(16)]
			case r.IntN(8) == 0:
				sub = ""
			case r.IntN(2) == 0 && len(subs) > 0: // a variant of another: same rare byte, elsewhere
				b := []byte(subs[r.IntN(len(subs))])
				if len(b) > 0 {
					b[r.IntN(len(b))] = alpha[r.IntN(len(alpha))]
				}
				sub = string(b)
			default:
				b := make([]byte, 1+r.IntN(8))
				for i := range b {
					b[i] = alpha[r.IntN(len(alpha))]
				}
				sub = string(b)
			}
			subs = append(subs, sub)
		}
		want := false
		for _, sub := range subs {
			want = want || strings.Contains(s, sub)
		}
		if got := NewNeedles(subs).In(s); got != want {
			t.Fatalf("Needles(%q).In(%d bytes) = %v, want %v", subs, len(s), got, want)
		}
	}
}

// TestNeedlesOnePass: the four spellings of a category, each with its
// colon ninth, are one group, found at the start, the end, after the
// fallback, or not at all.
func TestNeedlesOnePass(t *testing.T) {
	subs := []string{"category:living people", "Category:living people", "category:Living people", "Category:Living people"}
	n := NewNeedles(subs)
	if len(n.groups) != 1 || n.groups[0].c != ':' {
		t.Fatalf("groups %+v, want one on ':'", n.groups)
	}
	page := strings.Repeat("[[File:x.jpg]] text and more text. ", 100)
	for _, tt := range []struct {
		s    string
		want bool
	}{
		{page, false},
		{"Category:Living people" + page, true},
		{page + "category:Living people", true},
		{strings.Repeat("a:", 3000) + "Category:living people", true}, // after the fallback
		{strings.Repeat("a:", 3000) + "Category:living peopl", false},
		{page + "CATEGORY:LIVING PEOPLE", false},
	} {
		if got := n.In(tt.s); got != tt.want {
			t.Errorf("In(...%q) = %v, want %v", tt.s[max(0, len(tt.s)-30):], got, tt.want)
		}
	}
}
