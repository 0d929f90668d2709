package screen_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/screen"
	"github.com/vigilwiki/vigil/spool"
	"github.com/vigilwiki/vigil/sqlite"
	"github.com/vigilwiki/vigil/sqlstore"
)

var ctx = context.Background()

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	store  *sqlstore.Store
	engine *screen.Engine
	clock  *clock
	dir    string
}

func newFixture(t *testing.T, cfg screen.Config) *fixture {
	t.Helper()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c := &clock{t: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)}
	s.SetClock(c.now)
	sp, err := spool.Open(filepath.Join(dir, "spool"))
	if err != nil {
		t.Fatal(err)
	}
	e := screen.New(s, cfg, screen.Options{Now: c.now, Spool: sp, Recent: screen.RecentConfig{Disabled: true}})
	return &fixture{store: s, engine: e, clock: c, dir: dir}
}

func (f *fixture) filter(t *testing.T, name, pattern string, actions map[string][]string) *vigil.Filter {
	t.Helper()
	flt := &vigil.Filter{Wiki: "enwiki", Name: name, Pattern: pattern, Enabled: true, Actions: actions}
	flt.Normalize()
	if err := f.store.CreateFilter(ctx, flt, "tester", ""); err != nil {
		t.Fatal(err)
	}
	f.engine.Invalidate()
	return flt
}

func (f *fixture) screen(t *testing.T, a *vigil.Action) *screen.Verdict {
	t.Helper()
	v, err := f.engine.Screen(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func ptr[T any](v T) *T { return &v }

// edit is an anonymous edit adding text to an existing article.
func edit(ip, added string) *vigil.Action {
	return &vigil.Action{Wiki: "enwiki", Action: vigil.ActionEdit, Performer: vigil.Performer{Name: ip}, IP: ip,
		Session:     "session-" + ip,
		Page:        &vigil.Page{ID: 7, Namespace: 0, Title: "Example"},
		OldWikitext: ptr("Hello."), NewWikitext: ptr("Hello.\n" + added), Summary: ptr("")}
}

func keys(msgs []screen.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Key+"/"+m.Consequence+"/"+m.Filter)
	}
	return out
}

func TestNoMatchIsAllowed(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	v := f.screen(t, edit("192.0.2.1", "Nice weather."))
	if !v.Allowed || len(v.Matches) != 0 || len(v.Messages) != 0 || v.Conditions != 1 || v.Logged() {
		t.Fatalf("verdict %+v", v)
	}
	if log, _ := f.store.QueryLog(ctx, vigil.LogQuery{}); len(log) != 0 {
		t.Fatalf("log %v", log)
	}
}

func TestDisallowTagAndLog(t *testing.T) {
	f := newFixture(t, screen.Config{})
	flt := f.filter(t, "Casino spam", `added_lines irlike "casino"`, map[string][]string{"disallow": {"abusefilter-disallowed-spam"}, "tag": {"spam", "casino"}})
	a := edit("192.0.2.1", "Best CASINO bonus")
	a.UserAgent = "curl/8"
	v := f.screen(t, a)
	id := fmt.Sprint(flt.ID)
	if v.Allowed || fmt.Sprint(keys(v.Messages)) != "[abusefilter-disallowed-spam/disallow/"+id+"]" ||
		fmt.Sprint(v.Tags) != "[spam casino]" || v.Messages[0].Code != "abusefilter-disallowed" || !v.Logged() {
		t.Fatalf("verdict %+v", v)
	}
	if p := v.Messages[0].Params; len(p) != 2 || p[0] != "Casino spam" || p[1] != id {
		t.Fatalf("message params %v", p)
	}
	log, err := f.store.QueryLog(ctx, vigil.LogQuery{WithProtected: true})
	if err != nil || len(log) != 1 {
		t.Fatalf("log %v, %v", log, err)
	}
	e := log[0]
	if e.FilterID != flt.ID || e.Performer != "192.0.2.1" || e.PageTitle != "Example" || fmt.Sprint(e.ActionsTaken) != "[disallow tag]" ||
		v.Matches[0].LogID != e.ID || e.Protected == nil || e.Protected.IP != "192.0.2.1" || e.Protected.UserAgent != "curl/8" {
		t.Fatalf("log entry %+v", e)
	}
	if !strings.Contains(string(e.Vars), `"added_lines":["Best CASINO bonus"]`) || strings.Contains(string(e.Vars), "user_unnamed_ip") {
		t.Fatalf("var dump %s", e.Vars)
	}
	if !strings.Contains(string(e.Protected.Vars), `"user_unnamed_ip":"192.0.2.1"`) {
		t.Fatalf("protected vars %s", e.Protected.Vars)
	}
}

