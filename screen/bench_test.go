package screen_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/abusefilter"
	"github.com/vigilwiki/vigil/internal/workload"
	"github.com/vigilwiki/vigil/screen"
	"github.com/vigilwiki/vigil/sqlite"
)

// BenchmarkScreen screens realistic edits of 5 to 50 KB pages with the 137
// enabled real filters, through the whole engine (variables, filters,
// consequences, the abuse log in SQLite), without HTTP.
func BenchmarkScreen(b *testing.B) { benchScreen(b, nil) }

// BenchmarkScreenCyrillic is BenchmarkScreen on the same pages with their
// lower-case Latin letters written in Cyrillic ones (markup and upper case
// stay): a wiki in a script other than Latin, where most of a text's bytes
// are beyond ASCII and every character is two of them.
func BenchmarkScreenCyrillic(b *testing.B) {
	benchScreen(b, rewriteLetters("абцдефгхийклмнопярстувшжыз"))
}

// BenchmarkScreenKana is BenchmarkScreenCyrillic with kana: characters of
// three bytes, without case.
func BenchmarkScreenKana(b *testing.B) {
	benchScreen(b, rewriteLetters("あいうえおかきくけこさしすせそたちつてとなにぬねのは"))
}

// rewriteLetters writes the lower-case Latin letters of an action's texts
// as the 26 characters of letters.
func rewriteLetters(letters string) func(*vigil.Action) {
	pairs := make([]string, 0, 52)
	for i, r := range []rune(letters) {
		pairs = append(pairs, string(rune('a'+i)), string(r))
	}
	rewrite := strings.NewReplacer(pairs...)
	return func(a *vigil.Action) {
		old, text := rewrite.Replace(*a.OldWikitext), rewrite.Replace(*a.NewWikitext)
		a.OldWikitext, a.NewWikitext = &old, &text
	}
}

// benchScreen is BenchmarkScreen, each action changed by change first.
func benchScreen(b *testing.B, change func(*vigil.Action)) {
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "vigil.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f, err := os.Open("../../shared/testdata/abusefilter/real-filters.jsonl")
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		var row abusefilter.Row
		json.Unmarshal(sc.Bytes(), &row)
		if !row.Enabled || row.Deleted {
			continue
		}
		row.Wiki = "enwiki"
		flt, _ := abusefilter.FromRow(row)
		if screen.CheckFilter(flt) != nil {
			continue
		}
		if err := s.CreateFilter(ctx, flt, "bench", ""); err != nil {
			b.Fatal(err)
		}
		n++
	}
	f.Close()
	e := screen.New(s, screen.Config{}, screen.Options{Recent: screen.RecentConfig{Disabled: true}})
	gen := workload.New("enwiki", 1, 200)
	actions := make([]*vigil.Action, 300)
	for i := range actions {
		actions[i] = gen.Next()
		if change != nil {
			change(actions[i])
		}
	}
	b.ResetTimer()
	i := 0
	var filtersUS []int64
	for b.Loop() {
		a := *actions[i%len(actions)]
		i++
		v, err := e.Screen(ctx, &a)
		if err != nil {
			b.Fatal(err)
		}
		filtersUS = append(filtersUS, v.FiltersMicroseconds)
	}
	b.ReportMetric(float64(n), "filters")
	// The filters' own time, apart from the abuse log's writes, whose disk
	// syncs make the whole figure noisy: the median, since a shared
	// machine's stalls land in the mean.
	slices.Sort(filtersUS)
	b.ReportMetric(float64(filtersUS[len(filtersUS)/2]), "filters-µs-median")
}
