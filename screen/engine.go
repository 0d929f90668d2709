// Package screen is Vigil's screening engine: it runs the enabled filters
// of a wiki over each action, as AbuseFilter's FilterRunner does, and turns
// the matches into AbuseFilter's consequences (throttle, warn, disallow,
// tag, block, rangeblock, degroup, blockautopromote) with AbuseFilter
// 1.39's rules, records the matches in the abuse log before it answers,
// and keeps per-filter statistics.
package screen

import (
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilwiki/vigil"
	"github.com/vigilwiki/vigil/internal/gcburst"
	"github.com/vigilwiki/vigil/rules"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
	"github.com/vigilwiki/vigil/spool"
)

// Config tunes the engine; zero fields take AbuseFilter's defaults.
type Config struct {
	CondLimit int           // AbuseFilter's $wgAbuseFilterConditionLimit; default 1000
	Budget    time.Duration // Vigil's runtime budget per action; default 100ms
	// The emergency throttle ($wgAbuseFilterEmergencyDisable*): a filter
	// saved less than EmergencyAge ago that matched more than
	// EmergencyCount actions and more than EmergencyThreshold of those
	// checked loses its dangerous consequences until saved again.
	EmergencyThreshold float64
	EmergencyCount     int64
	EmergencyAge       time.Duration
	WarnTTL            time.Duration // how long a "warned" mark lasts; default 24h
	// ProfileEvery times each filter on one action in this many (timing
	// every filter of every action costs two clock reads per filter).
	ProfileEvery int
	// SlowFilter logs a filter that takes longer than this on an action
	// (AbuseFilter's $wgAbuseFilterSlowFilterRuntimeLimit: 500ms).
	SlowFilter time.Duration
	// ProtectedMaxAge is how long the abuse log keeps an entry's protected
	// data (IP address, user agent, protected variables): AbuseFilter's
	// $wgAbuseFilterLogIPMaxAge, 90 days by default; negative: for ever.
	ProtectedMaxAge time.Duration
	// TestTimeLimit bounds one filter test (Engine.TestRule), which then
	// answers with the actions it has tested; default 30s.
	TestTimeLimit time.Duration
	Wikis         map[string]WikiConfig
}

func (c *Config) defaults() {
	c.CondLimit = cmp.Or(c.CondLimit, rules.DefaultCondLimit)
	c.Budget = cmp.Or(c.Budget, 100*time.Millisecond)
	c.EmergencyThreshold = cmp.Or(c.EmergencyThreshold, 0.05)
	c.EmergencyCount = cmp.Or(c.EmergencyCount, 2)
	c.EmergencyAge = cmp.Or(c.EmergencyAge, 24*time.Hour)
	c.WarnTTL = cmp.Or(c.WarnTTL, 24*time.Hour)
	c.ProfileEvery = cmp.Or(c.ProfileEvery, 8)
	c.SlowFilter = cmp.Or(c.SlowFilter, 500*time.Millisecond)
	c.ProtectedMaxAge = cmp.Or(c.ProtectedMaxAge, 90*24*time.Hour)
	c.TestTimeLimit = cmp.Or(c.TestTimeLimit, DefaultTestTimeLimit)
}

// DefaultTestTimeLimit is Config.TestTimeLimit's default.
const DefaultTestTimeLimit = 30 * time.Second

// Engine screens actions. It is safe for concurrent use.
type Engine struct {
	cfg         Config
	store       vigil.Store
	recentStore vigil.RecentStore // the window of recent actions; often store itself
	log         *slog.Logger
	now         func() time.Time
	counters    Counters
	warned      Flags
	spool       *spool.Spool
	stats       *Stats
	recent      *recentWriter
	commit      *committer

	mu       sync.RWMutex
	sets     map[setKey]*filterSet
	building map[setKey]*setBuild // sets being compiled on first use
	// vacant holds, until the next refresh (a filter saved anywhere may
	// change them), what a wiki and group the caller names lead to when
	// they name no filters: the refusal of a wiki Vigil knows nothing of,
	// or a set without filters (a group with none). The caller makes these
	// keys up, so they are bounded, and kept apart from sets: a wrong wiki
	// id cost two database queries per action, and each made-up group a
	// set kept, and compiled anew at every refresh, forever.
	vacant     map[setKey]vacancy
	epoch      uint64 // counts refreshes: a build begun before one is stale
	generation int64
	blocks     map[string]*blockList // by wiki
	// refreshMu makes refreshes take turns, so that the last one to
	// start is the last to swap its sets in.
	refreshMu sync.Mutex

	emergMu sync.Mutex
	emerg   map[emergKey]*emergCount

	// tests bounds the filter tests that run at once (see TestRule).
	tests chan struct{}

	profileTick uint64

	purge purgeStatus
}

type setKey struct{ wiki, group string }

// setBuild is a filter set being compiled; requests that need it
// meanwhile wait for it instead of compiling their own copy.
type setBuild struct {
	done chan struct{}
	fs   *filterSet
	err  error
}

// filterSet is the compiled filters of one wiki and group: local ones,
// then global ones, in id order.
type filterSet struct {
	set     *rules.Set
	filters []*vigil.Filter
	names   []string // "12", or "global-12" for another wiki's global filter
	cons    []*Consequences
	stats   []*filterStats // each filter's statistics, by index
	// emerg counts each local filter version's actions for the emergency
	// throttle (nil for global filters), shared with the sets built before
	// and after this one.
	emerg []*emergCount
}

type emergKey struct {
	id      int64
	version int
}

// emergCount is counted by every action at once, without a lock.
type emergCount struct {
	total, matches atomic.Int64
	throttled      atomic.Bool // this version has been throttled
}