// TestWarnThenResubmit: AbuseFilter warns once per session, page, filter
// and action; the resubmission runs the filter's other consequences, and
// a third attempt is warned again.
func TestWarnThenResubmit(t *testing.T) {
	f := newFixture(t, screen.Config{})
	flt := f.filter(t, "Caps", `added_lines rlike "[A-Z]{10}"`, map[string][]string{"warn": {}, "tag": {"shouting"}})
	a := func() *vigil.Action { return edit("192.0.2.1", "AAAAAAAAAAAAAAA") }
	v := f.screen(t, a())
	if v.Allowed || len(v.Messages) != 1 || v.Messages[0].Key != "abusefilter-warning" || v.Messages[0].Code != "abusefilter-warning" ||
		len(v.Tags) != 0 || fmt.Sprint(v.Matches[0].Actions) != "[warn]" {
		t.Fatalf("first attempt %+v", v)
	}
	v = f.screen(t, a())
	if !v.Allowed || fmt.Sprint(v.Tags) != "[shouting]" || fmt.Sprint(v.Matches[0].Actions) != "[tag]" {
		t.Fatalf("resubmission %+v", v)
	}
	v = f.screen(t, a())
	if v.Allowed {
		t.Fatalf("third attempt not warned again %+v", v)
	}
	// Another session, another page: warned independently.
	b := a()
	b.Session = "other"
	if v := f.screen(t, b); v.Allowed {
		t.Fatal("another session was not warned")
	}
	log, _ := f.store.QueryLog(ctx, vigil.LogQuery{FilterID: flt.ID})
	if len(log) != 4 {
		t.Fatalf("%d log entries, want every attempt logged", len(log))
	}
}

// TestThrottle: the first count matches in a window are absorbed (only the
// throttle runs, nothing is logged); later ones get the consequences; the
// window is fixed from its first count.
func TestThrottle(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Link spam", `added_lines rlike "http"`, map[string][]string{
		"throttle": {"9", "2,60", "ip"}, "disallow": {}})
	a := func(ip string) *vigil.Action { return edit(ip, "see http://x.example") }
	for i := 0; i < 2; i++ {
		v := f.screen(t, a("192.0.2.1"))
		if !v.Allowed || len(v.Throttled) != 1 || fmt.Sprint(v.Matches[0].Actions) != "[throttle]" || v.Logged() {
			t.Fatalf("match %d: %+v", i+1, v)
		}
	}
	if v := f.screen(t, a("192.0.2.1")); v.Allowed || fmt.Sprint(v.Matches[0].Actions) != "[disallow]" || !v.Logged() {
		t.Fatalf("third match %+v", v)
	}
	// Another IP has its own window.
	if v := f.screen(t, a("192.0.2.2")); !v.Allowed {
		t.Fatal("another IP was throttled")
	}
	// The window does not slide: 61 s after its first count it is gone.
	f.clock.add(61 * time.Second)
	if v := f.screen(t, a("192.0.2.1")); !v.Allowed {
		t.Fatalf("after the window %+v", v)
	}
	log, _ := f.store.QueryLog(ctx, vigil.LogQuery{})
	if len(log) != 1 {
		t.Fatalf("%d log entries; only the match past the limit is logged", len(log))
	}
}

