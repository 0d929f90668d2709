package rules

import (
	"hash/maphash"
	"math"
	"time"

	"github.com/vigilwiki/vigil/rules/equivset"
	"github.com/vigilwiki/vigil/rules/ipaddr"
	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// Vars supplies the builtin variables of one action.
type Vars interface {
	// Var returns the value of a builtin variable, by its canonical
	// (lowercase, non-deprecated) name; ok is false when the action does not
	// set it.
	Var(name string) (v value.Value, ok bool)
}

// IndexedVars is a Vars that also reads a variable by its index in
// syntax.Variables, which is how compiled filters name them: without
// hashing the name. vars.Action is one.
type IndexedVars interface {
	Vars
	// VarAt is Var(syntax.Variables[i]).
	VarAt(i int) (v value.Value, ok bool)
}

// VarMap is a Vars backed by a map. Keys must be canonical names (see
// syntax.Canonical); NewVarMap canonicalises them.
type VarMap map[string]value.Value

func (m VarMap) Var(name string) (value.Value, bool) {
	v, ok := m[name]
	return v, ok
}

// maxBuiltins bounds the builtin variables, so that a uint8 slot needs no
// bounds check.
const maxBuiltins = 256

// builtinIndex maps each builtin variable to its slot in a State.
var builtinIndex = func() map[string]uint8 {
	if len(syntax.Variables) > maxBuiltins {
		panic("rules: too many builtin variables")
	}
	m := make(map[string]uint8, len(syntax.Variables))
	for i, name := range syntax.Variables {
		m[name] = uint8(i)
	}
	return m
}()

// Limits on the work of one action, beyond AbuseFilter's condition limit.
const (
	// MaxStringBytes bounds one string a rule builds.
	MaxStringBytes = 64 << 20
	// MaxAllocBytes bounds what all rules of one action build together.
	MaxAllocBytes = 512 << 20
)

// State is the evaluation state of one action: the variables (builtins
// computed lazily and once, user variables shared by every filter, as
// AbuseFilter's single VariableHolder is), the condition counter, the
// function-result cache and the runtime budget. A State is not safe for
// concurrent use; a Program or Set is.
type State struct {
	vars Vars
	// indexed is vars when it reads by index too, else nil.
	indexed IndexedVars
	// builtin holds the builtin variables read so far; undefined (the zero
	// Value) means not read yet, since a read gives a value or null.
	builtin *[maxBuiltins]value.Value
	loaded  []uint8 // the slots of builtin to clear for the next action
	user    []value.Value

	conds     int
	condLimit int
	// condCheck is the count at which countCondition must look at the
	// limit and the deadline; below it, counting is one increment.
	condCheck int
	check     bool // AbuseFilter's check-syntax mode
	ccnorm    func(string) string

	// The address last parsed for ip_in_range(s), by its text.
	addr    ipaddr.Address
	addrStr string
	addrSet bool

	deadline   time.Time
	budgetOver bool
	regexLim   pcre.Limits
	allocated  int64

	cache funcCache
	// flushed: the function cache emptied itself during this action. From
	// then on every call evaluates its arguments and asks the cache, as
	// AbuseFilter's calls do: a static slot or a cache-free call could
	// stand for a result whose arguments' own results were dropped.
	flushed bool
	// static holds the answers of static calls (see staticKeyOf) by id,
	// valid when their gen is staticGen.
	static    []staticAnswer
	staticGen uint32
	// staticShared marks the static keyword operators whose answers are
	// remembered (bit id): those used more than once in the Set. Nil: all.
	staticShared []uint64
	guards       []guardAnswer // a Set's guards' answers, by id, valid when their gen is staticGen
	strMemo      [16]strMemoEntry
	matches      [64]matchMemo
	args         []value.Value // argument stack of the calls being evaluated

	trackVars bool
	used      []string
	warnings  []*syntax.Error
	pre       prefilterState
}

var builtinNames = syntax.Variables

// EvalOptions configures evaluation.
type EvalOptions struct {
	// CondLimit is AbuseFilter's condition limit for the whole action
	// ($wgAbuseFilterConditionLimit); 0 disables it.
	CondLimit int
	// CheckSyntax evaluates as AbuseFilter's check-syntax does: no
	// short-circuit, so runtime errors in every branch are found, and
	// unset builtin variables read as undefined.
	CheckSyntax bool
	// Budget bounds the wall time of the whole action; 0 means none.
	Budget time.Duration
	// Deadline, when set, overrides Budget.
	Deadline time.Time
	// IdentityEquivset makes ccnorm and norm leave characters unchanged,
	// as AbuseFilter's parser tests run.
	IdentityEquivset bool
	// TrackVars records the variables read, in order of first use.
	TrackVars bool
}

// DefaultCondLimit is AbuseFilter's default $wgAbuseFilterConditionLimit.
const DefaultCondLimit = 1000

// NewState returns a State for one action over vars, with room for the
// user variables of scope (nil for none).
func NewState(vars Vars, scope *Scope, opts EvalOptions) *State {
	s := &State{}
	s.Reset(vars, scope, opts)
	return s
}

// Reset prepares s for a new action, reusing its memory.
func (s *State) Reset(vars Vars, scope *Scope, opts EvalOptions) {
	if vars == nil {
		vars = VarMap(nil)
	}
	s.vars = vars
	s.indexed, _ = vars.(IndexedVars)
	if s.builtin == nil {
		s.builtin = new([maxBuiltins]value.Value)
	}
	for _, i := range s.loaded {
		s.builtin[i] = value.Value{}
	}
	s.loaded = s.loaded[:0]
	n := 0
	if scope != nil {
		n = len(scope.names)
	}
	if cap(s.user) < n {
		s.user = make([]value.Value, n)
	}
	s.user = s.user[:n]
	for i := range s.user {
		s.user[i] = value.UndefinedValue
	}
	s.conds = 0
	s.condLimit = opts.CondLimit
	s.check = opts.CheckSyntax
	s.ccnorm = equivset.Normalize
	if opts.IdentityEquivset {
		s.ccnorm = equivset.Identity
	}
	s.deadline = opts.Deadline
	if s.deadline.IsZero() && opts.Budget > 0 {
		s.deadline = time.Now().Add(opts.Budget)
	}
	s.budgetOver = false
	s.setCondCheck()
	s.regexLim = pcre.Limits{Deadline: s.deadline}
	s.allocated = 0
	s.cache.reset()
	s.resetStatic()
	s.staticShared = nil
	s.flushed = false
	s.args = s.args[:0]
	s.strMemo = [16]strMemoEntry{}
	s.matches = [64]matchMemo{}
	s.trackVars = opts.TrackVars
	s.used = s.used[:0]
	s.warnings = s.warnings[:0]
	s.pre.reset(nil)
}

// Conditions returns the conditions used so far (AbuseFilter's count).
func (s *State) Conditions() int { return s.conds }

// UsedVars returns the variables read so far when TrackVars was set.
func (s *State) UsedVars() []string { return s.used }

// Warnings returns the warnings found (in check-syntax mode).
func (s *State) Warnings() []*syntax.Error { return s.warnings }

// builtinVar reads builtin variable i: computed once per action; an unset
// builtin reads as null (undefined in check-syntax mode).
func (s *State) builtinVar(i uint8) value.Value {
	if v := s.builtin[i]; !v.IsUndefined() {
		return v
	}
	return s.loadBuiltin(i)
}

func (s *State) loadBuiltin(i uint8) value.Value {
	name := builtinNames[i]
	if s.trackVars {
		// Not kept in the slot, so that every read is seen.
		s.trackVar(name)
		if v, ok := s.vars.Var(name); ok {
			return v
		}
	} else if v, ok := s.varAt(i); ok && v.Kind() != value.Undefined {
		s.builtin[i] = v
		s.loaded = append(s.loaded, i)
		return v
	}
	if s.check {
		return value.UndefinedValue
	}
	v := value.NullValue
	if !s.trackVars {
		s.builtin[i] = v
		s.loaded = append(s.loaded, i)
	}
	return v
}

func (s *State) varAt(i uint8) (value.Value, bool) {
	if s.indexed != nil {
		return s.indexed.VarAt(int(i))
	}
	return s.vars.Var(builtinNames[i])
}

func (s *State) trackVar(name string) {
	for _, u := range s.used {
		if u == name {
			return
		}
	}
	s.used = append(s.used, name)
}

// countCondition charges one condition and enforces the limit.
func (s *State) countCondition() error {
	s.conds++
	if s.conds < s.condCheck {
		return nil
	}
	return s.checkLimits()
}

// budgetEvery is how many conditions pass between two looks at the clock.
const budgetEvery = 64

func (s *State) checkLimits() error {
	if s.condLimit > 0 && s.conds > s.condLimit {
		return errConditionLimit
	}
	if !s.deadline.IsZero() && s.conds%budgetEvery == 0 && time.Now().After(s.deadline) {
		return errBudget
	}
	s.setCondCheck()
	return nil
}

// setCondCheck sets the next count at which checkLimits must run: one past
// the limit, or the next budget check.
func (s *State) setCondCheck() {
	next := math.MaxInt
	if s.condLimit > 0 {
		next = s.condLimit + 1
		if s.conds >= next {
			next = s.conds + 1
		}
	}
	if !s.deadline.IsZero() {
		next = min(next, (s.conds/budgetEvery+1)*budgetEvery)
	}
	s.condCheck = next
}

// alloc charges n bytes of built strings or arrays to the action.
func (s *State) alloc(n int) error {
	if n > MaxStringBytes {
		return errTooBig
	}
	s.allocated += int64(n)
	if s.allocated > MaxAllocBytes {
		return errTooBig
	}
	return nil
}

// matchMemo remembers one regex answer for one subject during an action;
// subject keeps the string alive so that its address stays its own.
type matchMemo struct {
	key     matchKey
	ok      bool
	subject string
}

type matchKey struct {
	re  *pcre.Regexp
	ptr *byte
	n   int
}

// strMemoEntry remembers the string form of an array value.
type strMemoEntry struct {
	v   value.Value
	str string
}

// str converts v to a string as PHP does. Arrays are converted once per
// action: the same array (e.g. added_lines) is read by many filters.
func (s *State) str(v value.Value) string {
	if v.Kind() != value.Array {
		return v.ToString()
	}
	id := v.Identity()
	slot := &s.strMemo[(id>>4)%uintptr(len(s.strMemo))]
	if slot.v.Kind() == value.Array && slot.v.Identity() == id {
		return slot.str
	}
	str := v.ToString()
	*slot = strMemoEntry{v: v, str: str}
	return str
}

// funcCache is AbuseFilter's per-action function-result cache: a call with
// the same function and the same arguments (by type and value) is served
// from it and costs no condition. Like AbuseFilter's, it is emptied when it
// grows past 1000 entries.
//
// It is a table of its own rather than a Go map: open addressing on the
// key, with a generation per slot, so that emptying it (every action)
// touches only the slots in use. An action makes about 70 cached calls,
// each a lookup and most a store, and the map's hashing, probing and
// clearing took 3 % of an action's time.
type funcCache struct {
	slots []cacheSlot // a power of two, at most 3/4 full
	gen   uint32      // a slot is in use when its gen is this
	// used is where the slots in use are, so that emptying the table
	// zeroes them: what they hold (a page's lcase, say) is not kept alive
	// into later actions.
	used  []int32
	arena []value.Value // the cached argument lists, reset per action
	// uncounted is the entries AbuseFilter would hold for calls whose
	// results are kept only in their static slots (callSite.cacheFree).
	uncounted int
}

// cacheKey is the hash of a function and its arguments. A slot keeps the
// function and the arguments, which a hit must match exactly; a key holds
// one slot, so a call whose key another call's took replaces it, as a
// map from key to entry would.
type cacheKey uint64

type cacheSlot struct {
	gen    uint32
	fn     uint8
	key    cacheKey
	args   []value.Value
	result value.Value
}

const (
	funcCacheMax   = 1000
	funcCacheSlots = 128 // to start with
)

// find returns where the slot of key is, or the free slot where it
// would go.
func (c *funcCache) find(key cacheKey) int {
	mask := uint64(len(c.slots) - 1)
	for i := uint64(key) & mask; ; i = (i + 1) & mask {
		if sl := &c.slots[i]; sl.gen != c.gen || sl.key == key {
			return int(i)
		}
	}
}

// staticAnswer is the answer to a static call in this action.
type staticAnswer struct {
	gen uint32
	v   value.Value
}

// resetStatic forgets the static calls' answers: a new generation, so
// that nothing is cleared per action.
func (s *State) resetStatic() {
	s.staticGen++
	if s.staticGen == 0 { // wrapped: old generations would look current
		clear(s.static)
		clear(s.guards)
		s.staticGen = 1
	}
}

// sharedStatic reports whether static keyword operator id remembers its
// answer for other uses in the action.
func (s *State) sharedStatic(id int) bool { return staticIsShared(s.staticShared, id) }

// staticIsShared reports whether bit id is set in shared (a Set's
// staticShared); nil means all are.
func staticIsShared(shared []uint64, id int) bool {
	if shared == nil {
		return true
	}
	w := id >> 6
	return w < len(shared) && shared[w]&(1<<(id&63)) != 0
}

func (s *State) staticHit(id int) (value.Value, bool) {
	if s.flushed {
		return value.Value{}, false
	}
	if id < len(s.static) && s.static[id].gen == s.staticGen {
		return s.static[id].v, true
	}
	return value.Value{}, false
}

func (s *State) staticPut(id int, v value.Value) {
	if s.flushed {
		return
	}
	if id >= len(s.static) {
		s.static = append(s.static, make([]staticAnswer, id+1-len(s.static)+32)...)
	}
	s.static[id] = staticAnswer{gen: s.staticGen, v: v}
}

func (c *funcCache) reset() {
	clear(c.arena)
	c.arena = c.arena[:0]
	c.uncounted = 0
	c.clear()
}

// clear empties the table: the slots in use are zeroed, and a new
// generation tells the others apart from this action's.
func (c *funcCache) clear() {
	if c.slots == nil {
		c.slots = make([]cacheSlot, funcCacheSlots)
	}
	c.used, c.gen = emptyTable(c.slots, c.used, c.gen)
}

// emptyTable empties a table whose slots are in use when they hold its
// generation gen: it zeroes the slots in use (listed in used), so that
// what they hold is not kept alive, and returns used emptied and the next
// generation. When the generation wraps it zeroes every slot, since old
// generations would look current.
func emptyTable[T any](slots []T, used []int32, gen uint32) ([]int32, uint32) {
	var zero T
	for _, i := range used {
		slots[i] = zero
	}
	if gen++; gen == 0 {
		clear(slots)
		gen = 1
	}
	return used[:0], gen
}

func (c *funcCache) get(key cacheKey, fn uint8, args []value.Value) (value.Value, bool) {
	e := &c.slots[c.find(key)]
	if e.gen != c.gen || e.fn != fn || len(e.args) != len(args) {
		return value.Value{}, false
	}
	for i := range args {
		if !value.Identical(e.args[i], args[i]) {
			return value.Value{}, false
		}
	}
	return e.result, true
}

// put caches a result (or, for a cache-free call, only counts it), and
// reports whether the cache was then emptied for holding more than
// funcCacheMax entries.
func (c *funcCache) put(key cacheKey, fn uint8, args []value.Value, result value.Value, cacheFree bool) (flushed bool) {
	if cacheFree {
		c.uncounted++
	} else {
		if 4*(len(c.used)+1) > 3*len(c.slots) {
			c.grow()
		}
		start := len(c.arena)
		c.arena = append(c.arena, args...)
		i := c.find(key)
		if c.slots[i].gen != c.gen {
			c.used = append(c.used, int32(i))
		}
		c.slots[i] = cacheSlot{gen: c.gen, fn: fn, key: key, args: c.arena[start:len(c.arena):len(c.arena)], result: result}
	}
	if len(c.used)+c.uncounted > funcCacheMax {
		c.clear()
		c.uncounted = 0
		return true
	}
	return false
}

// grow doubles the table, moving the slots in use.
func (c *funcCache) grow() {
	old := c.slots
	c.slots = make([]cacheSlot, 2*len(old))
	for k, i := range c.used {
		j := c.find(old[i].key)
		c.slots[j] = old[i]
		c.used[k] = int32(j)
	}
}

var hashSeed = maphash.MakeSeed()

// hashArgs hashes a function id and its arguments by type and value.
func hashArgs(fn uint8, args []value.Value) uint64 {
	h := uint64(fn) + 0x9E3779B97F4A7C15
	for _, a := range args {
		h = mix(h, hashValue(a))
	}
	return h
}

func mix(h, x uint64) uint64 {
	h ^= x + 0x9E3779B97F4A7C15 + h<<6 + h>>2
	return h
}

func hashValue(v value.Value) uint64 {
	h := uint64(v.Kind()) << 1
	if v.IsPHPFloat() {
		h |= 1
	}
	switch {
	case v.IsPHPFloat() || v.Kind() == value.Float:
		f := v.Float()
		if f != f {
			f = math.NaN()
		}
		return mix(h, math.Float64bits(f))
	case v.Kind() == value.String:
		return mix(h, maphash.String(hashSeed, v.Str()))
	case v.Kind() == value.Array:
		for _, e := range v.Elems() {
			h = mix(h, hashValue(e))
		}
		return mix(h, uint64(v.Len()))
	case v.Kind() == value.Int:
		return mix(h, uint64(v.Int()))
	case v.Kind() == value.Bool && v.BoolPayload():
		return mix(h, 1)
	}
	return h
}