// Options are the engine's dependencies beyond the store.
type Options struct {
	Logger   *slog.Logger
	Now      func() time.Time
	Counters Counters
	Warned   Flags
	Spool    *spool.Spool // where log entries wait when the database is down; nil: none
	Recent   RecentConfig
	// RecentStore keeps the recent-action window; nil: the store.
	RecentStore vigil.RecentStore
}

// New returns an engine over store.
func New(store vigil.Store, cfg Config, opts Options) *Engine {
	cfg.defaults()
	e := &Engine{
		cfg: cfg, store: store, log: opts.Logger, now: opts.Now, counters: opts.Counters, warned: opts.Warned,
		spool: opts.Spool, sets: map[setKey]*filterSet{}, building: map[setKey]*setBuild{}, vacant: map[setKey]vacancy{}, blocks: map[string]*blockList{}, emerg: map[emergKey]*emergCount{},
		tests: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)),
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.counters == nil {
		e.counters = NewMemCounters()
	}
	if e.warned == nil {
		e.warned = NewMemFlags()
	}
	e.stats = newStats()
	e.commit = &committer{store: store}
	e.recentStore = opts.RecentStore
	if e.recentStore == nil {
		e.recentStore = store
	}
	e.recent = newRecentWriter(e.recentStore, opts.Recent, e.log, e.now)
	return e
}

// Invalidate recompiles every filter set in use and drops the cached
// blocks: actions screened once it returns see any change made before it
// was called. Until each new set is compiled, actions use the previous one
// instead of waiting or compiling their own. FilterChanged and
// BlocksChanged do less, when what changed is known.
func (e *Engine) Invalidate() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.refresh(ctx, nil)
	e.BlocksChanged()
}

// FilterChanged recompiles, before it returns, the sets in use that a
// change of one filter through this process touches: before is the filter
// as it was (nil for a new one), after as it is now. A set is touched when
// it is of the filter's group and its wiki's, or of any wiki for a global
// filter. Actions screened once it returns see the change. The other sets
// are left as they are, unless another process changed filters too: then
// the periodic check recompiles them in the background (see refresh).
func (e *Engine) FilterChanged(before, after *vigil.Filter) {
	touched := func(k setKey) bool {
		for _, f := range []*vigil.Filter{before, after} {
			if f != nil && k.group == cmp.Or(f.Group, vigil.DefaultGroup) && (k.wiki == f.Wiki || f.Global) {
				return true
			}
		}
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.refresh(ctx, touched)
}

// BlocksChanged drops the cached blocks after a block was placed or lifted
// through this process.
func (e *Engine) BlocksChanged() {
	e.mu.Lock()
	e.blocks = map[string]*blockList{}
	e.mu.Unlock()
}

// refresh compiles anew the filter sets in use (those only) and swaps each
// in, and records the filters' generation they are current for.
func (e *Engine) refresh(ctx context.Context, only func(setKey) bool) {
	e.refreshMu.Lock()
	defer e.refreshMu.Unlock()
	// The generation first: a change made while compiling moves it
	// again, and the next check compiles once more.
	g, genErr := e.store.FiltersGeneration(ctx)
	e.mu.Lock()
	e.epoch++
	clear(e.vacant)
	var keys []setKey
	for k := range e.sets {
		if only == nil || only(k) {
			keys = append(keys, k)
		}
	}
	// Each save moves the generation by one. A partial refresh follows one
	// save of this process's; when it is the only one since the sets were
	// last all current, the sets it does not touch are current too, and
	// the periodic check need not recompile them.
	current := genErr == nil && (only == nil || g == e.generation+1)
	e.mu.Unlock()
	for _, k := range keys {
		fs, err := e.compileSet(ctx, k.wiki, k.group)
		e.mu.Lock()
		switch {
		case err == nil:
			e.sets[k] = fs
		case vigil.ErrorCode(err) == vigil.EUNAVAILABLE || ctx.Err() != nil:
			// The database is down: screen with the filters as they were,
			// and try again at the next check.
			current = false
		default:
			// The wiki has gone (its last filter deleted): its next
			// action says so.
			delete(e.sets, k)
		}
		e.mu.Unlock()
		if err != nil {
			e.log.Warn("filters not recompiled", "wiki", k.wiki, "group", k.group, "err", err)
		}
	}
	if current {
		e.mu.Lock()
		e.generation = g
		e.mu.Unlock()
	}
}

// Run does the engine's background work until ctx ends: noticing filter
// changes made by other instances, refreshing blocks, draining the spool
// into the database, flushing statistics and the recent-action window,
// purging expired protected data.
func (e *Engine) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); e.recent.run(ctx) }()
	wg.Add(1)
	go func() { defer wg.Done(); e.runPurges(ctx) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	flush := time.NewTicker(10 * time.Second)
	defer flush.Stop()
	for {
		select {
		case <-ctx.Done():
			// Last flushes with a short deadline of their own.
			fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			e.flushStats(fctx)
			e.drainSpool(fctx)
			cancel()
			wg.Wait()
			return
		case <-tick.C:
			e.checkGeneration(ctx)
			e.drainSpool(ctx)
		case <-flush.C:
			e.flushStats(ctx)
			e.mu.Lock()
			e.blocks = map[string]*blockList{} // reread blocks other instances placed
			e.mu.Unlock()
		}
	}
}

// checkGeneration notices filter changes made by other instances and
// recompiles the sets in use, while actions go on with the previous ones.
func (e *Engine) checkGeneration(ctx context.Context) {
	g, err := e.store.FiltersGeneration(ctx)
	if err != nil {
		return // the database is down: keep screening with what we have
	}
	e.mu.RLock()
	changed := g != e.generation
	e.mu.RUnlock()
	if changed {
		e.refresh(ctx, nil)
	}
}

