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
	// Pages longer than EditDiff's margins, so that it leaves their common
	// start and end out (see TestEditDiffMiddle).
	for i := 0; i < n/5; i++ {
		old := randomLines(r, 20+r.IntN(100))
		oldText := strings.Join(old, "\n")
		newText := strings.Join(mutate(r, old), "\n")
		var resp struct{ Diff string }
		if err := o.Do(map[string]string{"op": "diff", "old": oldText, "new": newText}, &resp); err != nil {
			t.Fatal(err)
		}
		if got := EditDiff(oldText, newText); got != resp.Diff {
			t.Fatalf("long case %d: EditDiff(%q, %q) =\n%s\nMediaWiki:\n%s", i, oldText, newText, got, resp.Diff)
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
		got, size := len(unifiedDiff(edits, 0)), unifiedSize(edits, 4)
		if size < got || size > 2*got+200 {
			t.Fatalf("%q → %q: %d bytes reserved for %d written", from, to, size, got)
		}
	}
}

// wholeDiff is EditDiff over the whole texts, without leaving out their
// common start and end.
func wholeDiff(oldText, newText string) string {
	return unifiedDiff(diffLines(splitLines(oldText), splitLines(newText)), 0)
}

// TestEditDiffMiddle: diffing only the middle of two texts gives the
// whole texts' diff. The texts repeat lines, so that boundary shifting
// often slides changes into the margins (where EditDiff must fall back),
// and edits change bytes inside lines and newlines too, so that the
// common bytes end anywhere in a line.
func TestEditDiffMiddle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []string{"a", "b", "", "a b", "== H ==", "{{x}}", "ab"}
	var cut, fellBack int
	for i := range 20000 {
		lines := make([]string, r.IntN(80))
		// A third of the texts are one or two lines over and over, where
		// shifted changes often reach the margins.
		words := alphabet[:1+r.IntN(len(alphabet))]
		if i%3 == 0 {
			words = alphabet[:1+r.IntN(2)]
		}
		for k := range lines {
			lines[k] = words[r.IntN(len(words))]
		}
		oldText := strings.Join(lines, "\n")
		if r.IntN(3) == 0 {
			oldText += "\n"
		}
		b := []byte(oldText)
		for range 1 + r.IntN(4) {
			at := r.IntN(len(b) + 1)
			switch r.IntN(4) {
			case 0:
				b = slices.Insert(b, at, []byte(alphabet[r.IntN(len(alphabet))]+"\n")...)
			case 1:
				b = slices.Insert(b, at, "ab\n"[r.IntN(3)])
			case 2:
				if at < len(b) {
					b = slices.Delete(b, at, min(len(b), at+1+r.IntN(6)))
				}
			default:
				if at < len(b) {
					b[at] = "ab\n "[r.IntN(4)]
				}
			}
		}
		newText := string(b)
		got, want := EditDiff(oldText, newText), wholeDiff(oldText, newText)
		if got != want {
			t.Fatalf("case %d: EditDiff(%q, %q) =\n%s\nthe whole texts' diff:\n%s", i, oldText, newText, got, want)
		}
		if start, oldEnd, _ := commonLines(oldText, newText, diffMargin); oldText != newText && (start > 0 || oldEnd < len(oldText)) {
			cut++
			edits := diffLines(strings.Split(oldText[start:oldEnd], "\n"), strings.Split(newText[start:oldEnd+len(newText)-len(oldText)], "\n"))
			if !marginsKept(edits, start > 0, oldEnd < len(oldText)) {
				fellBack++
			}
		}
	}
	// Both ways must have been taken, often.
	if testing.Verbose() {
		t.Logf("%d diffed in their middle, %d again whole", cut, fellBack)
	}
	if cut < 5000 || fellBack < 100 {
		t.Errorf("%d of 20,000 edits diffed in their middle, %d of them again whole: too few to test both ways", cut, fellBack)
	}
}

func FuzzEditDiff(f *testing.F) {
	f.Add("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm", "a\nb\nc\nd\ne\nf\nX\nh\ni\nj\nk\nl\nm")
	f.Add("x\nx\nx\nx\nx\nx\nx\nx\nx\nx\n", "x\nx\nx\nx\nx\nx\nx\nx\nx\nx\nx\n")
	f.Add("", "a\n")
	f.Fuzz(func(t *testing.T, oldText, newText string) {
		if len(oldText)+len(newText) > 1<<14 {
			return // the whole diff is quadratic in the worst case
		}
		if got, want := EditDiff(oldText, newText), wholeDiff(oldText, newText); got != want {
			t.Fatalf("EditDiff(%q, %q) =\n%s\nthe whole texts' diff:\n%s", oldText, newText, got, want)
		}
	})
}
