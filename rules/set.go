package rules

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilwiki/vigil/rules/prefilter"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// FilterSource is one filter to compile into a Set.
type FilterSource struct {
	ID      string // how results name the filter, e.g. "61" or "global-12"
	Pattern string
}

// CompileError is a filter that did not compile; it is left out of the set.
type CompileError struct {
	ID  string
	Err *syntax.Error
}

// Set is a group of filters evaluated together over each action, the way
// AbuseFilter's FilterRunner does: in order, on one shared State, so that
// the condition counter, the function-result cache, the lazily computed
// variables and the user variables are shared by all filters of an action.
// A Set is immutable and safe for concurrent use.
type Set struct {
	ids      []string
	programs []*Program
	// runs say how to run each program, side by side: the filter loop
	// reads them without loading each Program.
	runs []filterRun
	// code holds the filters' tests as instructions (see code.go).
	code []instr
	// guardCode is where the code of each distinct guard of the programs
	// (see guard) starts, by id.
	guardCode []uint32
	// staticShared marks the static keyword operators used more than
	// once in the set (see State.staticShared).
	staticShared []uint64
	scope        *Scope
	literals     *prefilter.Index // of every constant regex and needle, for the prefilter
	pool         sync.Pool
}

// NewSet compiles filters into a set. Filters that fail to compile are
// reported and left out; the others keep their order.
func NewSet(filters []FilterSource) (*Set, []CompileError) {
	set := &Set{scope: NewScope()}
	// Filters compile on every core: most of the time goes to their
	// regexes, which are independent. The scope is shared (it is locked).
	progs := make([]*Program, len(filters))
	errors := make([]error, len(filters))
	// Longest first, so that no core is left with a long filter at the end
	// while the other waits.
	order := make([]int, len(filters))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(filters[b].Pattern) - len(filters[a].Pattern) })
	var next atomic.Int64
	var wg sync.WaitGroup
	var crash atomic.Value // a panic (a bug in Vigil) is raised again in the caller
	guarded := func(fn func()) func() {
		return func() {
			defer func() {
				if r := recover(); r != nil {
					crash.CompareAndSwap(nil, fmt.Sprint(r))
				}
			}()
			fn()
		}
	}
	for range min(runtime.GOMAXPROCS(0), len(filters)) {
		wg.Go(guarded(func() {
			for k := int(next.Add(1) - 1); k < len(filters); k = int(next.Add(1) - 1) {
				i := order[k]
				progs[i], errors[i] = Compile(filters[i].Pattern, CompileOptions{Scope: set.scope})
			}
		}))
	}
	wg.Wait()
	if r := crash.Load(); r != nil {
		panic(r)
	}
	var errs []CompileError
	for i, f := range filters {
		if errors[i] != nil {
			errs = append(errs, CompileError{ID: f.ID, Err: errors[i].(*syntax.Error)})
			continue
		}
		set.ids = append(set.ids, f.ID)
		set.programs = append(set.programs, progs[i])
	}
	// The literal index (the Aho-Corasick automaton, over a millisecond)
	// needs none of what the three passes below make: it is built beside
	// them, on the other core.
	var lits []*literalSet
	for _, p := range set.programs {
		lits = append(lits, p.lits...)
	}
	var indexed sync.WaitGroup
	indexed.Go(guarded(func() { set.literals = literalIndex(lits) }))
	markCacheFree(set.programs)
	set.staticShared = sharedStaticOps(set.programs)
	set.planRuns(false)
	set.dropCode()
	indexed.Wait()
	if r := crash.Load(); r != nil {
		panic(r)
	}
	set.pool.New = func() any { return &State{} }
	return set, errs
}

// Len returns the number of filters in the set.
func (set *Set) Len() int { return len(set.programs) }

// ID returns the id of filter i.
func (set *Set) ID(i int) string { return set.ids[i] }

// Program returns filter i.
func (set *Set) Program(i int) *Program { return set.programs[i] }

// RunOptions configures Set.Run.
type RunOptions struct {
	// CondLimit is AbuseFilter's condition limit for the action; 0 turns
	// it off. AbuseFilter's default is DefaultCondLimit.
	CondLimit int
	// Budget bounds the wall time of the whole action (Vigil's runtime
	// budget); 0 means none. When it runs out, the filters not yet run
	// report ErrBudget and do not match.
	Budget time.Duration
	// Profile measures each filter's run time.
	Profile bool
	// IdentityEquivset: see EvalOptions.
	IdentityEquivset bool
}

// FilterResult is the outcome of one filter on one action.
type FilterResult struct {
	Matched bool
	Err     *syntax.Error // the error that made the filter false, if any
	Conds   int           // conditions this filter used
	Time    time.Duration // run time, when profiled
}

// Result is the outcome of a set on one action.
type Result struct {
	Filters      []FilterResult // in the set's order
	Conds        int            // conditions used in all
	Matches      int
	LimitReached bool // the condition limit was exceeded
	Time         time.Duration
}

// Run evaluates every filter of the set over one action.
func (set *Set) Run(vars Vars, opts RunOptions) *Result {
	res := &Result{}
	set.RunInto(res, vars, opts)
	return res
}

