package pcre

import (
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"
)

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
			re, err := CompilePHP("/" + tc.pattern + "/")
			if err != nil {
				t.Fatal(err)
			}
			d := re.lazyDFA()
			if d == nil {
				t.Fatal("no DFA")
			}
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
