package screen_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
	"github.com/vigilwiki/vigil/sqlite"
)

// TestRuleOverRecentWindow screens actions with the window on, then tests
// rules and a filter's older version over what was kept.
func TestRuleOverRecentWindow(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := screen.New(s, screen.Config{}, screen.Options{})
	flt := &vigil.Filter{Wiki: "enwiki", Name: "casino", Pattern: `added_lines contains "casino"`, Enabled: true,
		Actions: map[string][]string{"tag": {"casino"}}}
	flt.Normalize()
	if err := s.CreateFilter(ctx, flt, "tester", ""); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	texts := []string{"casino one", "pills two", "casino and pills", "plain", "more pills"}
	for i, text := range texts {
		a := edit("", text)
		a.Performer = vigil.Performer{Name: "~2026-" + string(rune('1'+i)), Type: "temp"}
		a.IP, a.UserAgent = "198.51.100."+string(rune('1'+i)), "Mozilla/5.0"
		a.Time = time.Now()
		if _, err := e.Screen(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	stop() // flushes the window
	<-done

	test := func(req screen.TestRequest) *screen.TestResult {
		t.Helper()
		req.Wiki = "enwiki"
		res, err := e.TestRule(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	performers := func(hits []screen.TestHit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.Performer)
		}
		slices.Sort(out)
		return out
	}
	res := test(screen.TestRequest{Pattern: `added_lines contains "pills"`})
	if res.Checked != 5 || !slices.Equal(performers(res.Matches), []string{"~2026-2", "~2026-3", "~2026-5"}) {
		t.Fatalf("pills: %+v", res)
	}
	// An older version against the current one: what it would newly
	// match and what it would no longer match.
	flt.Pattern = `added_lines contains "pills"`
	if err := s.UpdateFilter(ctx, flt, "tester", "pills instead"); err != nil {
		t.Fatal(err)
	}
	res = test(screen.TestRequest{FilterID: flt.ID, Version: 1})
	if !res.Compared || !slices.Equal(performers(res.Matches), []string{"~2026-1", "~2026-3"}) ||
		!slices.Equal(performers(res.New), []string{"~2026-1"}) ||
		!slices.Equal(performers(res.Lost), []string{"~2026-2", "~2026-5"}) {
		t.Fatalf("version 1 against 2: %+v", res)
	}
	// A proposed rule for the filter, against its current one (pills).
	res = test(screen.TestRequest{FilterID: flt.ID, Pattern: `added_lines contains "casino"`})
	if !res.Compared || !slices.Equal(performers(res.New), []string{"~2026-1"}) ||
		!slices.Equal(performers(res.Lost), []string{"~2026-2", "~2026-5"}) {
		t.Fatalf("a proposed rule against the current one: %+v", res)
	}
	// IP addresses are kept apart: a rule on them sees nothing without
	// the right, and the right one with it.
	ipRule := screen.TestRequest{Pattern: `user_unnamed_ip == "198.51.100.4"`}
	if res := test(ipRule); len(res.Matches) != 0 {
		t.Fatalf("protected data without the right: %+v", res)
	}
	ipRule.Protected = true
	if res := test(ipRule); !slices.Equal(performers(res.Matches), []string{"~2026-4"}) {
		t.Fatalf("protected data with the right: %+v", res)
	}
	for _, bad := range []screen.TestRequest{{}, {Pattern: `added_lines contains`}, {Pattern: "1", FilterID: flt.ID, Version: 1},
		{FilterID: 999}, {Pattern: "1", Limit: -1}} {
		bad.Wiki = "enwiki"
		if _, err := e.TestRule(ctx, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// windowAfter screens n actions at one instant, then n more gap later,
// with a recent-action window set by cfg, and returns how many the window
// kept.
func windowAfter(t *testing.T, cfg screen.RecentConfig, n int, gap time.Duration) int {
	t.Helper()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	e := screen.New(s, screen.Config{}, screen.Options{Now: c.now, Recent: cfg})
	flt := &vigil.Filter{Wiki: "enwiki", Name: "x", Pattern: `false`, Enabled: true, Actions: map[string][]string{}}
	flt.Normalize()
	s.CreateFilter(ctx, flt, "t", "")
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	screenN := func(n int) {
		for range n {
			a := edit("192.0.2.1", "text")
			a.Time = c.now()
			if _, err := e.Screen(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	screenN(n)
	c.add(gap)
	screenN(n)
	stop()
	<-done
	res, err := e.TestRule(ctx, screen.TestRequest{Wiki: "enwiki", Pattern: "true", Since: c.now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Checked
}

// TestRecentWindowSpreads: by default at most MaxActions per MaxAge go
// into the window (so that it spans MaxAge on a busy wiki); KeepAll keeps
// every action.
func TestRecentWindowSpreads(t *testing.T) {
	for _, keepAll := range []bool{false, true} {
		// A burst of 30 (the bucket holds 10), then 30 more 5 seconds
		// later (5 seconds at 1 a second).
		got := windowAfter(t, screen.RecentConfig{MaxActions: 10, MaxAge: 10 * time.Second, KeepAll: keepAll, MaxPerSecond: 1000},
			30, 5*time.Second)
		want := 15
		if keepAll {
			want = 60
		}
		if got != want {
			t.Errorf("keepAll %v: %d actions in the window, want %d", keepAll, got, want)
		}
	}
}

// TestRecentWindowPaced: a burst after a quiet spell, when the budget of
// MaxActions per MaxAge is full, goes into the window at most
// MaxPerSecond a second.
func TestRecentWindowPaced(t *testing.T) {
	// The budget alone would take a burst of 1,000.
	got := windowAfter(t, screen.RecentConfig{MaxActions: 100000, MaxAge: time.Hour, MaxPerSecond: 5}, 100, time.Second)
	if got != 10 {
		t.Errorf("%d actions in the window after 100 in one instant and 100 a second later; want 5 + 5", got)
	}
}

// TestRuleOverWindowPages: a test reads the window a page at a time; no
// action is skipped or seen twice across pages, the limit holds across
// them, and the test stops where the window ends.
func TestRuleOverWindowPages(t *testing.T) {
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := screen.New(s, screen.Config{Wikis: map[string]screen.WikiConfig{"enwiki": {}}},
		screen.Options{Recent: screen.RecentConfig{KeepAll: true}})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.Run(runCtx); close(done) }()
	const n = 600 // more than two pages
	for i := range n {
		a := edit("192.0.2.1", "text")
		a.Summary = ptr(fmt.Sprint("n", i))
		a.Time = time.Now()
		if _, err := e.Screen(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	stop() // flushes the window
	<-done
	for _, limit := range []int{550, 1000} {
		res, err := e.TestRule(ctx, screen.TestRequest{Wiki: "enwiki", Pattern: `summary rlike "7$"`, Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		want := min(limit, n)
		if res.Checked != want {
			t.Errorf("limit %d: %d checked, want %d", limit, res.Checked, want)
		}
		// The newest want actions are n-want .. n-1; those ending in 7 match.
		var wantHits int
		for i := n - want; i < n; i++ {
			if i%10 == 7 {
				wantHits++
			}
		}
		ids := map[int64]bool{}
		for _, h := range res.Matches {
			ids[h.RecentID] = true
		}
		if len(res.Matches) != wantHits || len(ids) != wantHits {
			t.Errorf("limit %d: %d matches (%d distinct), want %d", limit, len(res.Matches), len(ids), wantHits)
		}
	}
}

// tickingClock moves on by tick at each reading.
type tickingClock struct {
	mu   sync.Mutex
	t    time.Time
	tick time.Duration
}

func (c *tickingClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.tick)
	return c.t
}

// TestRuleTimeLimit: a test that reaches its time limit stops and answers
// with the actions it tested, the newest, and says so; one within its
// limit tests them all.
func TestRuleTimeLimit(t *testing.T) {
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	origin := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	c := &tickingClock{t: origin}
	for _, tt := range []struct {
		limit    time.Duration
		reached  bool
		min, max int
	}{
		{100 * time.Second, true, 1, 100}, // a second passes per action tested
		{time.Hour, false, 300, 300},
	} {
		e := screen.New(s, screen.Config{Wikis: map[string]screen.WikiConfig{"enwiki": {}}, TestTimeLimit: tt.limit},
			screen.Options{Now: c.now, Recent: screen.RecentConfig{KeepAll: true}})
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { e.Run(runCtx); close(done) }()
		for i := range 150 { // twice: 300 in the window for the second
			a := edit("192.0.2.1", "text")
			a.Summary = ptr(fmt.Sprint("n", i))
			a.Time = c.now()
			if _, err := e.Screen(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		stop()
		<-done
		c.mu.Lock()
		c.tick = time.Second
		c.mu.Unlock()
		res, err := e.TestRule(ctx, screen.TestRequest{Wiki: "enwiki", Pattern: `summary rlike "7$"`, Limit: 1000, Since: origin.Add(-time.Minute)})
		c.mu.Lock()
		c.tick = 0
		c.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if res.TimeLimitReached != tt.reached || res.Checked < tt.min || res.Checked > tt.max {
			t.Errorf("limit %s: %d checked, time limit reached %v; want %d to %d, %v", tt.limit, res.Checked, res.TimeLimitReached, tt.min, tt.max, tt.reached)
		}
	}
}

// TestRuleWaitsForSlot: filter tests run a bounded number at once; one
// that finds none free waits, and is turned away (unavailable) when its
// caller stops waiting.
func TestRuleWaitsForSlot(t *testing.T) {
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := screen.New(s, screen.Config{Wikis: map[string]screen.WikiConfig{"enwiki": {}}}, screen.Options{})
	req := screen.TestRequest{Wiki: "enwiki", Pattern: "true"}
	release := e.HoldTests()
	waitCtx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := e.TestRule(waitCtx, req); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("with every slot taken: %v, want unavailable", err)
	}
	// Nor does a test wait longer than a test may run.
	short := screen.New(s, screen.Config{Wikis: map[string]screen.WikiConfig{"enwiki": {}}, TestTimeLimit: 50 * time.Millisecond}, screen.Options{})
	defer short.HoldTests()()
	if _, err := short.TestRule(ctx, req); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("with every slot taken past the time limit: %v, want unavailable", err)
	}
	done := make(chan error, 1)
	go func() { _, err := e.TestRule(ctx, req); done <- err }()
	select {
	case err := <-done:
		t.Fatalf("a test ran with every slot taken: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting test did not run once a slot was free")
	}
}
