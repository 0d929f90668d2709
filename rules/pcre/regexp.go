package pcre

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	re2 "github.com/wasilibs/go-re2"
)

// ErrBadUTF8 is returned for a subject that is not valid UTF-8: PCRE2 in
// UTF mode refuses to match it and PHP's preg functions return false.
var ErrBadUTF8 = errors.New("subject is not valid UTF-8")

// DefaultSteps is the default backtracking budget of one match. PHP's
// pcre.backtrack_limit is 1,000,000; our steps are finer-grained than
// PCRE2's, so we allow more.
const DefaultSteps = 10_000_000

// Limits bound one match.
type Limits struct {
	Steps    int       // backtracking steps; 0 means DefaultSteps
	Deadline time.Time // zero means none
}

// Regexp is a compiled pattern. It is safe for concurrent use.
//
// What MatchValid reads on its common path (a DFA) comes first, in one
// cache line: an action runs hundreds of regexes, and on machines with
// 512 KB of L2 what it touches no longer fits (docs/performance.md,
// twenty-first session).
type Regexp struct {
	dfaOnce   sync.Once
	anchored  bool // /A, or every branch starts with \A or ^
	exactFold bool
	dfa       *dfa     // exact, when the pattern is regular
	minLen    int      // in bytes
	exactSet  []string // the pattern is these fixed strings: see ExactStrings
	unit      *inst    // the pattern is one repeat unit: see matchUnit

	split        *altSplit // for Match, when it is an alternation
	exactNeedles *Needles  // exactSet, searched together
	relDFA       *dfa      // a superset, when it is not

	source string // the pattern as given (PHP-delimited)
	root   *node
	ncap   int
	names  map[string][]int

	// The backtracking program is built on first use: most patterns run
	// on the DFA only.
	progOnce sync.Once
	prog     *prog
	progErr  error

	firstBytes *[256]bool

	lits Literals

	// exactCount: no match of one of exactSet can overlap a match of
	// another (see disjointStrings), so Count counts each apart.
	exactCount bool
	oneClass   *class // the pattern is one character class
	bounded    *boundedString

	exactOnce  sync.Once
	exact      *re2.Regexp
	exactNeeds need

	relaxedOnce sync.Once
	relaxed     *re2.Regexp

	// To a multiple of 64 bytes, whose size classes place every object at
	// the start of a cache line, so that the first line is the hot one
	// (TestRegexpLayout).
	_ [40]byte
}

// program returns the backtracking program, building it on first use.
func (re *Regexp) program() (*prog, error) {
	re.progOnce.Do(func() {
		if re.prog == nil {
			re.prog, re.progErr = compileProg(re.root, re.ncap)
		}
	})
	return re.prog, re.progErr
}

// lazyDFA returns the pattern's DFA, built on first use, or nil.
func (re *Regexp) lazyDFA() *dfa {
	re.buildDFAs()
	return re.dfa
}

// relaxedDFA returns the DFA of a pattern that matches a superset of this
// one, for patterns that need the backtracking engine; or nil.
func (re *Regexp) relaxedDFA() *dfa {
	re.buildDFAs()
	return re.relDFA
}

func (re *Regexp) buildDFAs() {
	re.dfaOnce.Do(func() {
		if re.dfa = newDFA(re.root); re.dfa != nil {
			return
		}
		if re.split = splitAlternatives(re); re.split != nil {
			return
		}
		groups := map[int][]*node{}
		collectAllGroups(re.root, groups)
		if r := relax(re.root, groups, 0); r != nil {
			re.relDFA = newDFA(r)
		}
	})
}

// Munge escapes every "/" that is not already escaped by an odd number of
// backslashes, as AbuseFilter does before handing a rule's regex to PHP.
func Munge(raw string) string {
	if !strings.Contains(raw, "/") {
		return raw
	}
	var b strings.Builder
	backslashes := 0
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c == '/' && backslashes%2 == 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		if c == '\\' {
			backslashes++
		} else {
			backslashes = 0
		}
	}
	return b.String()
}

// BuildPattern is AbuseFilter's RegexpUtils::buildPattern: the PHP pattern
// string "/munged/u", with "i" for case-insensitive matching.
func BuildPattern(raw string, caseless bool) string {
	p := "/" + Munge(raw) + "/u"
	if caseless {
		p += "i"
	}
	return p
}

// Compile compiles a rule's regex as AbuseFilter's rlike (caseless=false)
// or irlike (caseless=true) does.
func Compile(raw string, caseless bool) (*Regexp, error) {
	return CompilePHP(BuildPattern(raw, caseless))
}