// filterSetFor returns the compiled filters of a wiki's group, compiling
// them on first use: once, however many actions arrive meanwhile.
func (e *Engine) filterSetFor(ctx context.Context, wiki, group string) (*filterSet, error) {
	k := setKey{wiki, group}
	e.mu.RLock()
	fs := e.sets[k]
	var vacant vacancy
	if fs == nil {
		vacant = e.vacant[k]
	}
	e.mu.RUnlock()
	if fs != nil {
		return fs, nil
	}
	if vacant.fs != nil || vacant.err != nil {
		return vacant.fs, vacant.err
	}
	e.mu.Lock()
	if fs := e.sets[k]; fs != nil {
		e.mu.Unlock()
		return fs, nil
	}
	if b := e.building[k]; b != nil {
		e.mu.Unlock()
		select {
		case <-b.done:
			return b.fs, b.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	b := &setBuild{done: make(chan struct{})}
	e.building[k] = b
	epoch := e.epoch
	e.mu.Unlock()
	// Others wait on this build: one caller's cancellation must not fail them.
	b.fs, b.err = e.compileSet(context.WithoutCancel(ctx), wiki, group)
	e.mu.Lock()
	delete(e.building, k)
	switch {
	case e.epoch != epoch:
	case b.err == nil && len(b.fs.filters) > 0:
		e.sets[k] = b.fs
	case b.err == nil || vigil.ErrorCode(b.err) == vigil.EINVALID: // no filters, or an unknown wiki (knownWiki)
		if len(e.vacant) >= maxVacant {
			clear(e.vacant) // many made-up ids: forget them rather than grow
		}
		e.vacant[k] = vacancy{b.fs, b.err}
	}
	e.mu.Unlock()
	close(b.done)
	return b.fs, b.err
}

// compileSet loads and compiles the enabled filters of a wiki's group.
func (e *Engine) compileSet(ctx context.Context, wiki, group string) (*filterSet, error) {
	filters, err := e.store.ListFilters(ctx, vigil.FilterQuery{Wiki: wiki, WithGlobal: true, Group: group, EnabledOnly: true})
	if err != nil {
		return nil, fmt.Errorf("load filters of %s/%s: %w", wiki, group, err)
	}
	if err := e.knownWiki(ctx, wiki, filters); err != nil {
		return nil, err
	}
	// Local filters first, then global ones, as FilterRunner runs them.
	slices.SortStableFunc(filters, func(a, b *vigil.Filter) int {
		return cmp.Compare(boolInt(a.Wiki != wiki), boolInt(b.Wiki != wiki))
	})
	fs := &filterSet{}
	var srcs []rules.FilterSource
	for _, f := range filters {
		c, err := ParseConsequences(f.Actions)
		if err != nil {
			e.log.Warn("filter left out: its actions are invalid", "filter", f.ID, "err", err)
			continue
		}
		name := strconv.FormatInt(f.ID, 10)
		if f.Wiki != wiki {
			name = "global-" + name
		}
		srcs = append(srcs, rules.FilterSource{ID: name, Pattern: f.Pattern})
		fs.filters = append(fs.filters, f)
		fs.names = append(fs.names, name)
		fs.cons = append(fs.cons, c)
	}
	var set *rules.Set
	var rejected []rules.CompileError
	gcburst.Run(func() { set, rejected = rules.NewSet(srcs) })
	for _, r := range rejected {
		e.log.Warn("filter left out: its rule does not compile", "filter", r.ID, "err", r.Err.Format(""))
		i := slices.Index(fs.names, r.ID)
		fs.filters = slices.Delete(fs.filters, i, i+1)
		fs.names = slices.Delete(fs.names, i, i+1)
		fs.cons = slices.Delete(fs.cons, i, i+1)
	}
	fs.set = set
	fs.stats = e.stats.lookup(fs.filters)
	fs.emerg = e.emergCounts(fs.filters, fs.names)
	return fs, nil
}

// emergCounts returns the emergency throttle's counts of each local
// filter's version, by index: found once per set rather than once per
// filter and action.
func (e *Engine) emergCounts(filters []*vigil.Filter, names []string) []*emergCount {
	e.emergMu.Lock()
	defer e.emergMu.Unlock()
	if len(e.emerg) > 100000 {
		clear(e.emerg) // bounded: the sets in use keep theirs
	}
	out := make([]*emergCount, len(filters))
	for i, f := range filters {
		if strings.HasPrefix(names[i], "global-") {
			continue
		}
		k := emergKey{f.ID, f.Version}
		c := e.emerg[k]
		if c == nil {
			c = &emergCount{}
			e.emerg[k] = c
		}
		out[i] = c
	}
	return out
}

// knownWiki refuses a wiki Vigil knows nothing of: not configured, and
// without filters of its own (a typo in the caller's configuration should
// not pass every action unscreened).
func (e *Engine) knownWiki(ctx context.Context, wiki string, enabled []*vigil.Filter) error {
	if _, ok := e.cfg.Wikis[wiki]; ok {
		return nil
	}
	for _, f := range enabled {
		if f.Wiki == wiki {
			return nil
		}
	}
	all, err := e.store.ListFilters(ctx, vigil.FilterQuery{Wiki: wiki, IncludeDeleted: true})
	if err != nil {
		return fmt.Errorf("load filters of %s: %w", wiki, err)
	}
	if len(all) == 0 {
		return vigil.FieldError("wiki", "unknown wiki %q: it has no filters and is not in the configuration", wiki)
	}
	return nil
}

// vacancy is what a wiki and group without filters lead to (Engine.vacant).
type vacancy struct {
	fs  *filterSet
	err error
}

// maxVacant bounds Engine.vacant.
const maxVacant = 1024

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Verdict is the answer to an action.
type Verdict struct {
	Allowed  bool      `json:"allowed"`
	Messages []Message `json:"messages"`
	// Tags to put on the action's recent change.
	Tags []string `json:"tags"`
	// Block is the block placed on the performer, if any.
	Block            *BlockDecision   `json:"block,omitempty"`
	RangeBlocks      []*BlockDecision `json:"range_blocks,omitempty"`
	BlockAutopromote *Autopromote     `json:"block_autopromote,omitempty"`
	Degroup          *DegroupDecision `json:"degroup,omitempty"`
	// Blocked is set when the performer was already blocked by Vigil: no
	// filter ran.
	Blocked *vigil.Block `json:"blocked,omitempty"`
	Matches []Match      `json:"matches"`
	// Throttled names the filters that matched but whose throttle
	// absorbed the match.
	Throttled            []string `json:"throttled"`
	Conditions           int      `json:"conditions"`
	ConditionLimitHit    bool     `json:"condition_limit_reached"`
	BudgetExceeded       bool     `json:"budget_exceeded"`
	LogSpooled           bool     `json:"log_spooled,omitempty"` // the database was down: the log entries wait in the spool
	DurationMicroseconds int64    `json:"duration_us"`
	// Where the time went: running the filters, and writing the abuse
	// log durably (waiting for a batch under way included; absent when
	// nothing was logged). The rest is blocks, throttles and the dump.
	FiltersMicroseconds int64 `json:"filters_us"`
	LogMicroseconds     int64 `json:"log_us,omitempty"`
}

// Logged reports whether the action wrote abuse-log entries (or spooled
// them).
func (v *Verdict) Logged() bool {
	return v.LogSpooled || slices.ContainsFunc(v.Matches, func(m Match) bool { return m.LogID != 0 })
}

// Message is a message to show the user, as AbuseFilter's hook status
// carries it: a MediaWiki message key and its parameters (the filter's
// description and name; blockautopromote adds a duration in seconds).
type Message struct {
	Key    string   `json:"key"`
	Params []string `json:"params"`
	Filter string   `json:"filter"`
	// Consequence is what produced the message: warn, disallow, block,
	// rangeblock, degroup, blockautopromote.
	Consequence string `json:"consequence"`
	// Code is AbuseFilter's API error code: "abusefilter-warning" when
	// the filter only warned, else "abusefilter-disallowed".
	Code string `json:"code"`
}

// Match is one filter that matched.
type Match struct {
	Filter      string   `json:"filter"`
	ID          int64    `json:"id"`
	Description string   `json:"description"`
	Actions     []string `json:"actions"` // the consequences taken
	LogOnly     bool     `json:"log_only,omitempty"`
	LogID       int64    `json:"log_id,omitempty"`
}

// BlockDecision is a block Vigil placed.
type BlockDecision struct {
	Target     string    `json:"target"`
	Expiry     time.Time `json:"expiry,omitzero"` // zero: indefinite
	Indefinite bool      `json:"indefinite"`
	TalkAccess bool      `json:"talk_access"`
	Autoblock  bool      `json:"autoblock"`
	Filter     string    `json:"filter"`
	Reason     string    `json:"reason"`
	// Placed is false when the target was already blocked: the existing
	// block stays, as in MediaWiki.
	Placed bool `json:"placed"`
}

// Autopromote is a blockautopromote: the user is not promoted for the
// duration.
type Autopromote struct {
	User    string `json:"user"`
	Seconds int64  `json:"seconds"`
	Filter  string `json:"filter"`
}

// DegroupDecision removes the user from these groups.
type DegroupDecision struct {
	User   string   `json:"user"`
	Groups []string `json:"groups"`
	Filter string   `json:"filter"`
}

// implicitGroups are never removed by degroup.
var implicitGroups = map[string]bool{"*": true, "user": true, "autoconfirmed": true, "named": true, "temp": true}

// ScreenOptions change how an action is screened.
type ScreenOptions struct {
	// Observe screens an action that already happened (a wiki followed
	// from outside): every filter runs as if it were log-only. Matches are
	// logged with what they would have done; nothing is enforced, no
	// block placed, no throttle or warning counted, and the emergency
	// throttle does not count the action.
	Observe bool
}

// Screen screens one action. It returns EINVALID for a bad action, and
// EUNAVAILABLE when the database is down and neither the filters nor the
// spool can be reached.
func (e *Engine) Screen(ctx context.Context, a *vigil.Action) (*Verdict, error) {
	return e.ScreenWith(ctx, a, ScreenOptions{})
}

// ScreenWith screens one action with options.
func (e *Engine) ScreenWith(ctx context.Context, a *vigil.Action, opts ScreenOptions) (*Verdict, error) {
	start := e.now()
	a.Normalize(start)
	if err := a.Validate(); err != nil {
		return nil, err
	}
	v := &Verdict{Allowed: true, Messages: []Message{}, Tags: []string{}, Matches: []Match{}, Throttled: []string{}}
	defer func() { v.DurationMicroseconds = e.now().Sub(start).Microseconds() }()
	// The set first: a wiki Vigil does not know is refused from memory
	// (see vacant), before any block list is read for it.
	fs, err := e.filterSetFor(ctx, a.Wiki, a.Group)
	if err != nil {
		return nil, err
	}

	if b := e.blockedBy(ctx, a); b != nil && !opts.Observe {
		shown := *b
		shown.Indefinite = b.Expiry.IsZero()
		v.Allowed, v.Blocked = false, &shown
		v.Messages = append(v.Messages, Message{Key: "vigil-blocked", Params: []string{b.Reason, blockExpiryText(b.Expiry)},
			Consequence: Block, Code: "abusefilter-disallowed"})
		return v, nil
	}

	w := e.wikiConfig(a.Wiki)
	vs := Variables(a, &w)
	profile := e.nextProfile()
	var res rules.Result
	ran := e.now()
	fs.set.RunInto(&res, vs, rules.RunOptions{CondLimit: e.cfg.CondLimit, Budget: e.cfg.Budget, Profile: profile})
	v.FiltersMicroseconds = e.now().Sub(ran).Microseconds()
	v.Conditions, v.ConditionLimitHit = res.Conds, res.LimitReached
	if res.Conds > e.cfg.CondLimit {
		v.Tags = append(v.Tags, ConditionLimitTag)
	}
	e.stats.record(fs, &res, profile, e.cfg.SlowFilter, e.log, a.Wiki)

	// Which filters matched, and what they do.
	var matched []int
	for i, r := range res.Filters {
		if r.Err != nil && r.Err.Code == syntax.ErrBudget {
			v.BudgetExceeded = true
		}
		if r.Matched {
			matched = append(matched, i)
		}
	}
	if len(matched) == 0 {
		if !opts.Observe {
			e.emergency(ctx, fs, &res, nil, start)
		}
		e.recent.add(a)
		return v, nil
	}
	plans := e.plan(a, fs, matched, start, &w, opts.Observe)
	e.execute(ctx, a, fs, plans, v, start)

	var entries []*vigil.LogEntry
	var entryOf []int
	logged := map[int]bool{}
	dumpBuf := dumpBuffers.Get().(*[]byte)
	dump, protected := varDump(vs, *dumpBuf)
	for k, p := range plans {
		f := fs.filters[p.index]
		m := Match{Filter: fs.names[p.index], ID: f.ID, Description: f.Name, Actions: p.taken, LogOnly: p.dry}
		v.Matches = append(v.Matches, m)
		if len(p.taken) == 1 && p.taken[0] == Throttle {
			v.Throttled = append(v.Throttled, m.Filter)
			continue // AbuseFilter does not log a match its throttle absorbed
		}
		entry := &vigil.LogEntry{Wiki: a.Wiki, FilterID: f.ID, FilterVersion: f.Version, Action: a.Action,
			Performer: logPerformer(a), ActionsTaken: p.taken, LogOnly: p.dry, Vars: dump, Time: start}
		if pg := logPage(a); pg != nil {
			entry.PageNamespace, entry.PageTitle = pg.Namespace, pg.Title
		}
		if a.IP != "" || a.UserAgent != "" || protected != nil {
			entry.Protected = &vigil.ProtectedData{IP: a.IP, UserAgent: a.UserAgent, Vars: protected}
		}
		entries = append(entries, entry)
		entryOf = append(entryOf, k)
		logged[p.index] = true
	}
	written := e.now()
	if err := e.writeLog(ctx, entries); err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		v.LogMicroseconds = e.now().Sub(written).Microseconds()
	}
	// The entries are written (or spooled, as copies): nothing holds the
	// dump any more.
	if cap(dump) <= 4<<20 {
		*dumpBuf = dump[:0]
		dumpBuffers.Put(dumpBuf)
	}
	for i, entry := range entries {
		v.Matches[entryOf[i]].LogID = entry.ID
		if entry.ID == 0 {
			v.LogSpooled = true
		}
	}
	v.Allowed = len(v.Messages) == 0
	if !opts.Observe {
		e.emergency(ctx, fs, &res, logged, start)
	}
	e.recent.add(a)
	return v, nil
}

// plan is what one matched filter does.
type plan struct {
	index int
	run   []string // consequences to execute, in order
	taken []string // those executed
	hit   bool     // its throttle limit was reached (or it has no throttle)
	warn  string   // the warn key
	// dry: the filter is log-only (or the action observed): taken lists
	// what it would have done, and nothing is executed.
	dry bool
}

// plan applies AbuseFilter's consequence rules before anything runs: the
// emergency throttle's skipped consequences, the throttle and warn
// disablers, the longest block, and the disallow a dangerous consequence
// makes redundant (ConsequencesExecutor::getActualConsequencesToExecute).
func (e *Engine) plan(a *vigil.Action, fs *filterSet, matched []int, now time.Time, w *WikiConfig, observe bool) []*plan {
	var plans []*plan
	for _, i := range matched {
		f, c := fs.filters[i], fs.cons[i]
		p := &plan{index: i, hit: true, dry: f.LogOnly || observe}
		plans = append(plans, p)
		for _, name := range c.Names {
			if f.Throttled && dangerous[name] {
				continue
			}
			p.run = append(p.run, name)
		}
		if slices.Contains(p.run, Throttle) {
			p.hit = false
			for _, g := range c.Throttle.Groups {
				if e.counters.Get(p.throttleKey(a, fs.names[i], c.Throttle, g, w), now)+1 > c.Throttle.Count {
					p.hit = true
				}
			}
			if !p.hit {
				p.run = []string{Throttle}
				continue
			}
		}
		if slices.Contains(p.run, Warn) {
			p.warn = warnKey(a, fs.names[i], w)
			if !e.warned.Get(p.warn, now) {
				p.run = []string{Warn}
			}
		}
	}
	// The longest block wins; it runs last in its filter. A dry plan
	// keeps its own would-be block and takes none from the others.
	var best *plan
	var bestExpiry time.Time
	bestValid := false
	for _, p := range plans {
		if p.dry || !slices.Contains(p.run, Block) {
			continue
		}
		exp, valid := e.blockExpiry(a, fs.cons[p.index].Block, now)
		if best == nil || longerExpiry(exp, valid, bestExpiry, bestValid) {
			best, bestExpiry, bestValid = p, exp, valid
		}
	}
	for _, p := range plans {
		if p != best && !p.dry {
			p.run = slices.DeleteFunc(p.run, func(n string) bool { return n == Block })
		}
	}
	// A disallow is redundant next to a dangerous consequence.
	for _, p := range plans {
		if slices.ContainsFunc(p.run, func(n string) bool { return dangerous[n] }) {
			p.run = slices.DeleteFunc(p.run, func(n string) bool { return n == Disallow })
		}
	}
	return plans
}

// throttleKey is the counter of a throttle group; dry plans count apart.
func (p *plan) throttleKey(a *vigil.Action, filter string, t *ThrottleParams, group []string, w *WikiConfig) string {
	k := throttleKey(a, filter, t, group, w)
	if p.dry {
		return "dry:" + k
	}
	return k
}

// longerExpiry orders block expiries as AbuseFilter compares them:
// indefinite beats any time, any valid time beats an invalid one, and on
// a tie the earlier filter keeps the block.
func longerExpiry(a time.Time, aValid bool, b time.Time, bValid bool) bool {
	switch {
	case !aValid:
		return false
	case !bValid:
		return true
	case b.IsZero():
		return false
	case a.IsZero():
		return true
	}
	return a.After(b)
}

func (e *Engine) blockExpiry(a *vigil.Action, b *BlockParams, now time.Time) (time.Time, bool) {
	s := b.AnonExpiry
	if a.Performer.Registered() {
		s = b.UserExpiry
	}
	return ParseExpiry(s, now)
}

// execute runs the planned consequences in order and fills the verdict.
func (e *Engine) execute(ctx context.Context, a *vigil.Action, fs *filterSet, plans []*plan, v *Verdict, now time.Time) {
	w := e.wikiConfig(a.Wiki)
	for _, p := range plans {
		f, c, name := fs.filters[p.index], fs.cons[p.index], fs.names[p.index]
		p.taken = []string{}
		if p.dry {
			// What it would have done, with throttles counted apart from
			// the live ones, so that a log-only rate filter records what
			// the live one would.
			for _, cons := range p.run {
				if cons == Throttle {
					for _, g := range c.Throttle.Groups {
						e.counters.Incr(p.throttleKey(a, name, c.Throttle, g, &w), c.Throttle.Period, now)
					}
					if p.hit {
						continue
					}
				}
				p.taken = append(p.taken, cons)
			}
			continue
		}
		var msgs []Message
		msg := func(key, consequence string, extra ...string) {
			msgs = append(msgs, Message{Key: key, Params: append([]string{f.Name, name}, extra...), Filter: name, Consequence: consequence})
		}
		for _, cons := range p.run {
			taken := false
			switch cons {
			case Throttle:
				for _, g := range c.Throttle.Groups {
					e.counters.Incr(p.throttleKey(a, name, c.Throttle, g, &w), c.Throttle.Period, now)
				}
				taken = !p.hit
			case Warn:
				should := !e.warned.Get(p.warn, now)
				e.warned.Set(p.warn, should, e.cfg.WarnTTL, now)
				if taken = should; taken {
					msg(c.Warn, Warn)
				}
			case Disallow:
				taken = true
				msg(c.Disallow, Disallow)
			case Tag:
				taken = true
				for _, t := range c.Tags {
					if !slices.Contains(v.Tags, t) {
						v.Tags = append(v.Tags, t)
					}
				}
			case Block:
				exp, _ := e.blockExpiry(a, c.Block, now)
				exp = exp.UTC()
				d := &BlockDecision{Target: a.Performer.Name, Expiry: exp, Indefinite: exp.IsZero(),
					TalkAccess: !c.Block.BlockTalk, Autoblock: true, Filter: name, Reason: blockReason(f)}
				d.Placed = e.placeBlock(ctx, a.Wiki, d, f.ID, now)
				v.Block = d
				taken = true // AbuseFilter reports the block even when one was in force
				msg(BlockedMessage, Block)
			case RangeBlock:
				target, ok := rangeOf(requestIP(a), RangeBlockV4, RangeBlockV6)
				if !ok {
					break
				}
				d := &BlockDecision{Target: target, Expiry: now.Add(RangeBlockExpiry).UTC(), TalkAccess: true, Filter: name,
					Reason: blockReason(f)}
				d.Placed = e.placeBlock(ctx, a.Wiki, d, f.ID, now)
				v.RangeBlocks = append(v.RangeBlocks, d)
				if taken = d.Placed; taken {
					msg(BlockedMessage, RangeBlock)
				}
			case BlockAutopromote:
				if a.Performer.Type != "named" {
					break
				}
				taken = true
				v.BlockAutopromote = &Autopromote{User: a.Performer.Name, Seconds: BlockAutopromoteSeconds, Filter: name}
				msg(AutopromoteMessage, BlockAutopromote, strconv.Itoa(BlockAutopromoteSeconds))
			case Degroup:
				if a.Performer.Type != "named" {
					break
				}
				var groups []string
				for _, g := range a.Performer.Groups {
					if !implicitGroups[g] {
						groups = append(groups, g)
					}
				}
				if len(groups) == 0 {
					break
				}
				taken = true
				v.Degroup = &DegroupDecision{User: a.Performer.Name, Groups: groups, Filter: name}
				msg(DegroupedMessage, Degroup)
			}
			if taken {
				p.taken = append(p.taken, cons)
			}
		}
		code := "abusefilter-disallowed"
		if len(p.taken) == 1 && p.taken[0] == Warn {
			code = "abusefilter-warning"
		}
		for i := range msgs {
			msgs[i].Code = code
		}
		v.Messages = append(v.Messages, msgs...)
	}
}

func blockReason(f *vigil.Filter) string {
	return fmt.Sprintf("Automatically blocked by Vigil. Description of the matched filter: %s (filter %d)", f.Name, f.ID)
}

func blockExpiryText(t time.Time) string {
	if t.IsZero() {
		return "infinity"
	}
	return t.UTC().Format(time.RFC3339)
}

// placeBlock records a block; it reports whether it was placed (not
// already blocked). A store failure is logged: the verdict still carries
// the block, which MediaWiki places itself.
func (e *Engine) placeBlock(ctx context.Context, wiki string, d *BlockDecision, filterID int64, now time.Time) bool {
	b := &vigil.Block{Wiki: wiki, Target: d.Target, Expiry: d.Expiry, Reason: d.Reason, FilterID: filterID,
		TalkAccess: d.TalkAccess, Created: now}
	placed, err := e.store.PutBlock(ctx, b)
	if err != nil {
		e.log.Error("could not record a block", "wiki", wiki, "target", d.Target, "err", err)
		return true
	}
	if placed {
		e.mu.Lock()
		delete(e.blocks, wiki)
		e.mu.Unlock()
	}
	return placed
}

func (e *Engine) wikiConfig(wiki string) WikiConfig { return e.cfg.Wikis[wiki] }

func (e *Engine) nextProfile() bool {
	e.mu.Lock()
	e.profileTick++
	t := e.profileTick
	e.mu.Unlock()
	return t%uint64(e.cfg.ProfileEvery) == 0
}

// requestIP is the address the action comes from.
func requestIP(a *vigil.Action) string {
	if a.IP != "" {
		return a.IP
	}
	if a.Performer.Type == "ip" {
		return a.Performer.Name
	}
	return ""
}

// rangeOf returns the network of ip at the given prefix lengths, as
// MediaWiki's IPUtils::sanitizeRange writes it.
func rangeOf(ip string, v4, v6 int) (string, bool) {
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return "", false
	}
	bits := v6
	if addr.Is4() || addr.Is4In6() {
		addr, bits = addr.Unmap(), v4
	}
	p, err := addr.Prefix(bits)
	if err != nil {
		return "", false
	}
	if p.Addr().Is4() {
		return p.String(), true
	}
	// MediaWiki writes IPv6 upper case, every group, no "::".
	b := p.Addr().As16()
	groups := make([]string, 8)
	for i := range groups {
		groups[i] = strings.ToUpper(strconv.FormatUint(uint64(b[2*i])<<8|uint64(b[2*i+1]), 16))
	}
	return strings.Join(groups, ":") + "/" + strconv.Itoa(bits), true
}

