package rules

import (
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/vigilwiki/vigil/rules/ipaddr"
	"github.com/vigilwiki/vigil/rules/pcre"
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/textfunc"
	"github.com/vigilwiki/vigil/rules/value"
)

// funcImpl computes a builtin function from evaluated arguments.
type funcImpl func(s *State, site *callSite, args []value.Value) (value.Value, error)

// function is a builtin: its implementation and the id of AbuseFilter's
// handler, which keys the function-result cache (length and strlen share
// one handler, so they share cache entries).
type function struct {
	handler uint8
	impl    funcImpl
}

const handlerSet = 29 // set and set_var: never served from the cache

var functions = map[string]function{
	"lcase":               {1, fnLcase},
	"ucase":               {2, fnUcase},
	"length":              {3, fnLength},
	"strlen":              {3, fnLength},
	"string":              {4, castTo(value.String)},
	"int":                 {5, castTo(value.Int)},
	"float":               {6, castTo(value.Float)},
	"bool":                {7, castTo(value.Bool)},
	"norm":                {8, fnNorm},
	"ccnorm":              {9, fnCcnorm},
	"ccnorm_contains_any": {10, containsFn(true, true)},
	"ccnorm_contains_all": {11, containsFn(false, true)},
	"specialratio":        {12, fnSpecialRatio},
	"rmspecials":          {13, stringFn(textfunc.RmSpecials)},
	"rmdoubles":           {14, stringFn(textfunc.RmDoubles)},
	"rmwhitespace":        {15, stringFn(textfunc.RmWhitespace)},
	"count":               {16, fnCount},
	"rcount":              {17, fnRcount},
	"get_matches":         {18, fnGetMatches},
	"ip_in_range":         {19, fnIPInRange},
	"ip_in_ranges":        {20, fnIPInRanges},
	"contains_any":        {21, containsFn(true, false)},
	"contains_all":        {22, containsFn(false, false)},
	"equals_to_any":       {23, fnEqualsToAny},
	"substr":              {24, fnSubstr},
	"strpos":              {25, fnStrpos},
	"str_replace":         {26, fnStrReplace},
	"str_replace_regexp":  {27, fnStrReplaceRegexp},
	"rescape":             {28, stringFn(func(s string) string { return pcre.Quote(s, 0) })},
	"set":                 {handlerSet, fnSet},
	"set_var":             {handlerSet, fnSet},
	"sanitize":            {30, stringFn(func(s string) string { return textfunc.DecodeCharReferences(textfunc.HTMLEntityDecode(s)) })},
}

// callSite is one call in a rule: the node, the slot set() writes, and the
// regex compiled once when the pattern argument is a constant.
//
// What every call reads (fn, cacheFree) comes first and together, then
// what some functions read: an action makes calls at hundreds of sites,
// and on machines with 512 KB of L2 what it touches no longer fits
// (docs/performance.md, twenty-first session).
type callSite struct {
	fn function
	// cacheFree: no other call in the set can ever get the same function
	// and arguments, so the function cache need not hold this one's
	// result (its per-action static slot does); it still counts toward
	// the cache's size. Set by NewSet.
	cacheFree bool
	slot      int32 // set(): the user variable's slot
	regex     *regexSite
	needles   []*literalSet // contains_any/all: per argument, its prefilter literal if constant
	// ranges: ip_in_range(s), per argument, the range parsed ahead when it
	// is a constant string.
	ranges []*ipaddr.Range
	x      *syntax.Call
	// Per argument the constant, if it is one, and for a static call its
	// key (for NewSet's analysis, see cacheFree).
	argConsts []constArg
	key       string
}

// constArg is an argument of a call as NewSet's analysis sees it: its
// value when it is a constant (ok).
type constArg struct {
	v  value.Value
	ok bool
}

