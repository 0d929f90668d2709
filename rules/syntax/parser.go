package syntax

import "sync"

// The parser mirrors AbuseFilter's AFPTreeParser level by level (the
// grammar table in ../shared/docs/abusefilter-language.md §3), so that every
// quirk of the original — the shared & | ^ level, one equality and one
// ordering operator per chain, non-associative keyword operators,
// left-associative **, single ! and unary minus — is one visible check
// here. Like the original it stops at the first error.

// MaxDepth bounds the nesting of a rule. AbuseFilter has no such limit (PHP
// would run out of stack); real filters nest a few dozen levels at most.
const MaxDepth = 1000

// Parse tokenizes and parses src. It returns the first error AbuseFilter
// would report: tokenizer errors anywhere come before parse errors.
func Parse(src string) (*File, *Error) {
	buf := tokenBuffers.Get().(*[]token)
	defer func() {
		// The tree keeps strings, never the tokens themselves.
		clear(*buf)
		tokenBuffers.Put(buf)
	}()
	toks, err := scanAll(src, (*buf)[:0])
	if err != nil {
		return nil, err
	}
	*buf = toks
	p := &parser{toks: toks, i: -1}
	root, perr := p.parseFile()
	if perr != nil {
		return nil, perr
	}
	return &File{Src: src, Root: root}, nil
}

// tokenBuffers holds token slices for reuse: compiling a filter set parses
// hundreds of rules, and their tokens were a fifth of what it allocated.
var tokenBuffers = sync.Pool{New: func() any { return new([]token) }}

type parser struct {
	toks  []token
	i     int   // index of the current token (AbuseFilter's mCur)
	cur   token // toks[i]
	depth int
}

// bailout carries a parse error up to parseFile.
type bailout struct{ err *Error }

func (p *parser) parseFile() (root Expr, err *Error) {
	defer func() {
		if r := recover(); r != nil {
			b, ok := r.(bailout)
			if !ok {
				panic(r)
			}
			root, err = nil, b.err
		}
	}()
	root = p.parseSemicolon()
	if p.cur.tok != EOF {
		p.fail(ErrUnexpectedAtEnd, "unexpected %s after the end of the rule", p.describe())
	}
	return root, nil
}

// next moves to the next token; at the end it stays on EOF.
func (p *parser) next() {
	if p.i < len(p.toks)-1 {
		p.i++
	}
	p.cur = p.toks[p.i]
}

// peek returns the token after the current one.
func (p *parser) peek() token {
	if p.i+1 < len(p.toks) {
		return p.toks[p.i+1]
	}
	return p.toks[len(p.toks)-1]
}

// reset makes toks[i] current again (AbuseFilter's setState).
func (p *parser) reset(i int) {
	p.i = i
	p.cur = p.toks[i]
}

// afPos is AbuseFilter's mPos: the offset just after the current token.
func (p *parser) afPos() int { return int(p.cur.end) }

func (p *parser) describe() string {
	switch p.cur.tok {
	case EOF:
		return "end of input"
	case String:
		return "string"
	case Int, Float:
		return "number " + p.cur.lit
	case Identifier:
		return "identifier " + p.cur.lit
	}
	return `"` + p.cur.tok.String() + `"`
}

func (p *parser) fail(code, format string, args ...any) {
	panic(bailout{newError(p.cur.pos, p.cur.end, code, format, args...)})
}

func (p *parser) expect(tok Token, what string) {
	if p.cur.tok != tok {
		p.fail(ErrExpectedNotFound, "expected %s, found %s", what, p.describe())
	}
}

// need reports an error when x is nil: empty parentheses used as a value.
// AbuseFilter accepts the syntax and then crashes evaluating it.
func (p *parser) need(x Expr, at Pos) Expr {
	if x == nil {
		panic(bailout{newError(at, at, ErrUnexpectedToken, "empty parentheses cannot be used as a value")})
	}
	return x
}

func (p *parser) enter() {
	p.depth++
	if p.depth > MaxDepth {
		p.fail(ErrTooComplex, "the rule nests deeper than %d levels", MaxDepth)
	}
}

func (p *parser) leave() { p.depth-- }

// parseSemicolon: level 1, "s1; s2; ...". It first moves past the token
// that opened it (start of input, "(", "[" or ","). Empty statements are
// allowed; nil means there was none.
func (p *parser) parseSemicolon() Expr {
	var list []Expr
	start := p.cur.end
	for {
		p.next()
		if p.cur.tok == EOF || p.cur.tok == RParen {
			break
		}
		if p.cur.tok == Semicolon {
			continue
		}
		list = append(list, p.parseSet())
		if p.cur.tok != Semicolon {
			break
		}
	}
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	for _, s := range list {
		p.need(s, start)
	}
	return &Seq{List: list, AF: p.afPos()}
}