// pageOf is the page AbuseFilter's runner holds for an action: the moved
// page for a move, Special:UserLogin for account creation.
func pageOf(a *vigil.Action) (ns int, title string) {
	switch {
	case a.Action == vigil.ActionCreateAccount || a.Action == vigil.ActionAutoCreateAccount:
		return -1, "Userlogin"
	case a.Page != nil:
		return a.Page.Namespace, strings.ReplaceAll(a.Page.Title, "_", " ")
	}
	return 0, ""
}

// throttleKey is the key of one throttle group's counter
// (Throttle::throttleKey): the identities of the group, hashed. A global
// filter's counters are shared by every wiki.
func throttleKey(a *vigil.Action, filterName string, t *ThrottleParams, group []string, w *WikiConfig) string {
	ids := make([]string, len(group))
	for i, g := range group {
		var val string
		switch g {
		case "ip":
			val = requestIP(a)
		case "user":
			val = strconv.FormatInt(a.Performer.ID, 10)
		case "range":
			val, _ = rangeOf(requestIP(a), ThrottleRangeV4, ThrottleRangeV6)
		case "creationdate":
			// AbuseFilter takes the registration as a YYYYMMDDHHMMSS
			// number and rounds it down to a multiple of 86400.
			reg := int64(0)
			if a.Performer.Registered() && a.Performer.Registration != nil {
				reg, _ = strconv.ParseInt(a.Performer.Registration.UTC().Format("20060102150405"), 10, 64)
			}
			val = strconv.FormatInt(reg-reg%86400, 10)
		case "editcount":
			n := int64(0)
			if a.Performer.EditCount != nil && a.Performer.Registered() {
				n = *a.Performer.EditCount
			}
			val = strconv.FormatInt(n, 10)
		case "site":
			val = "1"
		case "page":
			ns, title := pageOf(a)
			val = w.PrefixedTitle(ns, title)
		}
		ids[i] = g + "-" + val
	}
	h := sha1.Sum([]byte(strings.Join(ids, ":")))
	scope := a.Wiki
	if strings.HasPrefix(filterName, "global-") {
		scope = "*"
	}
	return "throttle:" + scope + ":" + t.ID + ":" + hex.EncodeToString(h[:])
}

