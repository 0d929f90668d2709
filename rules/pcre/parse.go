package pcre

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Error is a pattern that does not compile. PHP's preg functions return
// false for it, which AbuseFilter reports as "regexfailure".
type Error struct {
	Offset int // byte offset in the pattern
	Msg    string
}

func (e *Error) Error() string { return fmt.Sprintf("regex error at offset %d: %s", e.Offset, e.Msg) }

// flags are the options that (?imsxnU) and the modifiers switch.
type flags struct {
	caseless  bool // i
	multiline bool // m
	dotall    bool // s
	extended  bool // x
	extMore   bool // xx: also ignore space and tab in classes
	noAutoCap bool // n
	ungreedy  bool // U
	dupNames  bool // J
	dollarEnd bool // D (modifier only)
}

// Limits that PCRE2 also imposes (pcre2_compile's defaults).
const (
	maxRepeat    = 65535 // largest number in a {} quantifier
	maxGroups    = 65535
	maxNameLen   = 32
	maxNesting   = 250 // PCRE2's default parenthesis nesting limit
	maxLookbehnd = 65535
)

type parser struct {
	src   string
	pos   int
	flags flags
	ncap  int
	names map[string][]int
	depth int
	// Backreferences and subroutine calls, resolved after parsing because
	// they may refer forwards.
	refs []groupRef
	// Whether the pattern has constructs that need the exact engine.
	anchoredStart bool
	slab          []node  // nodes are carved from here, a chunk at a time
	lists         []*node // and the lists of concatenations and alternations
	stack         []*node // the items of the lists being parsed
}

// alloc returns a new node holding n. Patterns have many small nodes
// (one per literal character); allocating them in chunks keeps compiling
// a large filter set cheap.
func (p *parser) alloc(n node) *node {
	if len(p.slab) == cap(p.slab) {
		p.slab = make([]node, 0, 32)
	}
	p.slab = append(p.slab, n)
	return &p.slab[len(p.slab)-1]
}

// spare holds the unused end of a finished parse's last chunk of nodes for
// the next parse to fill. Without it each pattern left part of a chunk
// unused: 0.74 MB of the 12.3 MB that compiling the 444 real filters
// allocates. Patterns that share a chunk keep it alive together, which
// costs at most a chunk per pattern.
var spare struct {
	sync.Mutex
	nodes []node
}

// parse parses pattern with the given initial options.
func parse(pattern string, f flags) (root *node, ncap int, names map[string][]int, err error) {
	if !utf8.ValidString(pattern) {
		return nil, 0, nil, &Error{0, "pattern is not valid UTF-8"}
	}
	p := &parser{src: pattern, flags: f, names: map[string][]int{}}
	spare.Lock()
	p.slab, spare.nodes = spare.nodes, nil
	spare.Unlock()
	defer func() {
		// The nodes handed out stay this pattern's; the rest is spare.
		if rest := p.slab[len(p.slab):]; cap(rest) >= 4 {
			spare.Lock()
			if cap(rest) > cap(spare.nodes) {
				spare.nodes = rest
			}
			spare.Unlock()
		}
	}()
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			root, err = nil, e
		}
	}()
	p.startOptions()
	root = p.parseAlt()
	if p.pos < len(p.src) {
		// Only an unmatched ")" stops parseAlt early.
		p.fail("unmatched closing parenthesis")
	}
	p.resolve()
	return root, p.ncap, p.names, nil
}

func (p *parser) fail(format string, args ...any) {
	panic(&Error{p.pos, fmt.Sprintf(format, args...)})
}

func (p *parser) more() bool { return p.pos < len(p.src) }

func (p *parser) peekByte() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) lookingAt(s string) bool { return strings.HasPrefix(p.src[p.pos:], s) }

func (p *parser) nextRune() rune {
	r, size := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += size
	return r
}

// startOptions reads PCRE2's start-of-pattern settings such as (*UTF) and
// (*LIMIT_MATCH=n). Vigil always matches in UTF mode with UCP and LF
// newlines, which is what PHP's /u gives; the settings are accepted and,
// except for (*UCP) and (*UTF) which change nothing here, approximated.
func (p *parser) startOptions() {
	for p.lookingAt("(*") {
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			return
		}
		name := p.src[p.pos+2 : p.pos+end]
		base, _, _ := strings.Cut(name, "=")
		switch base {
		case "UTF", "UTF8", "UCP", "LF", "CR", "CRLF", "ANYCRLF", "ANY", "NUL", "BSR_ANYCRLF", "BSR_UNICODE",
			"NO_AUTO_POSSESS", "NO_START_OPT", "NO_DOTSTAR_ANCHOR", "NO_JIT", "LIMIT_MATCH", "LIMIT_DEPTH",
			"LIMIT_HEAP", "LIMIT_RECURSION", "NOTEMPTY", "NOTEMPTY_ATSTART":
			p.pos += end + 1
		default:
			return
		}
	}
}

