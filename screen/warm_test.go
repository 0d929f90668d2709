package screen_test

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
	"github.com/vigilwiki/vigil/sqlstore"
)

// countingStore is the real store, counting how often a filter set is
// loaded to be compiled.
type countingStore struct {
	*sqlstore.Store
	loads atomic.Int64
}

func (c *countingStore) ListFilters(ctx2 context.Context, q vigil.FilterQuery) ([]*vigil.Filter, error) {
	if q.EnabledOnly && q.WithGlobal {
		c.loads.Add(1)
	}
	return c.Store.ListFilters(ctx2, q)
}

func newCountingFixture(t *testing.T, cfg screen.Config) (*fixture, *countingStore) {
	f := newFixture(t, cfg)
	cs := &countingStore{Store: f.store}
	f.engine = screen.New(cs, cfg, screen.Options{Now: f.clock.now, Recent: screen.RecentConfig{Disabled: true}})
	return f, cs
}

// TestCompileOnce: actions that arrive together before a wiki's filters are
// compiled wait for one compilation instead of each compiling its own.
func TestCompileOnce(t *testing.T) {
	// (No emergency throttle: it would recompile.)
	f, cs := newCountingFixture(t, screen.Config{EmergencyCount: 1 << 40})
	f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	const n = 32
	var wg sync.WaitGroup
	start := make(chan struct{})
	verdicts := make([]*screen.Verdict, n)
	for i := range n {
		wg.Go(func() {
			<-start
			v, err := f.engine.Screen(ctx, edit("192.0.2.9", "online casino"))
			if err != nil {
				t.Error(err)
			}
			verdicts[i] = v
		})
	}
	close(start)
	wg.Wait()
	if got := cs.loads.Load(); got != 1 {
		t.Errorf("the filters were loaded and compiled %d times for %d actions arriving together; want once", got, n)
	}
	for i, v := range verdicts {
		if v == nil || v.Allowed {
			t.Fatalf("action %d: verdict %+v; want disallowed", i, v)
		}
	}
}