func TestThrottleGroupsCombined(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Per user and page", `true`, map[string][]string{"throttle": {"1", "1,3600", "user,page"}, "disallow": {}})
	u := func(title string) *vigil.Action {
		a := edit("192.0.2.9", "x")
		a.Performer = vigil.Performer{Name: "Alice", ID: 42}
		a.Page.Title = title
		return a
	}
	if v := f.screen(t, u("A")); !v.Allowed {
		t.Fatal("first edit of A refused")
	}
	if v := f.screen(t, u("B")); !v.Allowed {
		t.Fatal("first edit of B refused: pages must count apart")
	}
	if v := f.screen(t, u("A")); v.Allowed {
		t.Fatal("second edit of A allowed")
	}
}

// TestLongestBlock: of several blocks, only the longest is placed;
// indefinite beats any duration; disallow goes where a block applies.
func TestLongestBlock(t *testing.T) {
	f := newFixture(t, screen.Config{})
	short := f.filter(t, "Short", `true`, map[string][]string{"block": {"noTalkBlockSet", "1 day", "1 week"}, "disallow": {}})
	long := f.filter(t, "Long", `true`, map[string][]string{"block": {"blocktalk", "infinity", "1 day"}, "disallow": {}})
	v := f.screen(t, edit("192.0.2.5", "x"))
	if v.Block == nil || !v.Block.Indefinite || v.Block.TalkAccess || v.Block.Filter != fmt.Sprint(long.ID) || !v.Block.Placed {
		t.Fatalf("block %+v", v.Block)
	}
	// Short lost its block, so it keeps its disallow; Long's disallow is
	// dropped next to its block.
	want := fmt.Sprintf("[abusefilter-disallowed/disallow/%d abusefilter-blocked-display/block/%d]", short.ID, long.ID)
	if fmt.Sprint(keys(v.Messages)) != want {
		t.Fatalf("messages %v, want %s", keys(v.Messages), want)
	}
	// For a registered user the registered durations count: 1 week beats
	// 1 day.
	a := edit("192.0.2.6", "x")
	a.Performer = vigil.Performer{Name: "Bob", ID: 7}
	v = f.screen(t, a)
	if v.Block == nil || v.Block.Filter != fmt.Sprint(short.ID) || !v.Block.Expiry.Equal(f.clock.now().AddDate(0, 0, 7)) {
		t.Fatalf("registered user's block %+v", v.Block)
	}
}

// TestBlockedPerformerRefused: after a block, the performer's next action
// is refused before any filter runs, and so is any action from a blocked
// range.
func TestBlockedPerformerRefused(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Vandal", `added_lines contains "VANDAL"`, map[string][]string{"block": {"blocktalk", "1 day", "1 day"}, "rangeblock": {}})
	if v := f.screen(t, edit("192.0.2.77", "VANDAL")); v.Block == nil || len(v.RangeBlocks) != 1 || v.RangeBlocks[0].Target != "192.0.0.0/16" {
		t.Fatalf("verdict %+v", v)
	}
	v := f.screen(t, edit("192.0.2.77", "a harmless edit"))
	if v.Allowed || v.Blocked == nil || v.Conditions != 0 || v.Messages[0].Key != "vigil-blocked" {
		t.Fatalf("blocked performer %+v", v)
	}
	// Another address in the range block.
	if v := f.screen(t, edit("192.0.200.1", "hello")); v.Allowed || v.Blocked == nil || v.Blocked.Target != "192.0.0.0/16" {
		t.Fatalf("address in the range %+v", v)
	}
	// The blocks of addresses are soft: a named account editing from the
	// blocked address is not stopped by them.
	named := edit("192.0.2.77", "hello")
	named.Performer = vigil.Performer{Name: "Alice", ID: 12, Type: "named"}
	if v := f.screen(t, named); !v.Allowed || v.Blocked != nil {
		t.Fatalf("a named user at a blocked address %+v", v)
	}
	// Outside the range, and after the range block expires.
	if v := f.screen(t, edit("198.51.100.1", "hello")); !v.Allowed {
		t.Fatalf("outside the range %+v", v)
	}
	f.clock.add(8 * 24 * time.Hour)
	f.engine.Invalidate()
	if v := f.screen(t, edit("192.0.200.1", "hello")); !v.Allowed {
		t.Fatalf("after the blocks expired %+v", v)
	}
}