// CompilePHP compiles a PHP preg pattern with its delimiters and modifiers,
// such as "/a+b/ui" or "#^x$#u".
func CompilePHP(pattern string) (*Regexp, error) {
	body, f, anchored, err := splitDelimiters(pattern)
	if err != nil {
		return nil, err
	}
	root, ncap, names, err := parse(body, f)
	if err != nil {
		return nil, err
	}
	re := &Regexp{source: pattern, root: root, ncap: ncap, names: names}
	if progBound(root) > maxProgSize/4 || hasRecursion(root) {
		// It may be too large: find out now, so that the error is the
		// pattern's, as PCRE reports it when compiling.
		if re.prog, err = compileProg(root, ncap); err != nil {
			return nil, err
		}
	}
	re.anchored = anchored || startsAnchored(root)
	re.firstBytes = firstByteSet(root)
	re.minLen = minLength(root)
	re.lits = extractLiterals(root)
	re.unit = unitOf(root)
	if !anchored {
		re.exactSet, re.exactFold = exactStrings(root)
		if re.exactSet != nil {
			re.exactNeedles = NewNeedles(re.exactSet)
			re.exactCount = disjointStrings(re.exactSet)
		}
		re.oneClass = oneClass(root)
		re.bounded = boundedStringOf(root)
	}
	return re, nil
}

// splitDelimiters reads a PHP pattern: delimiters (bracket pairs nest) and
// trailing modifiers, as pcre_get_compiled_regex_cache does.
func splitDelimiters(p string) (body string, f flags, anchored bool, err error) {
	i := 0
	for i < len(p) && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r' || p[i] == '\v' || p[i] == '\f') {
		i++
	}
	if i >= len(p) {
		return "", f, false, &Error{0, "empty regular expression"}
	}
	d := p[i]
	if d == '\\' || d == 0 || d < 128 && (d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' || d >= '0' && d <= '9') {
		return "", f, false, &Error{i, "delimiter must not be alphanumeric, backslash, or NUL"}
	}
	start := i + 1
	end := -1
	if closeD, ok := map[byte]byte{'(': ')', '[': ']', '{': '}', '<': '>'}[d]; ok {
		depth := 1
		for j := start; j < len(p); j++ {
			switch c := p[j]; {
			case c == '\\' && j+1 < len(p):
				j++
			case c == closeD:
				depth--
				if depth == 0 {
					end = j
				}
			case c == d:
				depth++
			}
			if end >= 0 {
				break
			}
		}
	} else {
		for j := start; j < len(p); j++ {
			if p[j] == '\\' && j+1 < len(p) {
				j++
				continue
			}
			if p[j] == d {
				end = j
				break
			}
		}
	}
	if end < 0 {
		return "", f, false, &Error{len(p), "no ending delimiter"}
	}
	for _, m := range p[end+1:] {
		switch m {
		case 'i':
			f.caseless = true
		case 'm':
			f.multiline = true
		case 's':
			f.dotall = true
		case 'x':
			f.extended = true
		case 'A':
			anchored = true
		case 'D':
			f.dollarEnd = true
		case 'U':
			f.ungreedy = true
		case 'J':
			f.dupNames = true
		case 'n':
			f.noAutoCap = true
		case 'u', 'S', 'X', ' ', '\n', '\r':
			// UTF and UCP are always on; S and X do nothing in PCRE2.
		default:
			return "", f, false, &Error{end + 1, "unknown modifier " + strconv.QuoteRune(m)}
		}
	}
	return p[start:end], f, anchored, nil
}

// startsAnchored reports whether every match must start at offset 0.
func startsAnchored(n *node) bool {
	switch n.op {
	case opAssert:
		return n.assert == assertBOL || n.assert == assertStart
	case opConcat:
		return len(n.subs) > 0 && startsAnchored(n.subs[0])
	case opAlt:
		for _, s := range n.subs {
			if !startsAnchored(s) {
				return false
			}
		}
		return true
	case opGroup, opAtomic:
		return startsAnchored(n.sub())
	}
	return false
}

// firstByteSet returns the bytes a match can start with, or nil when any
// byte may start one (or the pattern can match the empty string).
func firstByteSet(n *node) *[256]bool {
	var set [256]bool
	if !firstBytes(n, &set) {
		return nil
	}
	return &set
}