// parseSet: level 2, assignments "x := e", "x[] := e", "x[i] := e",
// right-associative. Like AbuseFilter it parses speculatively and falls
// back to an expression when no ":=" follows.
func (p *parser) parseSet() Expr {
	p.enter()
	defer p.leave()
	if p.cur.tok != Identifier {
		return p.parseConditions()
	}
	name, namePos, saved := p.cur.lit, p.cur.pos, p.i
	p.next()
	if p.cur.tok == ColonEq {
		af := p.afPos()
		p.next()
		v := p.parseSet()
		return &Assign{NamePos: namePos, Name: name, Value: p.need(v, namePos), AF: af}
	}
	if p.cur.tok == LBrack {
		lbrack := p.cur.pos
		p.next()
		var index Expr
		appendTo := p.cur.tok == RBrack
		if !appendTo {
			p.reset(saved)
			p.next() // now on "["
			index = p.parseSemicolon()
			p.expect(RBrack, `"]"`)
		}
		p.next()
		if p.cur.tok == ColonEq {
			af := p.afPos()
			p.next()
			v := p.parseSet()
			if !appendTo {
				p.need(index, lbrack)
			}
			return &Assign{NamePos: namePos, Name: name, Index: index, Append: appendTo, Value: p.need(v, namePos), AF: af}
		}
	}
	p.reset(saved)
	return p.parseConditions()
}

// parseConditions: level 3, "if c then a [else b] end" and "c ? a : b".
// The condition is a level-4 expression, the branches level 3.
func (p *parser) parseConditions() Expr {
	p.enter()
	defer p.leave()
	if p.cur.tok == If {
		n := &Cond{IfPos: p.cur.pos, AF: p.afPos()}
		p.next()
		n.Cond = p.need(p.parseBoolOps(), n.IfPos)
		p.expect(Then, `"then"`)
		p.next()
		n.Then = p.need(p.parseConditions(), n.IfPos)
		if p.cur.tok == Else {
			p.next()
			n.Else = p.need(p.parseConditions(), n.IfPos)
		}
		p.expect(End, `"end"`)
		n.EndPos = p.cur.pos
		p.next()
		return n
	}
	cond := p.parseBoolOps()
	if p.cur.tok != Quest {
		return cond
	}
	n := &Cond{IfPos: p.cur.pos, Ternary: true, AF: p.afPos()}
	n.Cond = p.need(cond, n.IfPos)
	p.next()
	n.Then = p.need(p.parseConditions(), n.IfPos)
	p.expect(Colon, `":"`)
	p.next()
	n.Else = p.need(p.parseConditions(), n.IfPos)
	return n
}

// binary builds a Binary node, refusing nil operands.
func (p *parser) binary(x Expr, op token, af int, y Expr) Expr {
	return &Binary{X: p.need(x, op.pos), OpPos: op.pos, Op: op.tok, Y: p.need(y, op.pos), AF: af}
}

// parseBoolOps: level 4, & | ^ sharing one left-associative level.
func (p *parser) parseBoolOps() Expr {
	x := p.parseCompares()
	for p.cur.tok == And || p.cur.tok == Or || p.cur.tok == Xor {
		op, af := p.cur, p.afPos()
		p.next()
		x = p.binary(x, op, af, p.parseCompares())
	}
	return x
}

// parseCompares: level 5, at most one equality and one ordering operator
// per chain ("a < b == c" is allowed, "a == b == c" is not).
func (p *parser) parseCompares() Expr {
	x := p.parseSumRels()
	eqAllowed, ordAllowed := true, true
	for p.cur.tok.IsEquality() && eqAllowed || p.cur.tok.IsOrdering() && ordAllowed {
		if p.cur.tok.IsEquality() {
			eqAllowed = false
		} else {
			ordAllowed = false
		}
		op, af := p.cur, p.afPos()
		p.next()
		x = p.binary(x, op, af, p.parseSumRels())
	}
	return x
}

// parseSumRels: level 6, binary + and -.
func (p *parser) parseSumRels() Expr {
	x := p.parseMulRels()
	for p.cur.tok == Add || p.cur.tok == Sub {
		op, af := p.cur, p.afPos()
		p.next()
		x = p.binary(x, op, af, p.parseMulRels())
	}
	return x
}

// parseMulRels: level 7, * / %.
func (p *parser) parseMulRels() Expr {
	x := p.parsePow()
	for p.cur.tok == Mul || p.cur.tok == Div || p.cur.tok == Mod {
		op, af := p.cur, p.afPos()
		p.next()
		x = p.binary(x, op, af, p.parsePow())
	}
	return x
}

// parsePow: level 8, ** — left-associative in AbuseFilter.
func (p *parser) parsePow() Expr {
	x := p.parseBoolInvert()
	for p.cur.tok == Pow {
		op, af := p.cur, p.afPos()
		p.next()
		x = p.binary(x, op, af, p.parseBoolInvert())
	}
	return x
}

// parseBoolInvert: level 9, a single prefix "!" over a level-10 operand.
func (p *parser) parseBoolInvert() Expr {
	if p.cur.tok != Not {
		return p.parseKeywordOperators()
	}
	op, af := p.cur, p.afPos()
	p.next()
	return &Unary{OpPos: op.pos, Op: Not, X: p.need(p.parseKeywordOperators(), op.pos), AF: af}
}