// warnKey is the key of the "warned" mark (Warn::getWarnKey): the session,
// the page, the filter and the action.
func warnKey(a *vigil.Action, filterName string, w *WikiConfig) string {
	ns, title := pageOf(a)
	h := md5.Sum([]byte(strconv.Itoa(ns) + ":" + title))
	session := a.Session
	if session == "" {
		session = "performer:" + a.Performer.Name + "|" + a.IP
	}
	s := sha1.Sum([]byte(session))
	return "warned:" + a.Wiki + ":" + hex.EncodeToString(s[:8]) + ":" + hex.EncodeToString(h[:]) + "-" + filterName + "-" + a.Action
}

// logPerformer is the abuse log's user: for an account created by an
// anonymous user, the new account's name.
func logPerformer(a *vigil.Action) string {
	if (a.Action == vigil.ActionCreateAccount || a.Action == vigil.ActionAutoCreateAccount) && !a.Performer.Registered() {
		return a.AccountName
	}
	return a.Performer.Name
}

func logPage(a *vigil.Action) *vigil.Page {
	if a.Page != nil {
		return a.Page
	}
	ns, title := pageOf(a)
	return &vigil.Page{Namespace: ns, Title: title}
}

// varDump returns the variables the filters saw, as JSON, with the
// protected ones apart.
func varDump(vs interface{ Known() map[string]value.Value }, buf []byte) (public, protected json.RawMessage) {
	pub, prot := map[string]any{}, map[string]any{}
	for k, v := range vs.Known() {
		if syntax.Protected[k] {
			if v.Kind() != value.Null {
				prot[k] = v.Native()
			}
			continue
		}
		pub[k] = v.Native()
	}
	public = appendDump(buf, pub)
	if len(prot) > 0 {
		protected = marshalDump(prot)
	}
	return public, protected
}