// RunInto is Run writing into res, reusing its memory.
func (set *Set) RunInto(res *Result, vars Vars, opts RunOptions) {
	start := time.Now()
	s := set.pool.Get().(*State)
	defer set.pool.Put(s)
	eo := EvalOptions{CondLimit: opts.CondLimit, IdentityEquivset: opts.IdentityEquivset}
	if opts.Budget > 0 {
		eo.Deadline = start.Add(opts.Budget)
	}
	s.Reset(vars, set.scope, eo)
	s.pre.index = set.literals
	s.staticShared = set.staticShared
	if len(s.guards) < len(set.guardCode) {
		s.guards = make([]guardAnswer, len(set.guardCode))
	}
	if cap(res.Filters) < len(set.programs) {
		res.Filters = make([]FilterResult, len(set.programs))
	}
	res.Filters = res.Filters[:len(set.programs)]
	res.Matches, res.LimitReached = 0, false
	for next := 0; next < len(set.programs); {
		next = set.runFrom(s, res, next, opts.Profile)
	}
	res.Conds = s.conds
	res.Time = time.Since(start)
}

// runFrom runs the filters from index first on, and returns the index
// after the last one it finished. A panic (a bug in Vigil) fails the filter
// it happened in, and the caller goes on with the next one; recovering once
// per action rather than once per filter keeps the loop cheap.
func (set *Set) runFrom(s *State, res *Result, first int, profile bool) (next int) {
	i := first
	defer func() {
		if r := recover(); r != nil {
			res.Filters[i] = FilterResult{Err: internalError(r)}
			next = i + 1
		}
	}()
	// Profiled, each filter's time is the clock's advance since the
	// previous filter ended: one clock read per filter (time.Now reads two
	// clocks, time.Since one). The budget's look at the clock, every
	// eighth filter when there is a budget, counts towards the next one.
	var base time.Time
	var last time.Duration
	if profile {
		base = time.Now()
	}
	for ; i < len(set.programs); i++ {
		if i&7 == 0 && !s.deadline.IsZero() && time.Now().After(s.deadline) {
			s.budgetOver = true
		}
		if s.budgetOver {
			res.Filters[i] = FilterResult{Err: errBudget}
			continue
		}
		before := s.conds
		// The State was sized for the set's shared scope when it was
		// reset, and a Set never runs in check-syntax mode, which needs
		// values rather than tests (see Program.verdict).
		t, err := set.runFilter(s, &set.runs[i])
		matched := t == triTrue && err == nil
		fr := FilterResult{Matched: matched, Conds: s.conds - before}
		if profile {
			now := time.Since(base)
			fr.Time, last = now-last, now
		}
		if err != nil {
			fr.Err = err.(*syntax.Error)
			if fr.Err.Code == syntax.ErrConditionLimit {
				res.LimitReached = true
			}
		}
		if matched {
			res.Matches++
		}
		res.Filters[i] = fr
	}
	return i
}

// sharedStaticOps marks the static keyword operators that occur more
// than once in progs: only their answers are worth remembering within an
// action, since an operator is evaluated at most once per filter.
func sharedStaticOps(progs []*Program) []uint64 {
	seen := map[int]int{}
	for _, p := range progs {
		for _, id := range p.staticOps {
			seen[id]++
		}
	}
	shared := []uint64{} // not nil: nil means all
	for id, n := range seen {
		if n < 2 {
			continue
		}
		for len(shared) <= id>>6 {
			shared = append(shared, 0)
		}
		shared[id>>6] |= 1 << (id & 63)
	}
	return shared
}

// maxCacheFreeKeys bounds the pairwise comparison of markCacheFree per
// function; beyond it every call keeps using the cache.
const maxCacheFreeKeys = 2000

// markCacheFree finds the static calls whose function and arguments no
// other call in the set can ever repeat: every other call of the function,
// static or not, has a different constant somewhere this one has a
// constant, or another number of arguments. The first of such a call in an
// action is then AbuseFilter's only one (a repeat is answered from its
// static slot, as AbuseFilter's cache would answer it), so it needs no
// hashing and no cache entry (see callFunc); it still counts toward the
// cache's size, so that the cache empties itself when AbuseFilter's would.
// ip_in_range over forty constant ranges is such a call, and most rcount
// and contains_any calls with constant patterns or needles.
func markCacheFree(progs []*Program) {
	type calls struct {
		static  map[string][]*callSite // by key
		dynamic []*callSite
	}
	byFn := map[uint8]*calls{}
	group := func(h uint8) *calls {
		if byFn[h] == nil {
			byFn[h] = &calls{static: map[string][]*callSite{}}
		}
		return byFn[h]
	}
	for _, p := range progs {
		for _, site := range p.dynamic {
			g := group(site.fn.handler)
			g.dynamic = append(g.dynamic, site)
		}
		for _, site := range p.statics {
			g := group(site.fn.handler)
			g.static[site.key] = append(g.static[site.key], site)
		}
	}
	for _, g := range byFn {
		if len(g.static)+len(g.dynamic) > maxCacheFreeKeys {
			continue
		}
		// One call per key stands for its key's calls.
		keys := make([][]*callSite, 0, len(g.static))
		for _, sites := range g.static {
			keys = append(keys, sites)
		}
		for i, sites := range keys {
			free := !slices.ContainsFunc(g.dynamic, func(d *callSite) bool { return mayRepeat(sites[0], d) })
			for j := 0; free && j < len(keys); j++ {
				free = i == j || !mayRepeat(sites[0], keys[j][0])
			}
			for _, site := range sites {
				site.cacheFree = free
			}
		}
	}
}

// mayRepeat reports whether two calls of one function could get identical
// arguments: the same number, and no position where both have constants
// that differ.
func mayRepeat(a, b *callSite) bool {
	if len(a.argConsts) != len(b.argConsts) {
		return false
	}
	for i, ca := range a.argConsts {
		if cb := b.argConsts[i]; ca.ok && cb.ok && !value.Identical(ca.v, cb.v) {
			return false
		}
	}
	return true
}