func (c *compiler) call(x *syntax.Call) node {
	fn, ok := functions[x.Name]
	if !ok {
		// The checker refuses unknown functions before we get here.
		panic("rules: unknown function " + x.Name)
	}
	args := make([]node, len(x.Args))
	for i, a := range x.Args {
		args[i] = c.expr(a)
	}
	site := &callSite{x: x, fn: fn}
	switch x.Name {
	case "set", "set_var":
		site.slot = int32(c.scope.slot(x.Args[0].(*syntax.Lit).Str))
	case "rcount", "get_matches":
		if len(args) == 2 {
			site.regex = c.regexSite(x, args[0], false)
		}
	case "str_replace_regexp":
		site.regex = c.regexSite(x, args[1], false)
	case "ip_in_range", "ip_in_ranges":
		site.ranges = make([]*ipaddr.Range, len(args))
		for i := 1; i < len(args); i++ {
			if args[i].konst && args[i].val.Kind() == value.String {
				r := ipaddr.ParseRange(args[i].val.Str())
				site.ranges[i] = &r
			}
		}
	case "contains_any", "contains_all":
		site.needles = make([]*literalSet, len(args))
		for i := 1; i < len(args); i++ {
			site.needles[i] = c.needle(args[i])
		}
	}
	// The closures hold only what they call: a node is a hundred bytes,
	// and loading a field of each from memory costs more than the call.
	argFns := make([]evalFn, len(args))
	for i, a := range args {
		argFns[i] = a.fn
	}
	eval := func(s *State) (value.Value, error) {
		base := len(s.args)
		for _, fn := range argFns {
			v, err := fn(s)
			if err != nil {
				s.args = s.args[:base]
				return v, err
			}
			s.args = append(s.args, v)
		}
		v, err := s.callFunc(site, s.args[base:])
		s.args = s.args[:base]
		return v, err
	}
	site.argConsts = make([]constArg, len(args))
	for i := range args {
		site.argConsts[i] = constArg{args[i].val, args[i].konst}
	}
	key, static := staticKeyOf(x.Name, fn, args)
	if !static {
		c.dynamic = append(c.dynamic, site)
		return node{fn: eval}
	}
	site.key = key
	c.statics = append(c.statics, site)
	id := staticCallID(key)
	return node{staticKey: key, fn: func(s *State) (value.Value, error) {
		// The same expression over the same variables gives the same
		// arguments, which AbuseFilter's function cache answers at no
		// cost: answer without evaluating or hashing them again.
		if v, ok := s.staticHit(id); ok {
			return v, nil
		}
		v, err := eval(s)
		if err == nil {
			s.staticPut(id, v) // not once the cache has emptied itself: see State.flushed
		}
		return v, err
	}}
}

// staticKeyOf names a call by its function and arguments when every
// argument is a constant, a builtin variable or such a call: within one
// action it always gets the same arguments. set() is never static.
func staticKeyOf(name string, fn function, args []node) (string, bool) {
	if fn.handler == handlerSet {
		return "", false
	}
	return staticKey(name, args)
}

// staticKey names name over args when every argument is a constant, a
// builtin variable or a static call.
func staticKey(name string, args []node) (string, bool) {
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('(')
	for i, a := range args {
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case a.konst:
			writeConstKey(&b, a.val)
		case a.isBuiltin:
			b.WriteByte('v')
			b.WriteString(strconv.Itoa(int(a.slot)))
		case a.staticKey != "":
			b.WriteString(a.staticKey)
		default:
			return "", false
		}
	}
	b.WriteByte(')')
	return b.String(), true
}

