package pcre

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// TestExactStrings checks which patterns are answered by a substring
// search, and that the search gives the backtracker's answer.
func TestExactStrings(t *testing.T) {
	tests := []struct {
		pat      string
		caseless bool
		want     []string // nil: not a fixed-strings pattern
		fold     bool
	}{
		{"Category:Living people", false, []string{"Category:Living people"}, false},
		{`(c|C)ategory\:(l|L)iving people`, false, []string{"category:living people", "category:Living people", "Category:living people", "Category:Living people"}, false},
		{`Category\:Living people`, true, []string{"CATEGORY:LIVING PEOPLE"}, true},
		{"ab?c", false, []string{"ac", "abc"}, false},
		{"a{2,3}", false, []string{"aa", "aaa"}, false},
		{"[xy]z", true, []string{"XZ", "YZ"}, true},
		{"(?i:k)m", false, nil, false},           // caseless k, case-sensitive m
		{"(?i:k)-", false, []string{"K-"}, true}, // '-' has no case
		{"[a-c]", true, nil, false},              // six members unfolded: a class alone does not make a pattern caseless
		{`\bfoo`, false, nil, false},
		{"^foo", false, nil, false},
		{"fo+", false, nil, false},
		{"f.o", false, nil, false},
		{"(?>a|ab)c", false, nil, false},
		{"a?+b", false, nil, false},
		{"(a)\\1", false, nil, false},
		{"a|b|c|d|e|f|g|h|i", false, nil, false}, // more than maxExactStrings
	}
	for _, tt := range tests {
		re, err := Compile(tt.pat, tt.caseless)
		if err != nil {
			t.Fatalf("%q: %v", tt.pat, err)
		}
		got, fold := re.ExactStrings()
		slices.Sort(got)
		want := slices.Clone(tt.want)
		slices.Sort(want)
		if !slices.Equal(got, want) || fold != tt.fold {
			t.Errorf("%q (caseless %v): ExactStrings = %q, %v; want %q, %v", tt.pat, tt.caseless, got, fold, want, tt.fold)
		}
	}
}

// TestExactStringsAgree compares the substring search with the
// backtracker on random patterns made of literals, classes, alternations
// and counted repeats, and on subjects with case variants (including the
// Kelvin sign and the long s, whose case orbits have three members).
func TestExactStringsAgree(t *testing.T) {
	atoms := []string{"a", "k", "s", "É", "é", "-", "[ab]", "[kK]", "(?i:s)", "(?-i:a)", "[éÉ]"}
	chars := []string{"a", "A", "b", "k", "K", "\u212a", "s", "S", "\u017f", "é", "É", "-", " "}
	r := rand.New(rand.NewPCG(7, 8))
	exact := 0
	for i := 0; i < 3000; i++ {
		var p strings.Builder
		for n := 1 + r.IntN(4); n > 0; n-- {
			a := atoms[r.IntN(len(atoms))]
			switch r.IntN(5) {
			case 0:
				a = "(?:" + a + "|" + atoms[r.IntN(len(atoms))] + ")"
			case 1:
				a = "(?:" + a + ")?"
			case 2:
				a = "(" + a + "){1,2}"
			}
			p.WriteString(a)
		}
		re, err := Compile(p.String(), r.IntN(2) == 0)
		if err != nil {
			t.Fatal(err)
		}
		if set, _ := re.ExactStrings(); set != nil {
			exact++
		}
		for k := 0; k < 8; k++ {
			var s strings.Builder
			for n := r.IntN(10); n > 0; n-- {
				s.WriteString(chars[r.IntN(len(chars))])
			}
			caps, err := re.exec(s.String(), 0, 0, false, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := re.Match(s.String(), Limits{})
			if err != nil || got != (caps != nil) {
				t.Fatalf("%s on %q: Match = %v, %v; backtracker %v", re.String(), s.String(), got, err, caps != nil)
			}
			if _, fold := re.ExactStrings(); fold {
				if got := re.MatchFolded(FoldString(s.String())); got != (caps != nil) {
					t.Fatalf("%s on %q: MatchFolded = %v; backtracker %v", re.String(), s.String(), got, caps != nil)
				}
			}
		}
	}
	if exact < 1000 {
		t.Errorf("only %d of 3000 patterns took the substring search", exact)
	}
}

// BenchmarkFoldString folds realistic 5 to 50 KB wikitext (the workload
// pages, which mix ASCII with accented letters and dashes).
func BenchmarkFoldString(b *testing.B) {
	benchFold(b, "'''Émile Zola''' (2 April 1840 – 29 September 1902) was a French novelist, journalist and playwright. [[Category:Living people]] {{Infobox writer | name = Zola }} ")
}

// BenchmarkFoldStringJapanese folds a page where most characters are three
// bytes and have no case.
func BenchmarkFoldStringJapanese(b *testing.B) {
	benchFold(b, "'''夏目漱石'''（なつめ そうせき、1867年2月9日 - 1916年12月9日）は、日本の小説家、評論家、英文学者。[[Category:日本の小説家]] {{Infobox 作家 | 名前 = 夏目漱石 }} ")
}

// TestFoldsThreeByte: the table of three-byte characters that folding
// changes holds every one, and no other.
func TestFoldsThreeByte(t *testing.T) {
	for r := rune(0x800); r <= 0xffff; r++ {
		if got, want := foldsThreeByte[r/64]>>(r%64)&1 != 0, foldOrbit(r) != r; got != want {
			t.Fatalf("U+%04X: marked %v, folds to U+%04X", r, got, foldOrbit(r))
		}
	}
}

// BenchmarkFoldStringCyrillic folds a page in a script other than Latin,
// where nearly every character is two bytes.
func BenchmarkFoldStringCyrillic(b *testing.B) {
	benchFold(b, "'''Эмиль Золя''' (2 апреля 1840 — 29 сентября 1902) — французский писатель, журналист и драматург. [[Категория:Писатели Франции]] {{Писатель | имя = Золя }} ")
}

// benchFold folds a 30 KB page of paragraph repeated.
func benchFold(b *testing.B, paragraph string) {
	s := strings.Repeat(paragraph, 30000/len(paragraph)+1)
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		FoldString(s)
	}
}