// firstBytes adds the possible first bytes of n to set and reports whether
// n always consumes a character (so that the set is complete).
func firstBytes(n *node, set *[256]bool) bool {
	addRune := func(r rune) {
		var buf [4]byte
		utf8.EncodeRune(buf[:], r)
		set[buf[0]] = true
	}
	switch n.op {
	case opLiteral:
		addRune(n.r)
		if n.fold {
			for f := n.r; ; {
				f = unicode.SimpleFold(f)
				if f == n.r {
					break
				}
				addRune(f)
			}
		}
		return true
	case opClass:
		rs := n.cls.ranges
		for i := 0; i < len(rs); i += 2 {
			lo, hi := rs[i], rs[i+1]
			if lo < 128 {
				for r := lo; r <= hi && r < 128; r++ {
					set[r] = true
				}
			}
			if hi >= 128 {
				// Any lead byte of a multi-byte character.
				for b := 0xC2; b <= 0xF4; b++ {
					set[b] = true
				}
			}
		}
		return true
	case opConcat:
		for _, s := range n.subs {
			switch s.op {
			case opAssert, opLook, opKeep, opEmpty:
				continue
			}
			return firstBytes(s, set)
		}
		return false
	case opAlt:
		for _, s := range n.subs {
			if !firstBytes(s, set) {
				return false
			}
		}
		return true
	case opGroup, opAtomic:
		return firstBytes(n.sub(), set)
	case opRepeat:
		if n.min == 0 {
			return false
		}
		return firstBytes(n.sub(), set)
	}
	return false
}

// minLength returns the fewest bytes a match can have.
func minLength(n *node) int {
	switch n.op {
	case opLiteral:
		if n.fold {
			return 1
		}
		return utf8.RuneLen(n.r)
	case opClass, opAny:
		return 1
	case opConcat:
		total := 0
		for _, s := range n.subs {
			total += minLength(s)
		}
		return total
	case opAlt:
		m := -1
		for _, s := range n.subs {
			if l := minLength(s); m < 0 || l < m {
				m = l
			}
		}
		return max(m, 0)
	case opRepeat:
		return n.min * minLength(n.sub())
	case opGroup, opAtomic:
		return minLength(n.sub())
	}
	return 0
}

// NumGroups returns the number of capturing groups.
func (re *Regexp) NumGroups() int { return re.ncap }

// Literals returns the literals every match contains (see Literals).
func (re *Regexp) Literals() Literals { return re.lits }

// String returns the pattern as given.
func (re *Regexp) String() string { return re.source }

func (re *Regexp) exactRE2() (*re2.Regexp, need) {
	re.exactOnce.Do(func() {
		src, needs, ok := translate(re.root, false)
		if !ok {
			return
		}
		if r, err := re2.Compile(src); err == nil && r.NumSubexp() == re.ncap {
			re.exact, re.exactNeeds = r, needs
		}
	})
	return re.exact, re.exactNeeds
}

func (re *Regexp) relaxedRE2() *re2.Regexp {
	re.relaxedOnce.Do(func() {
		src, _, ok := translate(re.root, true)
		if !ok {
			return
		}
		if r, err := re2.Compile(src); err == nil {
			re.relaxed = r
		}
	})
	return re.relaxed
}

// subjectNeeds returns which translation conditions s satisfies.
func subjectNeeds(s string) need {
	var have need
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		have |= needASCII
	}
	if !strings.HasSuffix(s, "\n") {
		have |= needNoFinalNL
	}
	return have
}

// fast returns the RE2 program that answers exactly for s, if any.
func (re *Regexp) fast(s string) *re2.Regexp {
	r, needs := re.exactRE2()
	if r == nil {
		return nil
	}
	if needs != 0 && subjectNeeds(s)&needs != needs {
		return nil
	}
	return r
}

// Match reports whether the pattern matches anywhere in s (preg_match).
func (re *Regexp) Match(s string, lim Limits) (bool, error) {
	if !utf8.ValidString(s) {
		return false, ErrBadUTF8
	}
	return re.MatchValid(s, lim)
}

// MatchValid is Match for a subject known to be valid UTF-8.
func (re *Regexp) MatchValid(s string, lim Limits) (bool, error) {
	if len(s) < re.minLen {
		return false, nil
	}
	if re.exactSet != nil {
		if re.exactFold {
			s = FoldString(s)
		}
		return re.matchExact(s), nil
	}
	if re.unit != nil && !re.anchored {
		return matchUnit(re.unit, s), nil
	}
	if d := re.lazyDFA(); d != nil {
		return d.match(s), nil
	}
	if re.split != nil {
		return re.split.match(s, lim)
	}
	if r := re.fast(s); r != nil {
		return r.MatchString(s), nil
	}
	if d := re.relaxedDFA(); d != nil && !d.match(s) {
		return false, nil
	}
	caps, err := re.exec(s, 0, 0, false, lim)
	return caps != nil, err
}