// TestEmergencyThrottle: a filter changed recently that matches more than
// 2 actions and more than 5% of those checked loses its block (not its
// disallow); saving it again lifts that. As in AbuseFilter, the check
// after an action counts the actions before it, so the fourth match
// throttles the filter and the fifth is the first without a block.
func TestEmergencyThrottle(t *testing.T) {
	f := newFixture(t, screen.Config{})
	flt := f.filter(t, "Too broad", `added_lines contains "a"`, map[string][]string{"block": {"noTalkBlockSet", "1 hour", "1 hour"}, "disallow": {}})
	for i := range 5 {
		v := f.screen(t, edit(fmt.Sprintf("198.51.100.%d", i+1), "a"))
		if i < 4 && v.Block == nil {
			t.Fatalf("action %d: no block before the throttle: %+v", i+1, v)
		}
		if i == 4 && (v.Block != nil || v.Allowed || v.Messages[0].Consequence != "disallow") {
			t.Fatalf("action 5 after the throttle: %+v", v)
		}
	}
	got, _ := f.store.FindFilter(ctx, flt.ID)
	if !got.Throttled {
		t.Fatal("the filter was not marked throttled")
	}
	if err := f.store.UpdateFilter(ctx, got, "fixer", "narrower"); err != nil {
		t.Fatal(err)
	}
	f.engine.Invalidate()
	if v := f.screen(t, edit("198.51.100.9", "a")); v.Block == nil {
		t.Fatal("saving the filter did not lift the throttle")
	}
}

// TestEmergencyThrottleRatio: the actions a filter did not match count
// too: after 60 of them, 4 matches out of 63 actions before the fifth
// (4.8 %) are not enough, 4 out of 64 (6.3 %) are, so the sixth match is
// the first without a block.
func TestEmergencyThrottleRatio(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Broad", `added_lines contains "a"`, map[string][]string{"block": {"noTalkBlockSet", "1 hour", "1 hour"}, "disallow": {}})
	for i := range 60 {
		if v := f.screen(t, edit(fmt.Sprintf("198.51.100.%d", i+1), "b")); len(v.Matches) != 0 {
			t.Fatalf("action %d matched: %+v", i+1, v)
		}
	}
	for i := range 6 {
		v := f.screen(t, edit(fmt.Sprintf("203.0.113.%d", i+1), "a"))
		if blocked := v.Block != nil; blocked != (i < 5) {
			t.Fatalf("match %d: blocked %v, want %v: %+v", i+1, blocked, i < 5, v)
		}
	}
}

func TestLogOnlyFilter(t *testing.T) {
	f := newFixture(t, screen.Config{})
	flt := f.filter(t, "Shadow", `true`, map[string][]string{"disallow": {}})
	flt.LogOnly = true
	if err := f.store.UpdateFilter(ctx, flt, "a", "shadow"); err != nil {
		t.Fatal(err)
	}
	f.engine.Invalidate()
	v := f.screen(t, edit("192.0.2.1", "x"))
	// Allowed, nothing shown; the log says what it would have done.
	if !v.Allowed || len(v.Messages) != 0 || len(v.Matches) != 1 || !v.Matches[0].LogOnly ||
		!slices.Equal(v.Matches[0].Actions, []string{"disallow"}) {
		t.Fatalf("verdict %+v", v)
	}
	log, _ := f.store.QueryLog(ctx, vigil.LogQuery{})
	if len(log) != 1 || !log[0].LogOnly || !slices.Equal(log[0].ActionsTaken, []string{"disallow"}) {
		t.Fatalf("log %+v", log)
	}
}