// writeConstKey writes a constant exactly: its kind and its value (a
// float by its bits, an array element by element), so that two constants
// share a key only when they are identical.
func writeConstKey(b *strings.Builder, v value.Value) {
	b.WriteByte('c')
	b.WriteString(strconv.Itoa(int(v.Kind())))
	if v.IsPHPFloat() {
		b.WriteByte('p')
	}
	switch {
	case v.IsPHPFloat() || v.Kind() == value.Float:
		b.WriteString("f" + strconv.FormatUint(math.Float64bits(v.Float()), 16))
	case v.Kind() == value.Int:
		b.WriteString("i" + strconv.FormatInt(v.Int(), 10))
	case v.Kind() == value.String:
		b.WriteString(strconv.Quote(v.Str()))
	case v.Kind() == value.Bool:
		b.WriteString(strconv.FormatBool(v.BoolPayload()))
	case v.Kind() == value.Array:
		b.WriteByte('[')
		for _, e := range v.Elems() {
			writeConstKey(b, e)
			b.WriteByte(',')
		}
		b.WriteByte(']')
	}
}

// staticCalls numbers static call keys, process-wide, so that a State
// keeps their answers in a slice.
var staticCalls = struct {
	sync.Mutex
	ids map[string]int
}{ids: map[string]int{}}

func staticCallID(key string) int {
	staticCalls.Lock()
	defer staticCalls.Unlock()
	id, ok := staticCalls.ids[key]
	if !ok {
		id = len(staticCalls.ids)
		staticCalls.ids[key] = id
	}
	return id
}

// callFunc calls a builtin as AbuseFilter's FilterEvaluator::callFunc does:
// a repeated call with identical arguments comes from the cache and costs
// nothing; otherwise it costs a condition, undefined arguments are replaced
// by null for the call (which still runs, for its errors) and make the
// result undefined, and the result is cached.
func (s *State) callFunc(site *callSite, args []value.Value) (value.Value, error) {
	fn := site.fn
	cacheFree := site.cacheFree && !s.flushed
	var key cacheKey
	if !cacheFree {
		key = cacheKey(hashArgs(fn.handler, args))
		if fn.handler != handlerSet {
			if v, ok := s.cache.get(key, fn.handler, args); ok {
				return v, nil
			}
		}
	}
	if err := s.countCondition(); err != nil {
		return value.UndefinedValue, err
	}
	original := args
	undefined := false
	for i, a := range args {
		if a.HasUndefined() {
			if !undefined {
				original = append([]value.Value(nil), args...)
				undefined = true
			}
			args[i] = a.UndefinedToNull()
		}
	}
	v, err := fn.impl(s, site, args)
	if err != nil {
		return value.UndefinedValue, err
	}
	if undefined {
		v = value.UndefinedValue
	}
	if v.Kind() == value.String {
		if err := s.alloc(len(v.Str())); err != nil {
			return value.UndefinedValue, err
		}
	}
	if s.cache.put(key, fn.handler, original, v, cacheFree) {
		// AbuseFilter's cache is empty now, so static calls, which stand
		// for cached ones, must cost their condition again too.
		s.resetStatic()
		s.flushed = true
	}
	return v, nil
}

func fnLcase(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	return value.NewString(textfunc.Lower(s.str(args[0]))), nil
}

func fnUcase(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	return value.NewString(textfunc.Upper(s.str(args[0]))), nil
}

func fnLength(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	if args[0].Kind() == value.Array {
		return value.NewInt(int64(args[0].Len())), nil
	}
	return value.NewInt(int64(textfunc.Len(s.str(args[0])))), nil
}

func castTo(k value.Kind) funcImpl {
	return func(s *State, _ *callSite, args []value.Value) (value.Value, error) {
		if k == value.String && args[0].Kind() == value.Array {
			return value.NewString(s.str(args[0])), nil
		}
		return args[0].Cast(k), nil
	}
}

func stringFn(f func(string) string) funcImpl {
	return func(s *State, _ *callSite, args []value.Value) (value.Value, error) {
		return value.NewString(f(s.str(args[0]))), nil
	}
}

func fnNorm(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	str := s.ccnorm(s.str(args[0]))
	str = textfunc.RmWhitespace(textfunc.RmSpecials(textfunc.RmDoubles(str)))
	return value.NewString(str), nil
}