// TestFoldString compares FoldString with folding rune by rune through
// unicode.SimpleFold, on strings whose ASCII runs are long enough for the
// eight-byte path and hold the bytes around the letter ranges, mixed with
// two- and three-byte letters, the Kelvin sign and invalid bytes.
func TestFoldString(t *testing.T) {
	ref := func(s string) string {
		var b strings.Builder
		for _, r := range s {
			low := r
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				low = min(low, f)
			}
			b.WriteRune(low)
		}
		return b.String()
	}
	pool := []string{"a", "z", "A", "Z", "`", "{", "@", "[", "m", "0", "\x00", "\x7f", "abcdefghij", "é", "Ω", "ſ", "\u212a", "–", "ǅ", "\xff", "\xe2\x82",
		"ж", "Ж", "ё", "µ", "ω", "ß", "\u0080", "\u07ff", "\xd0", "\xc1\xbf", "\xc2",
		"漢", "字", "か", "한", "ẞ", "\u2126", "Ａ", "ａ", "Ⅻ", "ⅻ", "\u0800", "\uffff", "\ufffd", "\xe0\x80\x80", "\xed\xa0\x80", "\xe3\x81"}
	r := rand.New(rand.NewPCG(9, 10))
	for i := 0; i < 5000; i++ {
		var s strings.Builder
		for n := r.IntN(40); n > 0; n-- {
			s.WriteString(pool[r.IntN(len(pool))])
		}
		if got, want := FoldString(s.String()), ref(s.String()); got != want {
			t.Fatalf("FoldString(%q) = %q, want %q", s.String(), got, want)
		}
	}
}

