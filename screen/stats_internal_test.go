package screen

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/sqlite"
)

// failingStats refuses statistics while fail is set.
type failingStats struct {
	vigil.Store
	fail bool
}

func (f *failingStats) AddStats(ctx context.Context, d []*vigil.FilterStats) error {
	if f.fail {
		return errors.New("database down")
	}
	return f.Store.AddStats(ctx, d)
}

// TestStatsFlush: the totals count every action once, whether a flush
// fails (its counts wait for the next) or succeeds; the store gets each
// count once; a restart's totals start from what the store has.
func TestStatsFlush(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	store := &failingStats{Store: s}
	flt := &vigil.Filter{Wiki: "enwiki", Name: "casino", Pattern: `added_lines irlike "casino"`, Enabled: true,
		Actions: map[string][]string{"tag": {"spam"}}}
	flt.Normalize()
	if err := s.CreateFilter(ctx, flt, "tester", ""); err != nil {
		t.Fatal(err)
	}
	e := New(store, Config{}, Options{Recent: RecentConfig{Disabled: true}})
	edit := func(added string) {
		old, new := "Hello.", "Hello.\n"+added
		a := &vigil.Action{Wiki: "enwiki", Action: vigil.ActionEdit, Performer: vigil.Performer{Name: "192.0.2.1"}, IP: "192.0.2.1",
			Page: &vigil.Page{ID: 7, Title: "Example"}, OldWikitext: &old, NewWikitext: &new}
		if _, err := e.Screen(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	check := func(when string, checked, matches int64) {
		t.Helper()
		r := e.stats.Report(flt.ID)
		if r.Checked != checked || r.Matches != matches {
			t.Fatalf("%s: checked %d, matches %d; want %d, %d", when, r.Checked, r.Matches, checked, matches)
		}
	}
	edit("casino")
	edit("hello")
	check("before any flush", 2, 1)
	store.fail = true
	e.flushStats(ctx)
	check("after a failed flush", 2, 1)
	edit("casino")
	store.fail = false
	e.flushStats(ctx)
	check("after a flush", 3, 2)
	e.flushStats(ctx) // nothing new: nothing added twice
	edit("hello")
	e.flushStats(ctx)
	check("after another action and flush", 4, 2)

	e2 := New(store, Config{}, Options{Recent: RecentConfig{Disabled: true}})
	if err := e2.LoadStats(ctx); err != nil {
		t.Fatal(err)
	}
	if r := e2.stats.Report(flt.ID); r.Checked != 4 || r.Matches != 2 {
		t.Fatalf("a new engine's totals from the store: checked %d, matches %d; want 4, 2", r.Checked, r.Matches)
	}
}