// TestObserve screens actions that already happened: every filter is
// dry, no block is placed, no throttle counted, and the log says what
// would have been done.
func TestObserve(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Blocker", `added_lines contains "casino"`, map[string][]string{"block": {"blocktalk", "1 day", "1 week"}, "tag": {"spam"}})
	f.filter(t, "Throttled", `added_lines contains "casino"`, map[string][]string{"throttle": {"2", "2,60", "ip"}, "disallow": {}})
	// The throttle counts observed actions as the live one would (apart):
	// twice absorbed, then it would disallow.
	wantThrottled := [][]string{{"throttle"}, {"throttle"}, {"disallow"}}
	for i := range 3 {
		v, err := f.engine.ScreenWith(ctx, edit("192.0.2.9", "casino"), screen.ScreenOptions{Observe: true})
		if err != nil {
			t.Fatal(err)
		}
		if !v.Allowed || v.Block != nil || len(v.Tags) != 0 || len(v.Messages) != 0 || len(v.Matches) != 2 ||
			!slices.Equal(v.Matches[0].Actions, []string{"tag", "block"}) ||
			!slices.Equal(v.Matches[1].Actions, wantThrottled[i]) {
			t.Fatalf("observed verdict %d: %+v", i, v)
		}
	}
	if b, _ := f.store.ActiveBlocks(ctx, "enwiki", f.clock.now()); len(b) != 0 {
		t.Fatalf("a block was placed: %+v", b)
	}
	log, _ := f.store.QueryLog(ctx, vigil.LogQuery{})
	if len(log) != 4 || !log[0].LogOnly || !log[3].LogOnly { // 3 blocker entries, 1 would-be disallow
		t.Fatalf("log %+v", log)
	}
	// Live, the throttle starts from zero (observed counts are apart), and
	// the blocker blocks.
	v := f.screen(t, edit("192.0.2.9", "casino"))
	if v.Allowed || v.Block == nil || !slices.Contains(v.Throttled, "2") {
		t.Fatalf("live verdict %+v", v)
	}
}

func TestGlobalFilters(t *testing.T) {
	f := newFixture(t, screen.Config{})
	local := f.filter(t, "Local", `true`, map[string][]string{"tag": {"local"}})
	g := &vigil.Filter{Wiki: "metawiki", Name: "Global", Pattern: `true`, Enabled: true, Global: true,
		Actions: map[string][]string{"tag": {"global"}}}
	g.Normalize()
	if err := f.store.CreateFilter(ctx, g, "a", ""); err != nil {
		t.Fatal(err)
	}
	other := &vigil.Filter{Wiki: "dewiki", Name: "Other wiki", Pattern: `true`, Enabled: true, Actions: map[string][]string{}}
	other.Normalize()
	f.store.CreateFilter(ctx, other, "a", "")
	f.engine.Invalidate()
	v := f.screen(t, edit("192.0.2.1", "x"))
	want := []string{fmt.Sprint(local.ID), fmt.Sprint("global-", g.ID)}
	var got []string
	for _, m := range v.Matches {
		got = append(got, m.Filter)
	}
	if !slices.Equal(got, want) || fmt.Sprint(v.Tags) != "[local global]" {
		t.Fatalf("matches %v tags %v, want %v", got, v.Tags, want)
	}
}

func TestConditionLimitTag(t *testing.T) {
	f := newFixture(t, screen.Config{CondLimit: 3})
	for i := range 5 {
		f.filter(t, fmt.Sprint("F", i), `page_namespace == 0 & page_id == 7`, map[string][]string{})
	}
	v := f.screen(t, edit("192.0.2.1", "x"))
	if !v.ConditionLimitHit || !slices.Contains(v.Tags, screen.ConditionLimitTag) || len(v.Matches) != 1 {
		t.Fatalf("verdict %+v", v)
	}
}