// skipExtended skips white space and # comments in extended mode.
func (p *parser) skipExtended() {
	if !p.flags.extended {
		return
	}
	for p.more() {
		r, size := utf8.DecodeRuneInString(p.src[p.pos:])
		switch {
		case r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' ||
			r == 0x85 || r == 0x200E || r == 0x200F || r == 0x2028 || r == 0x2029:
			p.pos += size
		case r == '#':
			for p.more() && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

// parseAlt parses alternatives up to an unmatched ")" or the end.
func (p *parser) parseAlt() *node {
	start := len(p.stack)
	for {
		p.stack = append(p.stack, p.parseConcat())
		if !p.more() || p.src[p.pos] != '|' {
			break
		}
		p.pos++
	}
	if len(p.stack)-start == 1 {
		n := p.stack[start]
		p.stack = p.stack[:start]
		return n
	}
	return p.alloc(node{op: opAlt, subs: p.popList(start)})
}

func (p *parser) parseConcat() *node {
	start := len(p.stack)
	for {
		p.skipExtended()
		if !p.more() || p.src[p.pos] == '|' || p.src[p.pos] == ')' {
			break
		}
		atom := p.parseAtom()
		if atom == nil {
			continue // a comment or an option setting
		}
		atom = p.parseQuantifiers(atom)
		p.stack = append(p.stack, atom)
	}
	switch len(p.stack) - start {
	case 0:
		return p.alloc(node{op: opEmpty})
	case 1:
		n := p.stack[start]
		p.stack = p.stack[:start]
		return n
	}
	return p.alloc(node{op: opConcat, subs: p.popList(start)})
}

// popList returns the nodes pushed on p.stack since start, as a list of
// their own, and pops them. Lists are carved from chunks, like nodes.
func (p *parser) popList(start int) []*node {
	items := p.stack[start:]
	n := len(items)
	if len(p.lists) < n {
		p.lists = make([]*node, max(n, 32))
	}
	list := p.lists[:n:n]
	p.lists = p.lists[n:]
	copy(list, items)
	clear(items)
	p.stack = p.stack[:start]
	return list
}

// quantifiable reports whether a quantifier may follow n.
func quantifiable(n *node) bool {
	switch n.op {
	case opAssert, opKeep, opVerb, opEmpty:
		return false
	}
	return true
}

func (p *parser) parseQuantifiers(atom *node) *node {
	for {
		p.skipExtended()
		if !p.more() {
			return atom
		}
		start := p.pos
		min, max, ok := p.quantifier()
		if !ok {
			return atom
		}
		if !quantifiable(atom) {
			p.pos = start
			p.fail("quantifier does not follow a repeatable item")
		}
		greedy, possessive := true, false
		if p.more() {
			switch p.src[p.pos] {
			case '?':
				greedy = false
				p.pos++
			case '+':
				possessive = true
				p.pos++
			}
		}
		if p.flags.ungreedy && !possessive {
			greedy = !greedy
		}
		if atom.op == opLook {
			// PCRE2 treats a quantified assertion as matching at most once.
			if max != 0 {
				max = 1
			}
		}
		atom = p.alloc(node{op: opRepeat, subs: []*node{atom}, min: min, max: max, greedy: greedy, possessive: possessive})
	}
}

// quantifier reads *, +, ?, {n}, {n,}, {n,m}. A "{" that does not start a
// valid quantifier is not one (it is then a literal).
func (p *parser) quantifier() (min, max int, ok bool) {
	switch p.src[p.pos] {
	case '*':
		p.pos++
		return 0, -1, true
	case '+':
		p.pos++
		return 1, -1, true
	case '?':
		p.pos++
		return 0, 1, true
	case '{':
		rest := p.src[p.pos+1:]
		end := strings.IndexByte(rest, '}')
		if end < 0 {
			return 0, 0, false
		}
		body := rest[:end]
		lo, hi, comma := strings.Cut(body, ",")
		if !isDigits(lo) || comma && hi != "" && !isDigits(hi) {
			return 0, 0, false
		}
		min = p.repeatCount(lo)
		switch {
		case !comma:
			max = min
		case hi == "":
			max = -1
		default:
			max = p.repeatCount(hi)
			if max < min {
				p.fail("numbers out of order in {} quantifier")
			}
		}
		p.pos += end + 2
		return min, max, true
	}
	return 0, 0, false
}

func (p *parser) repeatCount(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n > maxRepeat {
		p.fail("number too big in {} quantifier")
	}
	return n
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func (p *parser) literal(r rune) *node {
	return p.alloc(node{op: opLiteral, r: r, fold: p.flags.caseless})
}

// parseAtom parses one item. It returns nil for items that match nothing
// and need no node (comments, option settings).
func (p *parser) parseAtom() *node {
	c := p.src[p.pos]
	switch c {
	case '(':
		return p.parseGroup()
	case '[':
		return p.parseClass()
	case '.':
		p.pos++
		return p.alloc(node{op: opAny, dotall: p.flags.dotall})
	case '^':
		p.pos++
		if p.flags.multiline {
			return p.alloc(node{op: opAssert, assert: assertBOLMulti})
		}
		return p.alloc(node{op: opAssert, assert: assertBOL})
	case '$':
		p.pos++
		switch {
		case p.flags.multiline:
			return p.alloc(node{op: opAssert, assert: assertEOLMulti})
		case p.flags.dollarEnd:
			return p.alloc(node{op: opAssert, assert: assertEOLDollarEnd})
		}
		return p.alloc(node{op: opAssert, assert: assertEOL})
	case '\\':
		return p.parseEscape()
	case '*', '+', '?':
		p.fail("quantifier does not follow a repeatable item")
	case '{':
		save := p.pos
		if _, _, ok := p.quantifier(); ok {
			p.pos = save
			p.fail("quantifier does not follow a repeatable item")
		}
		p.pos = save + 1
		return p.literal('{')
	}
	return p.literal(p.nextRune())
}

// parseEscape parses a backslash sequence outside a class.
func (p *parser) parseEscape() *node {
	start := p.pos
	p.pos++ // the backslash
	if !p.more() {
		p.fail(`\ at end of pattern`)
	}
	c := p.src[p.pos]
	switch c {
	case 'b', 'B', 'A', 'z', 'Z', 'G':
		p.pos++
		kind := map[byte]assertKind{'b': assertWord, 'B': assertNotWord, 'A': assertStart, 'z': assertEnd, 'Z': assertEndNL, 'G': assertFirstPos}[c]
		return p.alloc(node{op: opAssert, assert: kind})
	case 'K':
		p.pos++
		return p.alloc(node{op: opKeep})
	case 'Q':
		p.pos++
		end := strings.Index(p.src[p.pos:], `\E`)
		text := p.src[p.pos:]
		if end >= 0 {
			text = text[:end]
			p.pos += end + 2
		} else {
			p.pos = len(p.src)
		}
		var items []*node
		for _, r := range text {
			items = append(items, p.literal(r))
		}
		switch len(items) {
		case 0:
			return nil
		case 1:
			return items[0]
		}
		// A quantifier after \Q..\E applies to the last character only.
		return p.alloc(node{op: opConcat, subs: items})
	case 'E':
		p.pos++
		return nil
	case 'd', 'D', 'w', 'W', 's', 'S', 'h', 'H', 'v', 'V', 'N':
		p.pos++
		if c == 'N' && p.more() && p.src[p.pos] == '{' {
			p.fail(`\N{name} is not supported`)
		}
		return p.alloc(node{op: opClass, cls: typeClass(c)})
	case 'R':
		p.pos++
		return newlineSequence()
	case 'X':
		p.pos++
		return graphemeCluster()
	case 'C':
		p.pos++
		return p.alloc(node{op: opAny, dotall: true})
	case 'p', 'P':
		return p.alloc(node{op: opClass, cls: p.parseProperty()})
	case 'g':
		return p.parseGRef()
	case 'k':
		p.pos++
		if !p.more() {
			p.fail(`\k is not followed by a group name`)
		}
		var close byte
		switch p.src[p.pos] {
		case '<':
			close = '>'
		case '\'':
			close = '\''
		case '{':
			close = '}'
		default:
			p.fail(`\k is not followed by a group name`)
		}
		p.pos++
		name := p.groupName(close)
		return p.ref(p.alloc(node{op: opBackref, fold: p.flags.caseless}), name)
	}
	if c >= '1' && c <= '9' {
		// A backreference when < 10, starting with 8 or 9, or when that
		// many groups were opened before; otherwise octal.
		j := p.pos
		for j < len(p.src) && isDigitByte(p.src[j]) {
			j++
		}
		n, _ := strconv.Atoi(p.src[p.pos:j])
		if n < 10 || c == '8' || c == '9' || n <= p.ncap {
			if n > maxGroups {
				p.fail("group number is too big")
			}
			p.pos = j
			return p.ref(p.alloc(node{op: opBackref, cap: n, fold: p.flags.caseless}), "")
		}
	}
	r, ok := p.charEscape(false)
	if !ok {
		p.pos = start
		p.fail(`unrecognized character follows \`)
	}
	return p.literal(r)
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// groupRef is a node that refers to a group, by name when name is set.
type groupRef struct {
	n    *node
	name string
}

func (p *parser) ref(n *node, name string) *node {
	p.refs = append(p.refs, groupRef{n, name})
	return n
}

// charEscape reads an escape that stands for one character (p.pos is after
// the backslash). inClass selects the class meaning of \b (backspace).
func (p *parser) charEscape(inClass bool) (rune, bool) {
	c := p.src[p.pos]
	p.pos++
	switch c {
	case 'a':
		return 7, true
	case 'e':
		return 0x1B, true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	case 'b':
		if inClass {
			return '\b', true
		}
		return 0, false
	case '0':
		// \0 followed by up to two more octal digits.
		v := 0
		for i := 0; i < 2 && p.more() && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; i++ {
			v = v*8 + int(p.src[p.pos]-'0')
			p.pos++
		}
		return rune(v), true
	case '1', '2', '3', '4', '5', '6', '7':
		// Octal: up to three digits in all.
		v := int(c - '0')
		for i := 0; i < 2 && p.more() && p.src[p.pos] >= '0' && p.src[p.pos] <= '7'; i++ {
			v = v*8 + int(p.src[p.pos]-'0')
			p.pos++
		}
		return p.checkCodePoint(v), true
	case '8', '9':
		return rune(c), true
	case 'o':
		if !p.more() || p.src[p.pos] != '{' {
			p.fail(`missing opening brace after \o`)
		}
		end := strings.IndexByte(p.src[p.pos:], '}')
		if end < 0 {
			p.fail(`missing closing brace after \o{`)
		}
		v, err := strconv.ParseUint(p.src[p.pos+1:p.pos+end], 8, 32)
		if err != nil || end == 1 {
			p.fail(`invalid octal digits in \o{...}`)
		}
		p.pos += end + 1
		return p.checkCodePoint(int(v)), true
	case 'x':
		if p.more() && p.src[p.pos] == '{' {
			end := strings.IndexByte(p.src[p.pos:], '}')
			if end < 0 {
				p.fail(`missing closing brace after \x{`)
			}
			digits := p.src[p.pos+1 : p.pos+end]
			v, err := strconv.ParseUint(digits, 16, 32)
			if err != nil || digits == "" {
				p.fail(`non-hex character in \x{...}`)
			}
			p.pos += end + 1
			return p.checkCodePoint(int(v)), true
		}
		v := 0
		for i := 0; i < 2 && p.more() && isHexByte(p.src[p.pos]); i++ {
			v = v*16 + hexVal(p.src[p.pos])
			p.pos++
		}
		return rune(v), true
	case 'c':
		if !p.more() || p.src[p.pos] < 32 || p.src[p.pos] > 126 {
			p.fail(`\c must be followed by a printable ASCII character`)
		}
		x := p.src[p.pos]
		p.pos++
		if x >= 'a' && x <= 'z' {
			x -= 32
		}
		return rune(x ^ 0x40), true
	}
	if c < 128 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
		return 0, false
	}
	// Any other character stands for itself.
	p.pos--
	return p.nextRune(), true
}

func (p *parser) checkCodePoint(v int) rune {
	if v > maxRune || v >= 0xD800 && v <= 0xDFFF {
		p.fail("character code point value is too large or a surrogate")
	}
	return rune(v)
}

func isHexByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// typeClass returns the class of \d, \w, \s, \h, \v, \N and their negations.
func typeClass(c byte) *class {
	switch c {
	case 'd':
		return classDigit
	case 'D':
		return classNotDigit
	case 'w':
		return classWord
	case 'W':
		return classNotWord
	case 's':
		return classSpace
	case 'S':
		return classNotSpace
	case 'h':
		return classH
	case 'H':
		return classNotH
	case 'v':
		return classV
	case 'V':
		return classNotV
	}
	return classNotNL // \N
}

// newlineSequence is \R: (?>\r\n|\n|\x0b|\f|\r|\x85|\x{2028}|\x{2029}).
func newlineSequence() *node {
	crlf := &node{op: opConcat, subs: []*node{{op: opLiteral, r: '\r'}, {op: opLiteral, r: '\n'}}}
	single := &node{op: opClass, cls: classV}
	return &node{op: opAtomic, subs: []*node{{op: opAlt, subs: []*node{crlf, single}}}}
}

// graphemeCluster approximates \X as a non-mark character followed by any
// combining marks (or a run of marks), with CRLF kept together.
func graphemeCluster() *node {
	marks, _ := property("M")
	markClass := newClass(marks, `\p{M}`)
	notMark := newClass(complement(normalize(marks)), `\P{M}`)
	crlf := &node{op: opConcat, subs: []*node{{op: opLiteral, r: '\r'}, {op: opLiteral, r: '\n'}}}
	base := &node{op: opConcat, subs: []*node{
		{op: opClass, cls: notMark},
		{op: opRepeat, subs: []*node{{op: opClass, cls: markClass}}, min: 0, max: -1, greedy: true},
	}}
	markRun := &node{op: opRepeat, subs: []*node{{op: opClass, cls: markClass}}, min: 1, max: -1, greedy: true}
	return &node{op: opAtomic, subs: []*node{{op: opAlt, subs: []*node{crlf, base, markRun}}}}
}

// parseProperty reads \p{..}, \P{..}, \pL, \p{^L}.
func (p *parser) parseProperty() *class {
	neg := p.src[p.pos] == 'P'
	p.pos++
	if !p.more() {
		p.fail(`malformed \P or \p sequence`)
	}
	var name string
	if p.src[p.pos] == '{' {
		end := strings.IndexByte(p.src[p.pos:], '}')
		if end < 0 {
			p.fail(`malformed \P or \p sequence`)
		}
		name = p.src[p.pos+1 : p.pos+end]
		p.pos += end + 1
		if strings.HasPrefix(name, "^") {
			neg = !neg
			name = name[1:]
		}
	} else {
		name = string(p.nextRune())
	}
	rs, ok := property(name)
	if !ok {
		p.fail("unknown property name after \\P or \\p: %s", name)
	}
	re2 := ""
	if isSimpleName(name) {
		re2 = `\p{` + name + `}`
		if neg {
			re2 = `\P{` + name + `}`
		}
	}
	if neg {
		rs = complement(normalize(rs))
	}
	return newClass(rs, re2)
}

// isSimpleName reports whether RE2 knows the property under this exact name.
func isSimpleName(name string) bool {
	if len(name) == 0 || len(name) > 2 {
		return false
	}
	_, ok := categoryNames[name]
	return ok
}

var categoryNames = map[string]bool{
	"C": true, "Cc": true, "Cf": true, "Co": true, "Cs": true, "L": true, "Ll": true, "Lm": true, "Lo": true,
	"Lt": true, "Lu": true, "M": true, "Mc": true, "Me": true, "Mn": true, "N": true, "Nd": true, "Nl": true,
	"No": true, "P": true, "Pc": true, "Pd": true, "Pe": true, "Pf": true, "Pi": true, "Po": true, "Ps": true,
	"S": true, "Sc": true, "Sk": true, "Sm": true, "So": true, "Z": true, "Zl": true, "Zp": true, "Zs": true,
}

// parseGRef reads \g references: \gN, \g{N}, \g{-N}, \g{name} are
// backreferences; \g<..> and \g'..' are subroutine calls.
func (p *parser) parseGRef() *node {
	p.pos++ // g
	if !p.more() {
		p.fail(`a numbered reference must not be zero`)
	}
	switch c := p.src[p.pos]; c {
	case '<', '\'':
		close := byte('>')
		if c == '\'' {
			close = '\''
		}
		p.pos++
		end := strings.IndexByte(p.src[p.pos:], close)
		if end < 0 {
			p.fail(`\g is not followed by a name or number`)
		}
		ref := p.src[p.pos : p.pos+end]
		p.pos += end + 1
		return p.callRef(ref)
	case '{':
		end := strings.IndexByte(p.src[p.pos:], '}')
		if end < 0 {
			p.fail(`\g is not followed by a name or number`)
		}
		ref := p.src[p.pos+1 : p.pos+end]
		p.pos += end + 1
		if n, ok := p.groupNumber(ref); ok {
			return p.ref(p.alloc(node{op: opBackref, cap: n, fold: p.flags.caseless}), "")
		}
		if !validName(ref) {
			p.fail(`\g is not followed by a name or number`)
		}
		return p.ref(p.alloc(node{op: opBackref, fold: p.flags.caseless}), ref)
	}
	j := p.pos
	if j < len(p.src) && (p.src[j] == '-' || p.src[j] == '+') {
		j++
	}
	for j < len(p.src) && isDigitByte(p.src[j]) {
		j++
	}
	n, ok := p.groupNumber(p.src[p.pos:j])
	if !ok {
		p.fail(`\g is not followed by a name or number`)
	}
	p.pos = j
	return p.ref(p.alloc(node{op: opBackref, cap: n, fold: p.flags.caseless}), "")
}

// groupNumber reads an absolute or relative group number.
func (p *parser) groupNumber(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	rel := s[0] == '-' || s[0] == '+'
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	if !rel {
		if n <= 0 {
			p.fail("a numbered reference must not be zero")
		}
		return n, true
	}
	switch {
	case n < 0:
		n = p.ncap + 1 + n
	case n > 0:
		n = p.ncap + n
	}
	if n <= 0 {
		p.fail("reference to non-existent subpattern")
	}
	return n, true
}

// callRef builds a subroutine call to a group number or name ("0" or "R" is
// the whole pattern).
func (p *parser) callRef(ref string) *node {
	if ref == "R" || ref == "0" {
		return p.ref(p.alloc(node{op: opRecurse}), "")
	}
	if n, ok := p.groupNumber(ref); ok {
		return p.ref(p.alloc(node{op: opRecurse, cap: n}), "")
	}
	if !validName(ref) {
		p.fail("subpattern name expected")
	}
	return p.ref(p.alloc(node{op: opRecurse}), ref)
}

func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || isDigitByte(s[0]) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// groupName reads a name up to close.
func (p *parser) groupName(close byte) string {
	end := strings.IndexByte(p.src[p.pos:], close)
	if end < 0 {
		p.fail("syntax error in subpattern name (missing terminator?)")
	}
	name := p.src[p.pos : p.pos+end]
	if !validName(name) {
		p.fail("subpattern name expected or invalid")
	}
	p.pos += end + 1
	return name
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxNesting {
		p.fail("parentheses are too deeply nested")
	}
}

// parseGroup parses everything that starts with "(".
func (p *parser) parseGroup() *node {
	start := p.pos
	p.pos++ // (
	p.enter()
	defer func() { p.depth-- }()
	if p.lookingAt("*") {
		return p.parseVerb(start)
	}
	if !p.lookingAt("?") {
		if p.flags.noAutoCap {
			return p.groupBody(p.alloc(node{op: opGroup}))
		}
		return p.groupBody(p.newCapture(""))
	}
	p.pos++ // ?
	if !p.more() {
		p.fail("unrecognized character after (? or (?-")
	}
	switch c := p.src[p.pos]; c {
	case '#':
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			p.fail("missing ) after (?# comment")
		}
		p.pos += end + 1
		return nil
	case ':':
		p.pos++
		return p.groupBody(p.alloc(node{op: opGroup}))
	case '|':
		p.pos++
		return p.branchReset()
	case '>':
		p.pos++
		return p.groupBody(p.alloc(node{op: opAtomic}))
	case '=', '!':
		p.pos++
		return p.groupBody(p.alloc(node{op: opLook, negate: c == '!'}))
	case '<':
		if p.lookingAt("<=") || p.lookingAt("<!") {
			neg := p.src[p.pos+1] == '!'
			p.pos += 2
			return p.lookbehind(p.groupBody(p.alloc(node{op: opLook, behind: true, negate: neg})))
		}
		p.pos++
		return p.groupBody(p.newCapture(p.groupName('>')))
	case '\'':
		p.pos++
		return p.groupBody(p.newCapture(p.groupName('\'')))
	case 'P':
		p.pos++
		switch {
		case p.lookingAt("<"):
			p.pos++
			return p.groupBody(p.newCapture(p.groupName('>')))
		case p.lookingAt("="):
			p.pos++
			name := p.groupName(')')
			return p.ref(p.alloc(node{op: opBackref, fold: p.flags.caseless}), name)
		case p.lookingAt(">"):
			p.pos++
			return p.callRef(p.groupName(')'))
		}
		p.fail("unrecognized character after (?P")
	case '&':
		p.pos++
		return p.callRef(p.groupName(')'))
	case 'R':
		if p.lookingAt("R)") {
			p.pos += 2
			return p.ref(p.alloc(node{op: opRecurse}), "")
		}
	case '(':
		return p.conditional()
	case 'C':
		// Callouts: PHP sets no callout function, so they do nothing.
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			p.fail("missing ) after (?C")
		}
		p.pos += end + 1
		return nil
	}
	if c := p.src[p.pos]; c == '+' || c == '-' || isDigitByte(c) {
		j := p.pos + 1
		for j < len(p.src) && isDigitByte(p.src[j]) {
			j++
		}
		if j > p.pos+1 || isDigitByte(c) {
			if j < len(p.src) && p.src[j] == ')' {
				ref := p.src[p.pos:j]
				p.pos = j + 1
				return p.callRef(ref)
			}
		}
	}
	return p.optionSetting()
}

// groupBody parses the alternatives of a group up to its ")" and fills g.
func (p *parser) groupBody(g *node) *node {
	saved := p.flags
	body := p.parseAlt()
	p.flags = saved
	if !p.more() || p.src[p.pos] != ')' {
		p.fail("missing closing parenthesis")
	}
	p.pos++
	g.subs = []*node{body}
	return g
}

func (p *parser) newCapture(name string) *node {
	p.ncap++
	if p.ncap > maxGroups {
		p.fail("too many capturing groups")
	}
	n := p.alloc(node{op: opGroup, cap: p.ncap})
	if name != "" {
		if prev := p.names[name]; len(prev) > 0 && !p.flags.dupNames {
			p.fail("two named subpatterns have the same name (PCRE2_DUPNAMES not set)")
		}
		p.names[name] = append(p.names[name], p.ncap)
	}
	return n
}

// branchReset parses (?|...): each alternative numbers its groups from the
// same starting number.
func (p *parser) branchReset() *node {
	saved := p.flags
	base := p.ncap
	maxCap := base
	var alts []*node
	for {
		p.ncap = base
		alts = append(alts, p.parseConcat())
		if p.ncap > maxCap {
			maxCap = p.ncap
		}
		if !p.more() || p.src[p.pos] != '|' {
			break
		}
		p.pos++
	}
	p.ncap = maxCap
	p.flags = saved
	if !p.more() || p.src[p.pos] != ')' {
		p.fail("missing closing parenthesis")
	}
	p.pos++
	body := alts[0]
	if len(alts) > 1 {
		body = p.alloc(node{op: opAlt, subs: alts})
	}
	return p.alloc(node{op: opGroup, subs: []*node{body}})
}

// lookbehind checks that every top-level branch has a fixed length.
func (p *parser) lookbehind(n *node) *node {
	for _, alt := range alternatives(n.sub()) {
		if l, ok := fixedLength(alt); !ok || l > maxLookbehnd {
			p.fail("lookbehind assertion is not fixed length")
		}
	}
	return n
}

func alternatives(n *node) []*node {
	if n.op == opAlt {
		return n.subs
	}
	return []*node{n}
}

// fixedLength returns the length in characters every match of n has.
func fixedLength(n *node) (int, bool) {
	switch n.op {
	case opEmpty, opAssert, opLook, opKeep, opVerb:
		return 0, true
	case opLiteral, opClass, opAny:
		return 1, true
	case opConcat:
		total := 0
		for _, s := range n.subs {
			l, ok := fixedLength(s)
			if !ok {
				return 0, false
			}
			total += l
		}
		return total, true
	case opAlt:
		first := -1
		for _, s := range n.subs {
			l, ok := fixedLength(s)
			if !ok || first >= 0 && l != first {
				return 0, false
			}
			first = l
		}
		return first, true
	case opRepeat:
		if n.min != n.max {
			return 0, false
		}
		l, ok := fixedLength(n.sub())
		return l * n.min, ok
	case opGroup, opAtomic:
		return fixedLength(n.sub())
	}
	return 0, false
}

// conditional parses (?(condition)yes|no).
func (p *parser) conditional() *node {
	p.pos++ // the second (
	n := p.alloc(node{op: opCond})
	switch {
	case p.lookingAt("?=") || p.lookingAt("?!") || p.lookingAt("?<=") || p.lookingAt("?<!"):
		p.pos-- // parse the assertion as a group from its "("
		look := p.parseGroup()
		n.cond, n.condLook = condAssert, look
	default:
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			p.fail("malformed number or name after (?(")
		}
		text := p.src[p.pos : p.pos+end]
		p.pos += end + 1
		switch {
		case text == "DEFINE":
			n.cond = condDefine
		case text == "R" || strings.HasPrefix(text, "R&") || strings.HasPrefix(text, "R") && isDigits(text[1:]):
			n.cond = condRecursion
		case strings.HasPrefix(text, "<") && strings.HasSuffix(text, ">"),
			strings.HasPrefix(text, "'") && strings.HasSuffix(text, "'"):
			n.cond = condGroup
			p.ref(n, text[1:len(text)-1])
		case validName(text):
			n.cond = condGroup
			p.ref(n, text)
		default:
			num, ok := p.groupNumber(text)
			if !ok {
				p.fail("malformed number or name after (?(")
			}
			n.cond, n.cap = condGroup, num
			p.ref(n, "")
		}
	}
	saved := p.flags
	yes := p.parseConcat()
	n.subs = []*node{yes}
	if p.more() && p.src[p.pos] == '|' {
		p.pos++
		n.subs = append(n.subs, p.parseConcat())
		if p.more() && p.src[p.pos] == '|' {
			p.fail("conditional subpattern contains more than two branches")
		}
	}
	p.flags = saved
	if !p.more() || p.src[p.pos] != ')' {
		p.fail("missing closing parenthesis for condition")
	}
	p.pos++
	if n.cond == condDefine && len(n.subs) > 1 {
		p.fail("DEFINE subpattern contains more than one branch")
	}
	return n
}

// optionSetting parses (?imsx-imsx) and (?imsx-imsx:...).
func (p *parser) optionSetting() *node {
	f := p.flags
	on := true
	if p.lookingAt("^") {
		f.caseless, f.multiline, f.noAutoCap, f.dotall, f.extended, f.extMore = false, false, false, false, false, false
		p.pos++
	}
	for p.more() {
		c := p.src[p.pos]
		p.pos++
		switch c {
		case 'i':
			f.caseless = on
		case 'm':
			f.multiline = on
		case 's':
			f.dotall = on
		case 'n':
			f.noAutoCap = on
		case 'U':
			f.ungreedy = on
		case 'J':
			f.dupNames = on
		case 'x':
			if on && p.lookingAt("x") {
				p.pos++
				f.extMore = true
			}
			f.extended = on
			if !on {
				f.extMore = false
			}
		case '-':
			if !on {
				p.fail("unrecognized character after (? or (?-")
			}
			on = false
		case ')':
			p.flags = f
			return nil
		case ':':
			saved := p.flags
			p.flags = f
			g := p.groupBody(p.alloc(node{op: opGroup}))
			p.flags = saved
			return g
		default:
			p.pos--
			p.fail("unrecognized character after (? or (?-")
		}
	}
	p.fail("missing closing parenthesis")
	return nil
}

// parseVerb parses (*VERB), (*VERB:NAME) and the alpha assertions such as
// (*positive_lookahead:...).
func (p *parser) parseVerb(start int) *node {
	p.pos++ // *
	j := p.pos
	for j < len(p.src) && (p.src[j] >= 'A' && p.src[j] <= 'Z' || p.src[j] >= 'a' && p.src[j] <= 'z' || p.src[j] == '_') {
		j++
	}
	word := p.src[p.pos:j]
	p.pos = j
	if p.lookingAt(":") {
		p.pos++
		switch word {
		case "pla", "positive_lookahead":
			return p.groupBody(p.alloc(node{op: opLook}))
		case "nla", "negative_lookahead":
			return p.groupBody(p.alloc(node{op: opLook, negate: true}))
		case "plb", "positive_lookbehind":
			return p.lookbehind(p.groupBody(p.alloc(node{op: opLook, behind: true})))
		case "nlb", "negative_lookbehind":
			return p.lookbehind(p.groupBody(p.alloc(node{op: opLook, behind: true, negate: true})))
		case "atomic":
			return p.groupBody(p.alloc(node{op: opAtomic}))
		}
		// A verb with a name: skip the name.
		end := strings.IndexByte(p.src[p.pos:], ')')
		if end < 0 {
			p.fail("(*VERB) not terminated")
		}
		p.pos += end
	}
	if !p.lookingAt(")") {
		p.pos = start
		p.fail("(*VERB) not recognized or malformed")
	}
	p.pos++
	v := map[string]verb{"FAIL": verbFail, "F": verbFail, "ACCEPT": verbAccept, "COMMIT": verbCommit,
		"PRUNE": verbPrune, "SKIP": verbSkip, "THEN": verbThen, "MARK": verbMark, "": verbMark}
	kind, ok := v[word]
	if !ok {
		p.pos = start
		p.fail("(*VERB) not recognized or malformed")
	}
	return p.alloc(node{op: opVerb, verb: kind})
}

// resolve turns named references into group numbers and checks that every
// referenced group exists.
func (p *parser) resolve() {
	for _, ref := range p.refs {
		r := ref.n
		if ref.name != "" {
			nums := p.names[ref.name]
			if len(nums) == 0 {
				p.pos = len(p.src)
				p.fail("reference to non-existent subpattern %q", ref.name)
			}
			r.cap = nums[0]
			if len(nums) > 1 {
				r.caps = &nums
			}
		}
		if r.cap > p.ncap {
			p.pos = len(p.src)
			p.fail("reference to non-existent subpattern")
		}
	}
}

// parseClass parses a [...] character class.
func (p *parser) parseClass() *node {
	p.pos++ // [
	neg := false
	if p.lookingAt("^") {
		neg = true
		p.pos++
	}
	var b classBuilder
	first := true
	// prevRune is the last single character added, when a "-" may follow
	// to make a range; prevClass marks an escape like \d or a POSIX class.
	prevRune, havePrev, prevClass := rune(0), false, false
	for {
		if !p.more() {
			p.fail("missing terminating ] for character class")
		}
		if p.flags.extMore && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t') {
			p.pos++
			continue
		}
		c := p.src[p.pos]
		if c == ']' && !first {
			p.pos++
			break
		}
		first = false
		// POSIX class [:name:] or [:^name:].
		if c == '[' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == ':' || p.src[p.pos+1] == '.' || p.src[p.pos+1] == '=') {
			if end := strings.Index(p.src[p.pos+2:], string(p.src[p.pos+1])+"]"); end >= 0 {
				if p.src[p.pos+1] != ':' {
					p.fail("POSIX collating elements are not supported")
				}
				name := p.src[p.pos+2 : p.pos+2+end]
				pneg := strings.HasPrefix(name, "^")
				name = strings.TrimPrefix(name, "^")
				rs, ok := posixClass(name)
				if !ok {
					p.fail("unknown POSIX class name")
				}
				if pneg {
					rs = complement(normalize(rs))
				}
				b.sets = append(b.sets, rs...)
				p.pos += 2 + end + 2
				havePrev, prevClass = true, true
				continue
			}
		}
		if c == '-' && havePrev && p.pos+1 < len(p.src) && p.src[p.pos+1] != ']' {
			// A range prev-next.
			p.pos++
			if prevClass {
				p.fail("invalid range in character class")
			}
			hi, isClass := p.classChar(&b)
			if isClass {
				p.fail("invalid range in character class")
			}
			if hi < prevRune {
				p.fail("range out of order in character class")
			}
			b.addRange(prevRune, hi)
			havePrev = false
			continue
		}
		r, isClass := p.classChar(&b)
		if isClass {
			havePrev, prevClass = true, true
			continue
		}
		if r < 0 {
			continue // \E or an empty \Q\E
		}
		b.addRune(r)
		prevRune, havePrev, prevClass = r, true, false
	}
	rs := b.build(p.flags.caseless)
	if neg {
		rs = complement(rs)
	}
	return p.alloc(node{op: opClass, cls: newClass(rs, "")})
}

// classChar reads one class member. It returns the character, or
// isClass=true after adding a whole set (\d, \p{..}) to b, or r=-1 for an
// item that adds nothing.
func (p *parser) classChar(b *classBuilder) (r rune, isClass bool) {
	c := p.src[p.pos]
	if c != '\\' {
		return p.nextRune(), false
	}
	p.pos++
	if !p.more() {
		p.fail(`\ at end of pattern`)
	}
	switch e := p.src[p.pos]; e {
	case 'd', 'D', 'w', 'W', 's', 'S', 'h', 'H', 'v', 'V':
		p.pos++
		b.addClass(typeClass(e))
		return 0, true
	case 'p', 'P':
		b.addClass(p.parseProperty())
		return 0, true
	case 'Q':
		p.pos++
		end := strings.Index(p.src[p.pos:], `\E`)
		text := p.src[p.pos:]
		if end >= 0 {
			text = text[:end]
			p.pos += end + 2
		} else {
			p.pos = len(p.src)
		}
		rs := []rune(text)
		if len(rs) == 0 {
			return -1, false
		}
		for _, x := range rs[:len(rs)-1] {
			b.addRune(x)
		}
		return rs[len(rs)-1], false
	case 'E':
		p.pos++
		return -1, false
	case 'N', 'R', 'X', 'B', 'A', 'z', 'Z', 'G', 'K', 'g', 'k':
		p.fail(`escape sequence is invalid in character class`)
	}
	start := p.pos - 1
	r, ok := p.charEscape(true)
	if !ok {
		p.pos = start
		p.fail(`unrecognized character follows \`)
	}
	return r, false
}