// TestEmergencyThrottleOnce: actions screened together that all cross a
// new filter's emergency threshold throttle it once, without recompiling
// the filters.
func TestEmergencyThrottleOnce(t *testing.T) {
	f, cs := newCountingFixture(t, screen.Config{})
	flt := f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 32 {
		wg.Go(func() {
			<-start
			if _, err := f.engine.Screen(ctx, edit("192.0.2.9", "online casino")); err != nil {
				t.Error(err)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := cs.loads.Load(); got != 1 {
		t.Errorf("%d compilations; want 1: throttling changes consequences only, and needs no compilation", got)
	}
	got, err := f.store.FindFilter(ctx, flt.ID)
	if err != nil || !got.Throttled {
		t.Fatalf("filter %+v, %v; want it throttled", got, err)
	}
}

// TestRefreshSwaps: a change by another instance is compiled by the
// engine's periodic check, not by the next action, and until then actions
// are screened with the filters as they were.
func TestRefreshSwaps(t *testing.T) {
	f, cs := newCountingFixture(t, screen.Config{})
	flt := f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	if v := f.screen(t, edit("192.0.2.9", "online casino")); v.Allowed {
		t.Fatal("not disallowed before the change")
	}
	// Another instance disables the filter (straight into the store).
	flt.Enabled = false
	if err := f.store.UpdateFilter(ctx, flt, "other", "off"); err != nil {
		t.Fatal(err)
	}
	if v := f.screen(t, edit("192.0.2.9", "online casino")); v.Allowed {
		t.Fatal("the change was seen before the check; the test no longer shows what it should")
	}
	f.engine.CheckGeneration(ctx)
	before := cs.loads.Load()
	if v := f.screen(t, edit("192.0.2.9", "online casino")); !v.Allowed {
		t.Fatalf("disallowed after the check saw the filter disabled: %+v", v.Matches)
	}
	if got := cs.loads.Load() - before; got != 0 {
		t.Errorf("the action after the check compiled the filters (%d loads); the check should have", got)
	}
	// A second check without a change compiles nothing.
	before = cs.loads.Load()
	f.engine.CheckGeneration(ctx)
	if got := cs.loads.Load() - before; got != 0 {
		t.Errorf("a check without a change recompiled (%d loads)", got)
	}
}

// TestWarm compiles every wiki's filters and runs them over actions
// before any traffic, and records nothing.
func TestWarm(t *testing.T) {
	cfg := screen.Config{Wikis: map[string]screen.WikiConfig{"configuredwiki": {}}}
	f, cs := newCountingFixture(t, cfg)
	everything := f.filter(t, "Every edit", `action == "edit"`, map[string][]string{"disallow": {}})
	other := &vigil.Filter{Wiki: "dewiki", Name: "Andere", Pattern: `added_lines irlike "kasino"`, Enabled: true,
		Actions: map[string][]string{"warn": {}}}
	other.Normalize()
	if err := f.store.CreateFilter(ctx, other, "tester", ""); err != nil {
		t.Fatal(err)
	}
	// Three actions of enwiki in the recent window.
	var recent []*vigil.RecentAction
	for i := range 3 {
		a := edit("192.0.2.1", "recent text")
		a.Time = f.clock.now().Add(-time.Duration(i) * time.Minute)
		raw, _ := json.Marshal(a)
		recent = append(recent, &vigil.RecentAction{Wiki: "enwiki", Time: a.Time, Payload: raw})
	}
	if err := f.store.AppendRecent(ctx, recent); err != nil {
		t.Fatal(err)
	}

	rep, err := f.engine.Warm(ctx, 20, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	// configuredwiki, dewiki, enwiki; 20 actions each; enwiki's first 3
	// from the window.
	if rep.Sets != 3 || rep.Actions != 60 || rep.Recent != 3 || rep.Duration <= 0 {
		t.Errorf("report %+v; want 3 sets, 60 actions, 3 recent", rep)
	}
	if got := cs.loads.Load(); got != 3 {
		t.Errorf("%d sets loaded; want 3", got)
	}
	if log, _ := f.store.QueryLog(ctx, vigil.LogQuery{}); len(log) != 0 {
		t.Errorf("the warm-up wrote %d log entries", len(log))
	}
	if st := f.engine.FilterStats(everything.ID); st.Checked != 0 {
		t.Errorf("the warm-up counted in the statistics: %+v", st)
	}
	// Traffic finds every set compiled.
	for _, wiki := range []string{"enwiki", "dewiki", "configuredwiki"} {
		a := edit("192.0.2.1", "text")
		a.Wiki = wiki
		f.screen(t, a)
	}
	if got := cs.loads.Load(); got != 3 {
		t.Errorf("actions after the warm-up compiled %d sets", got-3)
	}

	// The limit stops it.
	g, _ := newCountingFixture(t, screen.Config{})
	g.filter(t, "Every edit", `action == "edit"`, map[string][]string{"disallow": {}})
	rep, err = g.engine.Warm(ctx, 1000000, 50*time.Millisecond)
	if err != nil || rep.Actions >= 1000000 || rep.Duration > 10*time.Second {
		t.Errorf("with a 50 ms limit: %+v, %v", rep, err)
	}
}

// TestRefreshWithDatabaseDown: a recompilation that cannot reach the
// database keeps the filters as they were, and screening goes on.
func TestRefreshWithDatabaseDown(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	f.screen(t, edit("192.0.2.1", "hello")) // compiles the filters
	f.store.Close()
	f.engine.Invalidate()
	v, err := f.engine.Screen(ctx, edit("192.0.2.2", "online casino"))
	if err != nil {
		t.Fatalf("screening after a recompilation without the database: %v", err)
	}
	if v.Allowed || !v.LogSpooled {
		t.Fatalf("verdict %+v; want disallowed by the filter as it was, its log entry spooled", v)
	}
}

// TestFilterChanged recompiles, before it returns, the sets a filter's
// change touches (its wiki's; every wiki's of its group for a global
// filter), and leaves the others to the periodic check.
func TestFilterChanged(t *testing.T) {
	f, cs := newCountingFixture(t, screen.Config{EmergencyCount: 1 << 40})
	en := f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	de := &vigil.Filter{Wiki: "dewiki", Name: "Kasino", Pattern: `added_lines irlike "kasino"`, Enabled: true,
		Actions: map[string][]string{"disallow": {}}}
	de.Normalize()
	if err := f.store.CreateFilter(ctx, de, "tester", ""); err != nil {
		t.Fatal(err)
	}
	onWiki := func(wiki, text string) *vigil.Action {
		a := edit("192.0.2.9", text)
		a.Wiki = wiki
		return a
	}
	f.screen(t, onWiki("enwiki", "x")) // both sets in use
	f.screen(t, onWiki("dewiki", "x"))
	f.engine.CheckGeneration(ctx) // dewiki's filter, saved behind the engine's back

	// A local filter of enwiki is disabled: only enwiki's set is recompiled.
	before := *en
	en.Enabled = false
	if err := f.store.UpdateFilter(ctx, en, "tester", "off"); err != nil {
		t.Fatal(err)
	}
	loads := cs.loads.Load()
	f.engine.FilterChanged(&before, en)
	if got := cs.loads.Load() - loads; got != 1 {
		t.Errorf("a local change recompiled %d sets; want 1, its wiki's", got)
	}
	loads = cs.loads.Load()
	if v := f.screen(t, onWiki("enwiki", "online casino")); !v.Allowed {
		t.Errorf("enwiki still uses the disabled filter: %+v", v.Matches)
	}
	if v := f.screen(t, onWiki("dewiki", "online kasino")); v.Allowed {
		t.Error("dewiki lost its own filter")
	}
	if got := cs.loads.Load() - loads; got != 0 {
		t.Errorf("actions after the change compiled %d sets", got)
	}
	// The periodic check knows the change was the only one: nothing to do.
	f.engine.CheckGeneration(ctx)
	if got := cs.loads.Load() - loads; got != 0 {
		t.Errorf("the check after a change already compiled recompiled %d sets", got)
	}

	// A new global filter: both sets, before FilterChanged returns.
	g := &vigil.Filter{Wiki: "enwiki", Name: "Everywhere", Pattern: `added_lines irlike "spamword"`, Enabled: true, Global: true,
		Actions: map[string][]string{"disallow": {}}}
	g.Normalize()
	if err := f.store.CreateFilter(ctx, g, "tester", ""); err != nil {
		t.Fatal(err)
	}
	loads = cs.loads.Load()
	f.engine.FilterChanged(nil, g)
	if got := cs.loads.Load() - loads; got != 2 {
		t.Errorf("a global filter recompiled %d sets; want 2", got)
	}
	if v := f.screen(t, onWiki("dewiki", "spamword")); v.Allowed {
		t.Error("dewiki does not run the new global filter")
	}

	// Another instance disables dewiki's filter, then this one re-enables
	// enwiki's: two changes since the sets were current, so the check
	// recompiles, and dewiki sees the other instance's change.
	f.engine.CheckGeneration(ctx)
	de.Enabled = false
	if err := f.store.UpdateFilter(ctx, de, "other", "off"); err != nil {
		t.Fatal(err)
	}
	before = *en
	en.Enabled = true
	if err := f.store.UpdateFilter(ctx, en, "tester", "on"); err != nil {
		t.Fatal(err)
	}
	f.engine.FilterChanged(&before, en)
	loads = cs.loads.Load()
	f.engine.CheckGeneration(ctx)
	if got := cs.loads.Load() - loads; got == 0 {
		t.Error("the check did not recompile after another instance's change")
	}
	if v := f.screen(t, onWiki("dewiki", "online kasino")); !v.Allowed {
		t.Error("dewiki still runs the filter another instance disabled")
	}
}