// FindSubmatchIndex returns the first match and its groups as byte offset
// pairs (-1 for unset groups), like preg_match with $matches; nil when there
// is no match.
func (re *Regexp) FindSubmatchIndex(s string, lim Limits) ([]int, error) {
	if !utf8.ValidString(s) {
		return nil, ErrBadUTF8
	}
	if r := re.fast(s); r != nil && !hasKeep(re.root) {
		return r.FindStringSubmatchIndex(s), nil
	}
	return re.exec(s, 0, 0, false, lim)
}

// FindSubmatchIndexFrom is FindSubmatchIndex for the leftmost match that
// starts at or after byte offset from; assertions still see the whole
// subject (like preg_match with an offset).
func (re *Regexp) FindSubmatchIndexFrom(s string, from int, lim Limits) ([]int, error) {
	if !utf8.ValidString(s) {
		return nil, ErrBadUTF8
	}
	if from < 0 || from > len(s) {
		return nil, nil
	}
	return re.exec(s, from, from, false, lim)
}

// FindSubmatchIndexBetween is FindSubmatchIndexFrom for a subject known
// to be valid UTF-8 (it is not checked again, which for a long subject
// searched many times over costs more than the searches), and for a match
// that starts at to at the latest: positions after it are not tried.
func (re *Regexp) FindSubmatchIndexBetween(s string, from, to int, lim Limits) ([]int, error) {
	if from < 0 || from > len(s) {
		return nil, nil
	}
	return re.execUpTo(s, from, min(to, len(s)), from, false, lim)
}

// Count returns how many matches preg_match_all finds: after an empty
// match, the next attempt at the same offset must not be empty.
func (re *Regexp) Count(s string, lim Limits) (int, error) {
	if !utf8.ValidString(s) {
		return 0, ErrBadUTF8
	}
	// Each match of one character class is one character, and the matches
	// of fixed strings that cannot overlap one another are each string's
	// own: counting needs no regex engine.
	if c := re.oneClass; c != nil {
		return countClass(c, s), nil
	}
	if re.exactCount {
		if re.exactFold {
			s = FoldString(s)
		}
		n := 0
		for _, x := range re.exactSet {
			n += strings.Count(s, x)
		}
		return n, nil
	}
	if b := re.bounded; b != nil {
		return b.count(s), nil
	}
	if r := re.fast(s); r != nil && re.minLen > 0 && !hasKeep(re.root) {
		// As in each, without the groups, which counting does not need.
		return len(r.FindAllStringIndex(s, -1)), nil
	}
	n := 0
	err := re.each(s, lim, func([]int) { n++ })
	return n, err
}

// each calls fn for every match as preg_match_all iterates.
func (re *Regexp) each(s string, lim Limits, fn func(caps []int)) error {
	if !utf8.ValidString(s) {
		return ErrBadUTF8
	}
	if r := re.fast(s); r != nil && re.minLen > 0 && !hasKeep(re.root) {
		// No empty matches: RE2's iteration is PCRE's.
		for _, m := range r.FindAllStringSubmatchIndex(s, -1) {
			fn(m)
		}
		return nil
	}
	if d := re.relaxedDFA(); d != nil && !d.match(s) {
		return nil
	}
	if d := re.lazyDFA(); d != nil && !d.match(s) {
		return nil
	}
	pos, notEmpty := 0, false
	for pos <= len(s) {
		caps, err := re.exec(s, pos, pos, notEmpty, lim)
		if err != nil {
			return err
		}
		if caps == nil {
			if !notEmpty || pos >= len(s) {
				return nil
			}
			// The empty match may not repeat here: move on one character.
			_, size := utf8.DecodeRuneInString(s[pos:])
			pos += size
			notEmpty = false
			continue
		}
		fn(caps)
		notEmpty = caps[1] == caps[0]
		pos = caps[1]
	}
	return nil
}

// ReplaceAll replaces every match in s with repl, as preg_replace does:
// $n, ${n} and \n (n up to 99) insert group n.
func (re *Regexp) ReplaceAll(s, repl string, lim Limits) (string, error) {
	var out []byte
	last := 0
	err := re.each(s, lim, func(caps []int) {
		out = append(out, s[last:caps[0]]...)
		out = expandReplacement(out, repl, s, caps)
		last = caps[1]
	})
	if err != nil {
		return "", err
	}
	return string(append(out, s[last:]...)), nil
}