func TestInvalidAction(t *testing.T) {
	f := newFixture(t, screen.Config{})
	tests := []struct {
		mutate func(a *vigil.Action)
		field  string
	}{
		{func(a *vigil.Action) { a.Wiki = "" }, "wiki"},
		{func(a *vigil.Action) { a.Action = "dance" }, "action"},
		{func(a *vigil.Action) { a.Performer.Name = "not an ip" }, "performer.name"},
		{func(a *vigil.Action) { a.IP = "999.1.1.1" }, "ip"},
		{func(a *vigil.Action) { a.Page = nil }, "page"},
		{func(a *vigil.Action) { a.Summary = ptr("bad \xff utf-8") }, "summary"},
		{func(a *vigil.Action) { a.NewWikitext = ptr("nul \x00 byte") }, "new_wikitext"},
		{func(a *vigil.Action) { a.Page.Restrictions = map[string][]string{"dance": {"x"}} }, "page.restrictions"},
	}
	for _, tt := range tests {
		a := edit("192.0.2.1", "x")
		tt.mutate(a)
		_, err := f.engine.Screen(ctx, a)
		var ve *vigil.Error
		if vigil.ErrorCode(err) != vigil.EINVALID || !errorsAs(err, &ve) || ve.Field != tt.field {
			t.Errorf("%s: %v", tt.field, err)
		}
	}
}