// TestCountShortcuts compares Count on one-class and one-string patterns
// (counted without a regex engine) with counting the backtracker's
// successive matches.
func TestCountShortcuts(t *testing.T) {
	pats := []struct {
		pat      string
		caseless bool
	}{
		{`[a-zA-Z0-9\-]`, false}, {`[^a-z]`, false}, {`(\w)`, false}, {`\p{Lu}`, false}, {`[ké]`, true}, {`\s`, false},
		{`\[\[`, false}, {"aa", false}, {"kS", true}, {"é", true}, {"<ref", false},
		// Several strings, none overlapping another: each counted apart.
		{`<\/?ref>`, false}, {`https?:\/\/`, false}, {`(ab|cd)`, false}, {`(aK|s-)`, true},
		// Strings that can overlap: the regex engine counts.
		{`(ab|ba)`, false}, {`(a|ab)`, false}, {`(abc|bcd)`, false}, {`(ab|b)`, false},
	}
	overlapping := map[string]bool{`(ab|ba)`: true, `(a|ab)`: true, `(abc|bcd)`: true, `(ab|b)`: true}
	chars := []string{"a", "A", "k", "K", "\u212a", "s", "S", "\u017f", "é", "É", "-", " ", "\n", "[", "<ref", "1",
		"b", "c", "d", "<ref>", "</ref>", "http://", "https://", "ttps://", "abc", "bcd"}
	r := rand.New(rand.NewPCG(11, 12))
	for _, p := range pats {
		re, err := Compile(p.pat, p.caseless)
		if err != nil {
			t.Fatal(err)
		}
		if re.oneClass == nil && re.exactCount == overlapping[p.pat] {
			t.Fatalf("%s: counted apart %v, want %v", p.pat, re.exactCount, !overlapping[p.pat])
		}
		checkCounts(t, re, r, chars, 300)
	}
}

// TestCountBounded: a fixed string with \b before or after it is counted
// without a regex engine, as the backtracker counts its matches, word
// characters being Unicode's (UCP) on both sides.
func TestCountBounded(t *testing.T) {
	pats := []struct {
		pat     string
		bounded bool
	}{
		{`(<ref\b)`, true}, {`\bfoo\b`, true}, {`\bé`, true}, {`ab\b`, true}, {`\b-x`, true}, {`x-\b`, true},
		{`(\bſt)`, true}, {`\baa\b`, true}, {`\bx-x`, true},
		{`(?i)\bab`, false}, {`\b(a|b)`, false}, {`\Bab`, false}, {`foo`, false},
	}
	chars := []string{"a", "aa", "b", "ab", "f", "o", "oo", "foo", "é", "É", "ſ", "t", "_", "1", "-", "x", "x-", "-x",
		" ", "\n", "<ref", "<ref>", "<refs", "<refé", "x-x"}
	r := rand.New(rand.NewPCG(13, 14))
	for _, p := range pats {
		re, err := Compile(p.pat, false)
		if err != nil {
			t.Fatal(err)
		}
		if got := re.bounded != nil; got != p.bounded {
			t.Fatalf("%s: bounded %v, want %v", p.pat, got, p.bounded)
		}
		checkCounts(t, re, r, chars, 500)
	}
}

// checkCounts compares Count with the backtracker's count on n subjects
// made of up to 30 random pieces from chars.
func checkCounts(t *testing.T, re *Regexp, r *rand.Rand, chars []string, n int) {
	t.Helper()
	for range n {
		var b strings.Builder
		for k := r.IntN(30); k > 0; k-- {
			b.WriteString(chars[r.IntN(len(chars))])
		}
		s := b.String()
		want, err := countByExec(re, s, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := re.Count(s, Limits{}); err != nil || got != want {
			t.Fatalf("Count(%s, %q) = %d, %v; want %d", re.String(), s, got, err, want)
		}
	}
}

// countByExec counts the successive matches of a pattern that cannot match
// the empty string with the backtracker.
func countByExec(re *Regexp, s string, lim Limits) (int, error) {
	n := 0
	for pos := 0; pos <= len(s); {
		caps, err := re.exec(s, pos, pos, false, lim)
		if err != nil || caps == nil {
			return n, err
		}
		n++
		pos = caps[1]
	}
	return n, nil
}

// TestFoldStringInvalidBytes: a text of invalid bytes (each becomes the
// three bytes of U+FFFD) grows the buffer by doubling, not once per byte.
// Doubling takes a few allocations, once per byte 200,000; the bound
// leaves room for what the process's other goroutines allocate meanwhile
// (AllocsPerRun counts them too: over a hundred on a loaded machine).
func TestFoldStringInvalidBytes(t *testing.T) {
	s := strings.Repeat("\xff", 200<<10)
	allocs := testing.AllocsPerRun(3, func() { FoldString(s) })
	if allocs > 1000 {
		t.Errorf("%v allocations to fold %d invalid bytes", allocs, len(s))
	}
	if got := FoldString("a\xffb"); got != "A\uFFFDB" {
		t.Errorf("FoldString(%q) = %q", "a\xffb", got)
	}
}