// expandReplacement appends repl with group references replaced, following
// php_pcre_replace_impl: a backslash before "\" or "$" makes it literal.
func expandReplacement(out []byte, repl, s string, caps []int) []byte {
	ngroups := len(caps) / 2
	prevBackslash := false
	for i := 0; i < len(repl); {
		c := repl[i]
		if c == '\\' || c == '$' {
			if prevBackslash {
				// The previous backslash escapes this character.
				out[len(out)-1] = c
				i++
				prevBackslash = false
				continue
			}
			if n, width, ok := backrefAt(repl[i:]); ok {
				if n < ngroups && caps[2*n] >= 0 {
					out = append(out, s[caps[2*n]:caps[2*n+1]]...)
				}
				i += width
				continue
			}
		}
		out = append(out, c)
		prevBackslash = c == '\\'
		i++
	}
	return out
}

// backrefAt reads \n, $n or ${n} (one or two digits) at the start of s.
func backrefAt(s string) (n, width int, ok bool) {
	i := 1
	braced := false
	if s[0] == '$' && i < len(s) && s[i] == '{' {
		braced = true
		i++
	}
	start := i
	for i < len(s) && i-start < 2 && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == start {
		return 0, 0, false
	}
	n, _ = strconv.Atoi(s[start:i])
	if braced {
		if i >= len(s) || s[i] != '}' {
			return 0, 0, false
		}
		i++
	}
	return n, i, true
}

func hasKeep(n *node) bool {
	if n == nil {
		return false
	}
	if n.op == opKeep {
		return true
	}
	for _, s := range n.subs {
		if hasKeep(s) {
			return true
		}
	}
	return false
}

// exec runs the exact engine for the leftmost match at or after from.
// searchStart is \G's position; notEmptyAtStart refuses an empty match at
// the first position tried (preg_match_all's retry after an empty match),
// which is then the only position tried.
func (re *Regexp) exec(s string, from, searchStart int, notEmptyAtStart bool, lim Limits) (caps []int, err error) {
	return re.execUpTo(s, from, len(s), searchStart, notEmptyAtStart, lim)
}

// execUpTo is exec for a match that starts at lastStart at the latest.
func (re *Regexp) execUpTo(s string, from, lastStart, searchStart int, notEmptyAtStart bool, lim Limits) (caps []int, err error) {
	p, err := re.program()
	if err != nil {
		return nil, err
	}
	m := machinePool.Get().(*machine)
	defer machinePool.Put(m)
	m.reset(p, s)
	m.steps, m.limit, m.deadline = 0, lim.Steps, lim.Deadline
	if m.limit <= 0 {
		m.limit = DefaultSteps
	}
	m.searchStart = searchStart
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(limitPanic); !ok {
				panic(r)
			}
			caps, err = nil, ErrLimit
		}
	}()
	anchored := re.anchored || notEmptyAtStart
	if re.anchored && from > 0 {
		return nil, nil
	}
	for start := from; start <= lastStart; {
		if !anchored && re.firstBytes != nil {
			for start < len(s) && !re.firstBytes[s[start]] {
				start++
			}
			if start >= len(s) || start > lastStart {
				return nil, nil
			}
		}
		if len(s)-start < re.minLen {
			return nil, nil
		}
		m.clearCaps()
		m.caps[0] = start
		m.attemptStart = start
		m.notEmptyAtStart = notEmptyAtStart && start == from
		m.ctl = ctlNone
		m.stack = m.stack[:0]
		if end, ok := m.run(0, start, 0); ok {
			m.caps[1] = end
			return append([]int(nil), m.caps...), nil
		}
		switch m.ctl {
		case ctlCommit:
			return nil, nil
		case ctlSkip:
			if m.skipTo > start {
				start = m.skipTo
				continue
			}
		}
		if anchored || start >= len(s) {
			return nil, nil
		}
		_, size := utf8.DecodeRuneInString(s[start:])
		start += size
	}
	return nil, nil
}

// MatchesEmpty reports whether the pattern matches the empty string
// (AbuseFilter warns about such patterns).
func (re *Regexp) MatchesEmpty() bool {
	ok, _ := re.Match("", Limits{Steps: 100000})
	return ok
}

// Quote is PHP's preg_quote: it escapes . \ + * ? [ ^ ] $ ( ) { } = ! < > |
// : - # and the delimiter (when not 0) with a backslash, and NUL as \000.
func Quote(s string, delim byte) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0:
			b.WriteString(`\000`)
			continue
		case strings.IndexByte(`.\+*?[^]$(){}=!<>|:-#`, c) >= 0 || delim != 0 && c == delim:
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}