// TestVacantKept: the refusal of a wiki Vigil knows nothing of, and the
// empty set of a group without filters, are kept until the filters change,
// so that ids a caller makes up cost no database query per action and no
// memory that grows; a filter saved meanwhile by another process is seen
// at the next generation check.
func TestVacantKept(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Any", `true`, map[string][]string{"tag": {"seen"}})
	unknownWiki := edit("192.0.2.1", "x")
	unknownWiki.Wiki = "nosuchwiki"
	otherGroup := edit("192.0.2.1", "x")
	otherGroup.Group = "nosuchgroup"
	var ve *vigil.Error
	if _, err := f.engine.Screen(ctx, unknownWiki); !errorsAs(err, &ve) || ve.Field != "wiki" {
		t.Fatalf("unknown wiki: %v", err)
	}
	if v := f.screen(t, otherGroup); len(v.Tags) != 0 {
		t.Fatalf("group without filters: tags %v", v.Tags)
	}
	// Saved as by another process: this one is not told.
	for _, flt := range []*vigil.Filter{
		{Wiki: "nosuchwiki", Name: "Now known", Pattern: `true`, Enabled: true, Actions: map[string][]string{"tag": {"known"}}},
		{Wiki: "enwiki", Group: "nosuchgroup", Name: "Now in the group", Pattern: `true`, Enabled: true, Actions: map[string][]string{"tag": {"grouped"}}},
	} {
		flt.Normalize()
		if err := f.store.CreateFilter(ctx, flt, "tester", ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.engine.Screen(ctx, unknownWiki); !errorsAs(err, &ve) || ve.Field != "wiki" {
		t.Fatalf("unknown wiki again, before the generation check: %v (the refusal was not kept)", err)
	}
	if v := f.screen(t, otherGroup); len(v.Tags) != 0 {
		t.Fatalf("group again, before the generation check: tags %v (the empty set was not kept)", v.Tags)
	}
	f.engine.CheckGeneration(ctx)
	v, err := f.engine.Screen(ctx, unknownWiki)
	if err != nil || fmt.Sprint(v.Tags) != "[known]" {
		t.Fatalf("wiki after the generation check: %+v, %v", v, err)
	}
	if v := f.screen(t, otherGroup); fmt.Sprint(v.Tags) != "[grouped]" {
		t.Fatalf("group after the generation check: tags %v", v.Tags)
	}

	// Many made-up ids: what is kept stays bounded.
	setsBefore, _, listsBefore := f.engine.Kept()
	for i := range screen.MaxVacant + 10 {
		a := edit("192.0.2.1", "x")
		a.Wiki = fmt.Sprint("wrong", i)
		if _, err := f.engine.Screen(ctx, a); vigil.ErrorCode(err) != vigil.EINVALID {
			t.Fatalf("wiki %s: %v", a.Wiki, err)
		}
		a = edit("192.0.2.1", "x")
		a.Group = fmt.Sprint("made-up", i)
		f.screen(t, a)
	}
	if sets, vacant, lists := f.engine.Kept(); sets != setsBefore || vacant == 0 || vacant > screen.MaxVacant || lists != listsBefore {
		t.Fatalf("%d sets kept (%d before), %d vacancies (want 1 to %d), block lists of %d wikis (%d before)",
			sets, setsBefore, vacant, screen.MaxVacant, lists, listsBefore)
	}
}

func errorsAs(err error, target **vigil.Error) bool {
	e, ok := err.(*vigil.Error)
	if ok {
		*target = e
	}
	return ok
}

// TestDatabaseDownSpools: with the database gone, verdicts still come
// from the compiled filters, and the log entries wait in the spool until
// the database is back.
func TestDatabaseDownSpools(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"disallow": {}})
	f.screen(t, edit("192.0.2.1", "hello")) // compiles the filters
	f.store.Close()
	v := f.screen(t, edit("192.0.2.2", "casino"))
	if v.Allowed || !v.LogSpooled || !f.engine.SpoolPending() {
		t.Fatalf("with the database down: %+v", v)
	}
	// The database comes back (a new connection to the same file).
	s2, err := sqlite.Open(ctx, filepath.Join(f.dir, "vigil.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	sp, _ := spool.Open(filepath.Join(f.dir, "spool"))
	e2 := screen.New(s2, screen.Config{}, screen.Options{Spool: sp, Recent: screen.RecentConfig{Disabled: true}})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e2.Run(runCtx); close(done) }()
	deadline := time.Now().Add(10 * time.Second)
	for e2.SpoolPending() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	log, _ := s2.QueryLog(ctx, vigil.LogQuery{})
	if len(log) != 1 || log[0].Performer != "192.0.2.2" || fmt.Sprint(log[0].ActionsTaken) != "[disallow]" {
		t.Fatalf("log after recovery %+v", log)
	}
}

// TestConcurrentDumps: actions screened at the same time, whose log
// entries are written together, each keep their own variable dump (the
// dumps' buffers are reused once written).
func TestConcurrentDumps(t *testing.T) {
	f := newFixture(t, screen.Config{})
	f.filter(t, "Casino", `added_lines irlike "casino"`, map[string][]string{"tag": {"casino"}})
	f.filter(t, "Casino 2", `added_lines contains "casino"`, map[string][]string{"tag": {"casino2"}})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				ip := fmt.Sprintf("192.0.2.%d", w*each+i+1)
				// Pages of different sizes, so that buffers are reused at
				// other lengths.
				text := strings.Repeat("x", (w*each+i)%7*300) + "casino " + ip
				if _, err := f.engine.Screen(ctx, edit(ip, text)); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	log, err := f.store.QueryLog(ctx, vigil.LogQuery{Limit: 1000})
	if err != nil || len(log) != 2*workers*each {
		t.Fatalf("%d log entries, %v", len(log), err)
	}
	for _, e := range log {
		var vars struct {
			AddedLines []string `json:"added_lines"`
		}
		if err := json.Unmarshal(e.Vars, &vars); err != nil {
			t.Fatalf("entry %d: %v in %.100s", e.ID, err, e.Vars)
		}
		if len(vars.AddedLines) != 1 || !strings.HasSuffix(vars.AddedLines[0], "casino "+e.Performer) {
			t.Fatalf("entry %d by %s holds another action's dump: %.80q", e.ID, e.Performer, vars.AddedLines)
		}
	}
}