// writeLog writes log entries before the verdict leaves: to the database,
// or to the spool when the database is down.
func (e *Engine) writeLog(ctx context.Context, entries []*vigil.LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	err := e.commit.write(ctx, entries)
	if err == nil {
		return nil
	}
	if e.spool == nil {
		return fmt.Errorf("write the abuse log: %w", err)
	}
	e.log.Warn("database unavailable: abuse log entries spooled", "entries", len(entries), "err", err)
	records := make([][]byte, len(entries))
	for i, entry := range entries {
		// The copy is numbered anew when it is written: a number a store
		// gave before failing (a store with a journal numbers entries
		// first) may meanwhile have gone to another entry.
		entry.ID = 0
		b, err := json.Marshal(entry)
		if err != nil {
			return fmt.Errorf("spool the abuse log: %w", err)
		}
		records[i] = b
	}
	if serr := e.spool.Append(records); serr != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "neither the database nor the spool can record the abuse log; retry later"}
	}
	for _, entry := range entries {
		entry.ID = 0 // not written yet: the verdict says log_spooled
	}
	return nil
}

// drainSpool moves spooled log entries into the database.
func (e *Engine) drainSpool(ctx context.Context) {
	if e.spool == nil || !e.spool.Pending() {
		return
	}
	err := e.spool.Drain(func(records [][]byte) error {
		entries := make([]*vigil.LogEntry, 0, len(records))
		for _, r := range records {
			var entry vigil.LogEntry
			if err := json.Unmarshal(r, &entry); err != nil {
				e.log.Error("spooled log entry unreadable; dropped", "err", err)
				continue
			}
			entries = append(entries, &entry)
		}
		return e.store.AppendLog(ctx, entries)
	})
	if err != nil {
		e.log.Debug("spool not drained yet", "err", err)
		return
	}
	e.log.Info("spooled abuse log entries written to the database")
}