func fnCcnorm(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	return value.NewString(s.ccnorm(textfunc.HTMLEntityDecode(s.str(args[0])))), nil
}

func fnSpecialRatio(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	return value.NewFloat(textfunc.SpecialRatio(s.str(args[0]))), nil
}

// containsFn is contains_any/all and their ccnorm variants: substring tests
// of every needle in the haystack; empty needles are skipped.
func containsFn(any, normalize bool) funcImpl {
	return func(s *State, site *callSite, args []value.Value) (value.Value, error) {
		h := s.str(args[0])
		if h == "" {
			return value.False, nil
		}
		if normalize {
			h = s.ccnorm(h)
		}
		for i, a := range args[1:] {
			n := s.str(a)
			if normalize {
				n = s.ccnorm(n)
			}
			if n == "" {
				continue
			}
			var found bool
			if ls := site.needleAt(i + 1); ls != nil && a.IsString() && s.pre.absent(h, ls, len(args) > manyNeedles) {
				found = false // the prefilter saw it nowhere in h
			} else {
				found = pcre.Contains(h, n)
			}
			if found == any {
				return value.NewBool(found), nil
			}
		}
		return value.NewBool(!any), nil
	}
}

// manyNeedles is how many needles make one Aho-Corasick pass over the
// haystack cheaper than a strings.Contains each.
const manyNeedles = 8

func (site *callSite) needleAt(i int) *literalSet {
	if i < len(site.needles) {
		return site.needles[i]
	}
	return nil
}

func fnEqualsToAny(_ *State, _ *callSite, args []value.Value) (value.Value, error) {
	for _, a := range args[1:] {
		if value.Equal(args[0], a, true) {
			return value.True, nil
		}
	}
	return value.False, nil
}

func fnCount(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	if len(args) == 1 {
		if args[0].Kind() == value.Array {
			return value.NewInt(int64(args[0].Len())), nil
		}
		return value.NewInt(int64(strings.Count(s.str(args[0]), ",") + 1)), nil
	}
	return value.NewInt(int64(textfunc.SubstrCount(s.str(args[1]), s.str(args[0])))), nil
}

func fnRcount(s *State, site *callSite, args []value.Value) (value.Value, error) {
	if len(args) == 1 {
		return value.NewInt(int64(strings.Count(s.str(args[0]), ",") + 1)), nil
	}
	re, lits, err := site.regex.compileLits(s, args[0])
	if err != nil {
		return value.UndefinedValue, site.regex.fail("invalid regular expression: %v", err)
	}
	s.warnEmpty(site, re, args[0])
	haystack := s.str(args[1])
	subject, valid := s.pre.validUTF8(haystack)
	if !valid {
		return value.UndefinedValue, site.regex.fail("the regular expression failed: %v", pcre.ErrBadUTF8)
	}
	if !lits.empty() && !s.pre.mayContain(subject, lits) {
		return value.NewInt(0), nil
	}
	n, err := re.Count(haystack, s.regexLim)
	if err != nil {
		return value.UndefinedValue, site.regex.fail("the regular expression failed: %v", err)
	}
	return value.NewInt(int64(n)), nil
}

func (s *State) warnEmpty(site *callSite, re *pcre.Regexp, pattern value.Value) {
	if s.check && pattern.Kind() != value.Undefined && re.MatchesEmpty() {
		s.warn(site.x, "match-empty-regex", "this regular expression matches the empty string")
	}
}

// get_matches counts capturing groups textually, as AbuseFilter does,
// with these PHP regexes.
var (
	escapedParen   = mustPHPRegex(`/((\\\\)*)\\\(/`)
	nonCaptureOpen = mustPHPRegex(`/\(\?(?!P?<[a-zA-Z_][a-zA-Z0-9_]*>|'[a-zA-Z_][a-zA-Z0-9_]*')/`)
)

