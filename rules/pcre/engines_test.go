package pcre

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// genPattern builds a random pattern from pieces that every engine
// supports, so that engines can be compared with each other.
func genPattern(r *rand.Rand, depth int) string {
	atoms := []string{"a", "b", "é", "x", ".", `\w`, `\W`, `\d`, `\s`, "[ab]", "[^a]", "[a-cé]", `\b`, `\B`, "^", "$", "(?i:A)", "K", "\\n",
		`\1`, "(?=a)", "(?!b)", "(?<=x)", "(?<!a)", "(?>a+)", "a++", `\Z`, "(?m:^)", "(?m:$)"}
	if depth > 2 {
		return atoms[r.IntN(len(atoms))]
	}
	switch r.IntN(7) {
	case 0:
		return genPattern(r, depth+1) + genPattern(r, depth+1)
	case 1:
		return "(?:" + genPattern(r, depth+1) + "|" + genPattern(r, depth+1) + ")"
	case 2:
		return "(?:" + genPattern(r, depth+1) + ")" + []string{"*", "+", "?", "{2}", "{1,3}", "*?", "+?"}[r.IntN(7)]
	case 3:
		return "(" + genPattern(r, depth+1) + ")"
	default:
		return atoms[r.IntN(len(atoms))] + genPattern(r, depth+1)
	}
}

func genSubject(r *rand.Rand) string {
	chars := []string{"a", "b", "A", "é", "É", "x", " ", "\n", "1", "_", "k", "K", "-", "ß"}
	var b strings.Builder
	for n := r.IntN(12); n > 0; n-- {
		b.WriteString(chars[r.IntN(len(chars))])
	}
	return b.String()
}

// TestEnginesAgree checks that the DFA, the RE2 translation (where it
// applies) and the backtracking engine give the same answers. The
// backtracker follows PCRE2 step by step; TestMatchesPHP compares it with
// PHP itself.
func TestEnginesAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	n := 2000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		pat := genPattern(r, 0)
		ci := r.IntN(4) == 0
		re, err := Compile(pat, ci)
		if err != nil {
			continue // e.g. \1 without a group; TestMatchesPHP checks errors
		}
		for k := 0; k < 5; k++ {
			s := genSubject(r)
			caps, err := re.exec(s, 0, 0, false, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := caps != nil
			if d := re.lazyDFA(); d != nil {
				if got := d.match(s); got != want {
					t.Fatalf("DFA %q (ci=%v) on %q = %v, backtracker %v", pat, ci, s, got, want)
				}
			}
			if f := re.fast(s); f != nil {
				if got := f.MatchString(s); got != want {
					t.Fatalf("RE2 %q (ci=%v) on %q = %v, backtracker %v", pat, ci, s, got, want)
				}
			}
			if rx := re.relaxedRE2(); rx != nil && want && !rx.MatchString(s) {
				t.Fatalf("relaxed RE2 %q (ci=%v) misses %q", pat, ci, s)
			}
			if rd := re.relaxedDFA(); rd != nil && want && !rd.match(s) {
				t.Fatalf("relaxed DFA %q (ci=%v) misses %q", pat, ci, s)
			}
			if got, err := re.Match(s, Limits{}); err != nil || got != want {
				t.Fatalf("Match %q on %q = %v, %v; want %v", pat, s, got, err, want)
			}
		}
	}
}

// TestUnitSearch compares the repeat-unit search with the backtracker on
// random subjects over a small alphabet, where repeats are frequent.
func TestUnitSearch(t *testing.T) {
	pats := []string{`([^_:.*'|=}{0 -]{1,9})\1{7}`, `([\w\s!]{3,25})\1\1\1`, `(\w{2,})\1`, `(.{1,3})\1{2}`, `([aé]+)\1`, `(\d{1,2})\1\1`}
	r := rand.New(rand.NewPCG(9, 10))
	chars := []string{"a", "b", "é", " ", "1", "_", "!"}
	for _, pat := range pats {
		re, err := Compile(pat, false)
		if err != nil {
			t.Fatal(err)
		}
		if re.unit == nil {
			t.Fatalf("%s: not recognised as a repeat unit", pat)
		}
		agree := func(s string) {
			caps, err := re.exec(s, 0, 0, false, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if got := matchUnit(re.unit, s); got != (caps != nil) {
				t.Fatalf("%s on %q: unit search %v, backtracker %v", pat, s, got, caps != nil)
			}
		}
		for range 3000 {
			var b strings.Builder
			n := r.IntN(40)
			alpha := 1 + r.IntN(len(chars))
			for range n {
				b.WriteString(chars[r.IntN(alpha)])
			}
			agree(b.String())
		}
		// Long subjects with a repeat (or a near repeat) at any offset,
		// for the aligned groups that the search skips by.
		for range 1000 {
			var b strings.Builder
			for range r.IntN(60) {
				b.WriteString(chars[r.IntN(len(chars))])
			}
			var unit strings.Builder
			for range 1 + r.IntN(9) {
				unit.WriteString(chars[r.IntN(len(chars))])
			}
			b.WriteString(strings.Repeat(unit.String(), 2+r.IntN(8)))
			if r.IntN(2) == 0 {
				b.WriteString(chars[r.IntN(len(chars))])
				b.WriteString(strings.Repeat(unit.String(), r.IntN(4)))
			}
			for range r.IntN(60) {
				b.WriteString(chars[r.IntN(len(chars))])
			}
			agree(b.String())
		}
	}
}

// TestProgBound checks that progBound bounds the program size, which
// decides whether a too-large pattern is reported at compile time.
func TestProgBound(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	pats := []string{`(a{3,5}){10}`, `(?:(?<=ab|c)x){2,}`, `((a|b)*c){0,7}`, `a{1000}`, `(?=(a))\1+`, `(?(?=a)b|c)`}
	for range 3000 {
		pats = append(pats, genPattern(r, 0))
	}
	for _, pat := range pats {
		re, err := Compile(pat, false)
		if err != nil {
			continue
		}
		p, err := re.program()
		if err != nil {
			t.Fatalf("%s: %v", pat, err)
		}
		if b := progBound(re.root); len(p.insts) > b {
			t.Fatalf("%s: %d instructions, bound %d", pat, len(p.insts), b)
		}
	}
}

// TestFindSubmatchIndexBetween: the leftmost match from a position is
// found when it starts by the bound, and nothing otherwise; assertions
// still see the characters before the first position tried.
func TestFindSubmatchIndexBetween(t *testing.T) {
	patterns := []string{`/a+b/`, `/\bcat/u`, `/(?<=x)y/`, `/\Gz/`, `/^a/m`, `/(?i)ſ\w/u`, `/é./u`, `/q|r+/`}
	subjects := []string{"xaab cat concat aab", "xyxyy", "zzaz", "a\na\nba", "éaé ſT sx", "qrrq"}
	for _, p := range patterns {
		re, err := CompilePHP(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range subjects {
			for from := 0; from <= len(s); from++ {
				want, err := re.FindSubmatchIndexFrom(s, from, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				for to := from; to <= len(s)+1; to++ {
					got, err := re.FindSubmatchIndexBetween(s, from, to, Limits{})
					if err != nil {
						t.Fatal(err)
					}
					exp := want
					if want != nil && want[0] > to {
						exp = nil
					}
					if !slices.Equal(got, exp) {
						t.Fatalf("%s in %q between %d and %d: %v, want %v", p, s, from, to, got, exp)
					}
				}
			}
		}
	}
}