// parseKeywordOperators: level 10, one non-associative keyword operator.
func (p *parser) parseKeywordOperators() Expr {
	x := p.parseUnary()
	if !p.cur.tok.IsKeywordOperator() {
		return x
	}
	op, af := p.cur, p.afPos()
	p.next()
	return p.binary(x, op, af, p.parseUnary())
}

// parseUnary: level 11, a single prefix + or -.
func (p *parser) parseUnary() Expr {
	if p.cur.tok != Add && p.cur.tok != Sub {
		return p.parseArrayElements()
	}
	op, af := p.cur, p.afPos()
	p.next()
	return &Unary{OpPos: op.pos, Op: op.tok, X: p.need(p.parseArrayElements(), op.pos), AF: af}
}

// parseArrayElements: level 12, postfix indexing, repeatable.
func (p *parser) parseArrayElements() Expr {
	x := p.parseParenthesis()
	for p.cur.tok == LBrack {
		n := &Index{X: p.need(x, p.cur.pos), Lbrack: p.cur.pos, AF: p.afPos()}
		n.Index = p.need(p.parseSemicolon(), n.Lbrack)
		p.expect(RBrack, `"]"`)
		n.Rbrack = p.cur.pos
		p.next()
		x = n
	}
	return x
}

// parseParenthesis: "( ... )" holding a statement list; "()" is an error.
func (p *parser) parseParenthesis() Expr {
	if p.cur.tok != LParen {
		return p.parseFunction()
	}
	if p.peek().tok == RParen {
		p.fail(ErrUnexpectedToken, `unexpected "(": empty parentheses`)
	}
	x := p.parseSemicolon()
	p.expect(RParen, `")"`)
	p.next()
	return x
}

// parseFunction: an identifier directly followed by "(" is a call. Each
// argument is a statement list; an empty argument is dropped for variadic
// functions and an error otherwise.
func (p *parser) parseFunction() Expr {
	if p.cur.tok != Identifier || p.peek().tok != LParen {
		return p.parseAtom()
	}
	n := &Call{NamePos: p.cur.pos, Name: p.cur.lit, AF: p.afPos()}
	p.next()
	if p.peek().tok != RParen {
		for {
			arg := p.parseSemicolon()
			if arg != nil {
				n.Args = append(n.Args, arg)
			} else {
				arity, known := Arities[n.Name]
				if !known {
					panic(bailout{newError(n.NamePos, Pos(n.AF), ErrUnknownFunction, "unknown function %s", n.Name)})
				}
				if arity.Max >= 0 {
					p.fail(ErrUnexpectedToken, "unexpected %s: empty argument to %s", p.describe(), n.Name)
				}
			}
			if p.cur.tok != Comma {
				break
			}
		}
	} else {
		p.next()
	}
	p.expect(RParen, `")"`)
	n.Rparen = p.cur.pos
	p.next()
	return n
}

// parseAtom: level 13, literals, identifiers and array literals.
func (p *parser) parseAtom() Expr {
	t := p.cur
	var x Expr
	switch t.tok {
	case Identifier:
		x = &Ident{NamePos: t.pos, Name: t.lit, AFStart: int(t.start), AF: p.afPos()}
	case String:
		x = &Lit{ValuePos: t.pos, ValueEnd: t.end, Kind: LitString, Str: t.lit, AFStart: int(t.start), AF: p.afPos()}
	case Int:
		x = &Lit{ValuePos: t.pos, ValueEnd: t.end, Kind: LitInt, Int: t.ival, AF: p.afPos()}
	case Float:
		x = &Lit{ValuePos: t.pos, ValueEnd: t.end, Kind: LitFloat, Float: t.fval, AF: p.afPos()}
	case True:
		x = &Lit{ValuePos: t.pos, ValueEnd: t.end, Kind: LitTrue, AF: p.afPos()}
	case False:
		x = &Lit{ValuePos: t.pos, ValueEnd: t.end, Kind: LitFalse, AF: p.afPos()}
	case Null:
		x = &Lit{ValuePos: t.pos, ValueEnd: t.end, Kind: LitNull, AF: p.afPos()}
	case LBrack:
		n := &ArrayLit{Lbrack: t.pos}
		for {
			p.next()
			if p.cur.tok == RBrack {
				break
			}
			n.Elems = append(n.Elems, p.need(p.parseSet(), p.cur.pos))
			if p.cur.tok == RBrack {
				break
			}
			if p.cur.tok != Comma {
				p.fail(ErrExpectedNotFound, `expected "," or "]", found %s`, p.describe())
			}
		}
		n.Rbrack, n.AF = p.cur.pos, p.afPos()
		x = n
	default:
		if t.tok.IsKeyword() {
			p.fail(ErrUnrecognisedKeyword, "unexpected keyword %s", t.tok)
		}
		p.fail(ErrUnexpectedToken, "unexpected %s", p.describe())
	}
	p.next()
	return x
}