// SpoolPending reports whether log entries wait in the spool.
func (e *Engine) SpoolPending() bool { return e.spool != nil && e.spool.Pending() }

// emergency applies AbuseFilter's emergency throttle after an action: a
// filter saved recently whose logged matches are too many loses its
// dangerous consequences from the next action on. The check reads the
// counts before this action, as AbuseFilter's EmergencyWatcher does.
func (e *Engine) emergency(ctx context.Context, fs *filterSet, res *rules.Result, logged map[int]bool, now time.Time) {
	var throttle []*vigil.Filter
	for i, f := range fs.filters {
		c := fs.emerg[i]
		if c == nil || now.Sub(f.UpdatedAt) >= e.cfg.EmergencyAge {
			continue
		}
		if logged[i] && !f.Throttled && !c.throttled.Load() {
			total, matches := c.total.Load(), c.matches.Load()
			// Once (the swap): the actions screened meanwhile still hold
			// the set without the throttle.
			if total > 0 && matches > e.cfg.EmergencyCount &&
				float64(matches)/float64(total) > e.cfg.EmergencyThreshold && c.throttled.CompareAndSwap(false, true) {
				throttle = append(throttle, f)
			}
		}
		c.total.Add(1)
		if res.Filters[i].Matched {
			c.matches.Add(1)
		}
	}
	var recorded []*vigil.Filter
	for _, f := range throttle {
		e.log.Warn("filter throttled: it matches too many actions since its last change", "filter", f.ID)
		if err := e.store.SetFilterThrottled(ctx, f.ID, true); err != nil {
			if !errors.Is(err, context.Canceled) {
				e.log.Error("could not record the emergency throttle", "filter", f.ID, "err", err)
			}
			continue
		}
		recorded = append(recorded, f)
	}
	// The next action sees the throttle; other instances see the
	// generation change.
	e.markThrottled(recorded)
}

// markThrottled swaps in, for each set in use that holds one of filters,
// a copy in which it is throttled. Only the filter's consequences change,
// so its compiled rule is kept: no action waits for a compilation.
func (e *Engine) markThrottled(filters []*vigil.Filter) {
	if len(filters) == 0 {
		return
	}
	ids := map[int64]bool{}
	for _, f := range filters {
		ids[f.ID] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, fs := range e.sets {
		var patched *filterSet
		for i, f := range fs.filters {
			if !ids[f.ID] || f.Throttled {
				continue
			}
			if patched == nil {
				c := *fs
				c.filters = slices.Clone(fs.filters)
				patched = &c
			}
			t := *f
			t.Throttled = true
			patched.filters[i] = &t
		}
		if patched != nil {
			e.sets[k] = patched
		}
	}
}
