package pcre

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// compileDFA compiles a pattern (between slashes, PHP's way) and returns
// it with its lazy DFA, which it must have.
func compileDFA(t *testing.T, pattern string) (*Regexp, *dfa) {
	t.Helper()
	re, err := CompilePHP("/" + pattern + "/")
	if err != nil {
		t.Fatal(err)
	}
	d := re.lazyDFA()
	if d == nil {
		t.Fatal("no DFA")
	}
	return re, d
}

// TestDFATableGrowsAndStartsOver runs the lazy DFA from several goroutines
// at once on patterns whose state count outgrows the first table (so it is
// copied while others read it) and, for the second, maxDFAStates (so the
// states are dropped while matches are under way), and checks every
// verdict against Go's regexp, which means the same for these patterns.
func TestDFATableGrowsAndStartsOver(t *testing.T) {
	for _, tc := range []struct {
		pattern   string
		goPattern string // the same meaning in Go's syntax, if it differs
		letters   string // of the subjects, repeated to set their odds
		startOver bool
	}{
		{"a[ab]{6}b", "", "abbb", false},      // about 2^7 states
		{"a[ab]{13}c", "", "aaaabbbbc", true}, // about 2^14 states
		// $ also matches before a final newline, which half the subjects
		// end with: the DFA's separate step for it.
		{"a[ab]{6}$", `a[ab]{6}\n?\z`, "abbb", false},
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			_, d := compileDFA(t, tc.pattern)
			want := regexp.MustCompile(tc.pattern)
			if tc.goPattern != "" {
				want = regexp.MustCompile(tc.goPattern)
			}
			var wg sync.WaitGroup
			for g := range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := rand.New(rand.NewPCG(uint64(g), 7))
					buf := make([]byte, 64)
					for range 3000 {
						n := r.IntN(len(buf))
						for i := range n {
							buf[i] = tc.letters[r.IntN(len(tc.letters))]
						}
						s := string(buf[:n])
						if tc.goPattern != "" && r.IntN(2) == 0 {
							s += "\n"
						}
						if got := d.match(s); got != want.MatchString(s) {
							t.Errorf("match(%q) = %v, want %v", s, got, !got)
							return
						}
					}
				}()
			}
			wg.Wait()
			d.mu.Lock()
			gen, rows := d.gen, len(d.tab.Load().list)
			d.mu.Unlock()
			if rows <= 8 {
				t.Errorf("the table never grew (%d rows)", rows)
			}
			if startedOver := gen > 1; startedOver != tc.startOver {
				t.Errorf("started over: %v, want %v", startedOver, tc.startOver)
			}
		})
	}
}

// TestDFASkip checks the DFA's jumps over bytes that cannot begin a match
// (skipTo, idleTag) against the backtracker, on long subjects where such
// runs are long and end at every kind of byte: word and non-word
// characters either side of \b, newlines for (?m)^ and $, characters that
// are not ASCII, a final newline. It also checks which patterns skip:
// none that can match the empty string or begin with too many bytes.
func TestDFASkip(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		skips   bool
	}{
		{`casino`, true},
		{`(?i)casino|poker`, true},
		{`\bfu+c+k\b`, true},
		{`\b(?:ab|ba)\B`, true},
		{`(?m)^\[\[x`, true},
		{`(?m)x$`, true},
		{`b\n?\Z`, true},
		{`k[aé]+\b`, true},
		{`é+b`, true},
		{`(?i)é`, true}, // only bytes of 0x80 and above begin it
		{`^ab`, true},   // skips, though nothing but the start can begin it
		{`[\[{]`, true},
		{`a*`, false},       // matches the empty string
		{`\b`, false},       // so does an assertion alone
		{`(?:x|)y?`, false}, // and an empty alternative
		{`[a-z]x`, false},   // too many bytes begin a match
		{`\w+ab`, false},    // idem
		{`[^a]b`, false},    // idem
	} {
		t.Run(tc.pattern, func(t *testing.T) {
			re, d := compileDFA(t, tc.pattern)
			if got := d.skipTo != nil; got != tc.skips {
				t.Fatalf("skips: %v, want %v", got, tc.skips)
			}
			r := rand.New(rand.NewPCG(11, uint64(len(tc.pattern))))
			// Mostly bytes that begin no match, so that runs are long.
			common := []string{"x", "y", "z", " ", "-", "Q", "1", "_"}
			rare := []string{"a", "b", "c", "k", "u", "f", "é", "É", "\n", "[", "{", "casino", "POKER", "fuck", "ab", "ba", "[[x", "kaé", "ééb"}
			var b strings.Builder
			for range 3000 {
				b.Reset()
				for n := r.IntN(300); n > 0; n-- {
					if r.IntN(12) == 0 {
						b.WriteString(rare[r.IntN(len(rare))])
					} else {
						b.WriteString(common[r.IntN(len(common))])
					}
				}
				if r.IntN(4) == 0 {
					b.WriteString("\n")
				}
				s := b.String()
				caps, err := re.exec(s, 0, 0, false, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if got, want := d.match(s), caps != nil; got != want {
					t.Fatalf("match(%q) = %v, backtracker %v", s, got, want)
				}
			}
			if !tc.skips {
				return
			}
			tagged := 0
			for _, n := range d.tab.Load().t {
				if n < dfaMatched {
					tagged++
				}
			}
			if tagged == 0 {
				t.Error("no step into an idle state was tagged")
			}
		})
	}
}

// BenchmarkDFALongRun: a DFA whose table starts empty, over a 100 KB run
// of bytes that cannot begin a match, then a match. The run is jumped over
// in one pass: linear in its length (a jump that went back one byte when a
// step was not yet in the table made it quadratic, about a second here).
func BenchmarkDFALongRun(b *testing.B) {
	re, err := CompilePHP(`/\bcasino\b/`)
	if err != nil {
		b.Fatal(err)
	}
	d := re.lazyDFA()
	s := strings.Repeat("x", 100<<10) + "-casino"
	b.SetBytes(int64(len(s)))
	for b.Loop() {
		d.mu.Lock()
		d.reset()
		d.mu.Unlock()
		if !d.match(s) {
			b.Fatal("no match")
		}
	}
}