func mustPHPRegex(p string) *pcre.Regexp {
	re, err := pcre.CompilePHP(p)
	if err != nil {
		panic(err)
	}
	return re
}

// groupCount is AbuseFilter's estimate of a pattern's capturing groups.
func groupCount(pattern string) (int, error) {
	sanitized, err := escapedParen.ReplaceAll(pattern, "$1", pcre.Limits{})
	if err != nil {
		return 0, err
	}
	if sanitized, err = nonCaptureOpen.ReplaceAll(sanitized, "", pcre.Limits{}); err != nil {
		return 0, err
	}
	sanitized = strings.ReplaceAll(sanitized, "(*", "")
	return strings.Count(sanitized, "(") + 1, nil
}

func fnGetMatches(s *State, site *callSite, args []value.Value) (value.Value, error) {
	pattern, haystack := s.str(args[0]), s.str(args[1])
	groups, err := groupCount(pattern)
	if err != nil {
		// The counting regexes fail only on invalid UTF-8, and so would the
		// pattern itself.
		return value.UndefinedValue, site.regex.fail("invalid regular expression: %v", err)
	}
	re, err := site.regex.compile(s, args[0])
	if err != nil {
		return value.UndefinedValue, site.regex.fail("invalid regular expression: %v", err)
	}
	s.warnEmpty(site, re, args[0])
	caps, err := re.FindSubmatchIndex(haystack, s.regexLim)
	if err != nil {
		return value.UndefinedValue, site.regex.fail("the regular expression failed: %v", err)
	}
	// PHP's $matches holds groups up to the last one that took part; the
	// rest are filled with false.
	matched := 0
	for i := 0; i < len(caps)/2; i++ {
		if caps[2*i] >= 0 {
			matched = i + 1
		}
	}
	n := max(groups, matched)
	out := make([]value.Value, n)
	for i := range out {
		switch {
		case i >= matched:
			out[i] = value.False
		case caps[2*i] < 0:
			out[i] = value.NewString("")
		default:
			out[i] = value.NewString(haystack[caps[2*i]:caps[2*i+1]])
		}
	}
	return value.NewArray(out), nil
}

func fnIPInRange(s *State, site *callSite, args []value.Value) (value.Value, error) {
	r, err := site.ipRange(s, args, 1)
	if err != nil {
		return value.UndefinedValue, err
	}
	return value.NewBool(r.Contains(s.address(s.str(args[0])))), nil
}

func fnIPInRanges(s *State, site *callSite, args []value.Value) (value.Value, error) {
	ip := s.address(s.str(args[0]))
	in := false
	// Every range is checked, for its errors, as IPUtils does.
	for i := 1; i < len(args); i++ {
		r, err := site.ipRange(s, args, i)
		if err != nil {
			return value.UndefinedValue, err
		}
		in = in || r.Contains(ip)
	}
	return value.NewBool(in), nil
}

// ipRange is argument i of an ip_in_range(s) call as a range: parsed
// ahead when constant. An invalid range is an error.
func (site *callSite) ipRange(s *State, args []value.Value, i int) (ipaddr.Range, error) {
	var r ipaddr.Range
	if i < len(site.ranges) && site.ranges[i] != nil {
		r = *site.ranges[i]
	} else {
		r = ipaddr.ParseRange(s.str(args[i]))
	}
	if !r.Valid() {
		return r, runtimeError(site.x, syntax.ErrInvalidIPRange, "%q is not a valid IP range", s.str(args[i]))
	}
	return r, nil
}

// address parses an address once for all the ip_in_range calls of an
// action (they nearly all test user_name).
func (s *State) address(ip string) ipaddr.Address {
	if !s.addrSet || s.addrStr != ip {
		s.addr, s.addrStr, s.addrSet = ipaddr.ParseAddress(ip), ip, true
	}
	return s.addr
}

