package vars

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil/internal/aforacle"
)

func TestEditDiffExamples(t *testing.T) {
	tests := []struct{ old, new, want string }{
		{"", "", ""},
		{"a", "a", ""},
		{"", "new line", "@@ -1,0 +1,1 @@\n+new line\n"}, // as MediaWiki writes it
		{"gone", "", "@@ -1,1 +1,0 @@\n-gone\n"},
		{"a\nb\nc", "a\nx\nc\nd", "@@ -1,3 +1,4 @@\n a\n-b\n+x\n c\n+d\n"},
		// Far-apart changes make two hunks, each with two lines of context.
		{"1\n2\n3\n4\n5\n6\n7\n8\n9", "1\nX\n3\n4\n5\n6\n7\nY\n9",
			"@@ -1,4 +1,4 @@\n 1\n-2\n+X\n 3\n 4\n@@ -6,4 +6,4 @@\n 6\n 7\n-8\n+Y\n 9\n"},
	}
	for _, tt := range tests {
		if got := EditDiff(tt.old, tt.new); got != tt.want {
			t.Errorf("EditDiff(%q, %q) =\n%q\nwant\n%q", tt.old, tt.new, got, tt.want)
		}
	}
	if got := DiffSplit("@@ -1,3 +1,4 @@\n a\n-b\n+x\n c\n+d\n", '+'); strings.Join(got, "|") != "x|d" {
		t.Errorf("added lines %q", got)
	}
}

// randomLines makes texts from a small alphabet so that lines repeat and
// the diff has many equally short solutions to choose between.
func randomLines(r *rand.Rand, n int) []string {
	alphabet := []string{"a", "b", "c", "", "== H ==", "{{x}}", "d"}
	lines := make([]string, n)
	for i := range lines {
		lines[i] = alphabet[r.IntN(len(alphabet))]
	}
	return lines
}

func mutate(r *rand.Rand, lines []string) []string {
	out := append([]string(nil), lines...)
	for k := r.IntN(6); k >= 0; k-- {
		switch op := r.IntN(3); {
		case op == 0 && len(out) > 0:
			i := r.IntN(len(out))
			out = append(out[:i], out[i+1:]...)
		case op == 1:
			i := r.IntN(len(out) + 1)
			out = append(out[:i], append(randomLines(r, 1+r.IntN(3)), out[i:]...)...)
		case len(out) > 0:
			out[r.IntN(len(out))] = randomLines(r, 1)[0]
		}
	}
	return out
}

// TestEditDiffMatchesMediaWiki compares EditDiff with MediaWiki's own
// DiffEngine on random edits of repetitive texts.
func TestEditDiffMatchesMediaWiki(t *testing.T) {
	o := aforacle.Get(t)
	r := rand.New(rand.NewPCG(1, 2))
	n := 1500
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		old := randomLines(r, r.IntN(30))
		new := mutate(r, old)
		if r.IntN(10) == 0 {
			new = randomLines(r, r.IntN(40))
		}
		oldText, newText := strings.Join(old, "\n"), strings.Join(new, "\n")
		var resp struct{ Diff string }
		if err := o.Do(map[string]string{"op": "diff", "old": oldText, "new": newText}, &resp); err != nil {
			t.Fatal(err)
		}
		if got := EditDiff(oldText, newText); got != resp.Diff {
			t.Fatalf("case %d: EditDiff(%q, %q) =\n%s\nMediaWiki:\n%s", i, oldText, newText, got, resp.Diff)
		}
	}
	// Large rewrites: more than 2,000,000 line pairs, where MediaWiki
	// limits the search and falls back to its heuristic.
	for i := 0; i < 4; i++ {
		oldText := strings.Join(randomLines(r, 1500+r.IntN(800)), "\n")
		newText := strings.Join(randomLines(r, 1500+r.IntN(800)), "\n")
		var resp struct{ Diff string }
		if err := o.Do(map[string]string{"op": "diff", "old": oldText, "new": newText}, &resp); err != nil {
			t.Fatal(err)
		}
		if got := EditDiff(oldText, newText); got != resp.Diff {
			t.Fatalf("large case %d differs from MediaWiki (%d vs %d bytes)", i, len(got), len(resp.Diff))
		}
	}
}

// TestUnifiedSize: the size unifiedDiff reserves bounds what it writes
// (else it grows and copies), without reserving far more.
func TestUnifiedSize(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	words := []string{"a", "bb", "ccc", "a longer line of wikitext", "", "[[Link]]", "{{Template}}"}
	for range 2000 {
		from := make([]string, r.IntN(60))
		for i := range from {
			from[i] = words[r.IntN(len(words))]
		}
		to := slices.Clone(from)
		for range r.IntN(6) {
			i := r.IntN(len(to) + 1)
			switch r.IntN(3) {
			case 0:
				to = slices.Insert(to, i, words[r.IntN(len(words))])
			case 1:
				if i < len(to) {
					to = slices.Delete(to, i, i+1)
				}
			default:
				if i < len(to) {
					to[i] = words[r.IntN(len(words))] + "x"
				}
			}
		}
		edits := diffLines(from, to)
		got, size := len(unifiedDiff(edits)), unifiedSize(edits, 4)
		if size < got || size > 2*got+200 {
			t.Fatalf("%q → %q: %d bytes reserved for %d written", from, to, size, got)
		}
	}
}