func fnSubstr(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	var length int64
	if len(args) > 2 {
		length = args[2].ToInt()
	}
	return value.NewString(textfunc.Substr(s.str(args[0]), args[1].ToInt(), length, len(args) > 2)), nil
}

func fnStrpos(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	var offset int64
	if len(args) > 2 {
		offset = args[2].ToInt()
	}
	return value.NewInt(textfunc.Strpos(s.str(args[0]), s.str(args[1]), offset)), nil
}

func fnStrReplace(s *State, _ *callSite, args []value.Value) (value.Value, error) {
	subject, search, replace := s.str(args[0]), s.str(args[1]), s.str(args[2])
	if search == "" {
		return value.NewString(subject), nil
	}
	if n := strings.Count(subject, search); n > 0 && len(replace) > len(search) {
		if err := s.alloc(len(subject) + n*(len(replace)-len(search))); err != nil {
			return value.UndefinedValue, err
		}
	}
	return value.NewString(strings.ReplaceAll(subject, search, replace)), nil
}

func fnStrReplaceRegexp(s *State, site *callSite, args []value.Value) (value.Value, error) {
	subject, replace := s.str(args[0]), s.str(args[2])
	re, err := site.regex.compile(s, args[1])
	if err != nil {
		return value.UndefinedValue, site.regex.fail("invalid regular expression: %v", err)
	}
	out, err := re.ReplaceAll(subject, replace, s.regexLim)
	if err != nil {
		return value.UndefinedValue, site.regex.fail("the regular expression failed: %v", err)
	}
	return value.NewString(out), nil
}

func fnSet(s *State, site *callSite, args []value.Value) (value.Value, error) {
	s.user[site.slot] = args[1]
	return args[1], nil
}

// Regexes built from rule values at run time are compiled once per
// process and shared.
var regexCache = struct {
	sync.Mutex
	m map[regexKey]regexResult
}{m: map[regexKey]regexResult{}}

type regexKey struct {
	pattern string
	kind    uint8 // 0 rlike, 1 irlike, 2 like (glob)
}

type regexResult struct {
	re  *pcre.Regexp
	err error
}

const regexCacheMax = 4096

func cachedCompile(key regexKey, compile func() (*pcre.Regexp, error)) (*pcre.Regexp, error) {
	regexCache.Lock()
	r, ok := regexCache.m[key]
	regexCache.Unlock()
	if ok {
		return r.re, r.err
	}
	re, err := compile()
	regexCache.Lock()
	if len(regexCache.m) >= regexCacheMax {
		clear(regexCache.m)
	}
	regexCache.m[key] = regexResult{re, err}
	regexCache.Unlock()
	return re, err
}

func cachedRegex(pattern string, caseless bool) (*pcre.Regexp, error) {
	var kind uint8
	if caseless {
		kind = 1
	}
	return cachedCompile(regexKey{pattern, kind}, func() (*pcre.Regexp, error) {
		return pcre.Compile(pattern, caseless)
	})
}

// globReplacer is AbuseFilter's AFPData::WILDCARD_MAP applied with strtr
// (longest match first) to the preg_quote'd glob.
var globReplacer = strings.NewReplacer(
	`\[\!`, `[^`,
	`\*`, `.*`,
	`\+`, `\+`,
	`\-`, `\-`,
	`\.`, `\.`,
	`\?`, `.`,
	`\[`, `[`,
	`\]`, `]`,
	`\`, `\\`,
)

// GlobPattern is the PHP regex AbuseFilter builds for "like": the glob
// quoted by preg_quote with "#", its wildcards mapped, anchored, /u.
func GlobPattern(glob string) string {
	return "#^" + globReplacer.Replace(pcre.Quote(glob, '#')) + "$#u"
}

func cachedGlob(glob string) (*pcre.Regexp, error) {
	return cachedCompile(regexKey{glob, 2}, func() (*pcre.Regexp, error) {
		return pcre.CompilePHP(GlobPattern(glob))
	})
}
