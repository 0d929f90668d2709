// Package rules implements AbuseFilter's rule language: it compiles rules
// written for MediaWiki's AbuseFilter and evaluates them with the same
// verdicts, the same errors and the same condition counts, much faster.
//
// The phases are plain functions over plain data: syntax.Parse builds the
// tree, syntax.Check runs AbuseFilter's static checks, Compile plans the
// tree into closures, and a Program evaluates against a State that holds one
// action's variables, condition counter and caches. A Set runs many filters
// over one action the way AbuseFilter's FilterRunner does, with their
// boolean skeletons laid out as instructions in one array (code.go).
package rules

import (
	"fmt"
	"runtime/debug"

	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// Program is a compiled rule. It is immutable and safe for concurrent use;
// each evaluation needs its own State.
type Program struct {
	src   string
	file  *syntax.File
	root  evalFn // nil for an empty rule
	test  testFn // the truth of root (false for an empty rule)
	scope *Scope
	lits  []*literalSet // of constant regexes and needles, for a Set's prefilter
	// The rule's static calls and its other calls.
	statics, dynamic []*callSite
	staticOps        []int    // ids of the rule's static keyword operators
	vars             []string // builtin variables the rule reads, canonical names
	// guards are the rule's leading side-effect-free operands of its chain
	// of &, and rest the chain's other operands (nil: none), for a Set
	// (see guard).
	guards []guard
	rest   testFn
	// The tests of the rule and of rest as code, for a Set to lay out
	// (see code.go); dropped once it has.
	code, restCode *tcode
}

// CompileOptions configures Compile.
type CompileOptions struct {
	// Scope is the user-variable scope; programs that run on one State
	// must share it. Nil gives the program its own.
	Scope *Scope
}

// Compile parses, checks and plans a rule. The error, if any, is a
// *syntax.Error with AbuseFilter's error id.
func Compile(src string, opts CompileOptions) (*Program, error) {
	f, perr := syntax.Parse(src)
	if perr != nil {
		return nil, perr
	}
	if cerr := syntax.Check(f, syntax.CheckOptions{}); cerr != nil {
		return nil, cerr
	}
	return Plan(f, opts), nil
}

// Plan turns a checked syntax tree into a Program.
func Plan(f *syntax.File, opts CompileOptions) *Program {
	scope := opts.Scope
	if scope == nil {
		scope = NewScope()
	}
	p := &Program{src: f.Src, file: f, scope: scope}
	if f.Root == nil {
		p.test = func(*State) (tri, error) { return triFalse, nil } // an empty rule never matches
		return p
	}
	c := &compiler{scope: scope, src: f.Src}
	root := c.root(f.Root, p)
	p.root = root.fn
	p.test = root.tester()
	p.code = root.codeRef()
	p.lits = c.lits
	p.statics, p.dynamic = c.statics, c.dynamic
	p.staticOps = c.staticOps
	p.vars = referencedVars(f)
	return p
}

// referencedVars lists the builtin variables a rule names.
func referencedVars(f *syntax.File) []string {
	seen := map[string]bool{}
	var out []string
	syntax.Inspect(f.Root, func(x syntax.Expr) bool {
		if id, ok := x.(*syntax.Ident); ok {
			name := syntax.Canonical(id.Name)
			if syntax.IsVariable(name) && !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
		}
		return true
	})
	return out
}

// Source returns the rule's text.
func (p *Program) Source() string { return p.src }

// Scope returns the program's user-variable scope.
func (p *Program) Scope() *Scope { return p.scope }

// Variables returns the builtin variables the rule reads.
func (p *Program) Variables() []string { return p.vars }

// UsesProtectedVariables reports whether the rule reads protected data
// (such as user_unnamed_ip), which makes its filter protected.
func (p *Program) UsesProtectedVariables() bool {
	for _, v := range p.vars {
		if syntax.Protected[v] {
			return true
		}
	}
	return false
}

// Eval evaluates the rule alone on a new State and returns its value.
func (p *Program) Eval(vars Vars, opts EvalOptions) (value.Value, *State, error) {
	s := NewState(vars, p.scope, opts)
	v, err := p.Run(s)
	return v, s, err
}

// Run evaluates the rule on s. Any error (a runtime error, the condition
// limit, the budget) ends the evaluation, as an exception does in
// AbuseFilter; a panic inside Vigil is reported as an internal error
// rather than crashing the caller.
func (p *Program) Run(s *State) (v value.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = value.UndefinedValue, internalError(r)
		}
	}()
	return p.run(s)
}

// run is Run without the recover, for callers that recover themselves.
func (p *Program) run(s *State) (value.Value, error) {
	if p.root == nil {
		return value.NullValue, nil
	}
	p.growUser(s)
	return p.root(s)
}

// growUser makes room for user variables added to the scope after the
// State was made (a program compiled later into the same scope).
func (p *Program) growUser(s *State) {
	for len(s.user) < len(p.scope.names) {
		s.user = append(s.user, value.UndefinedValue)
	}
}

// matchOn is the verdict without the recover: the truth of the rule, which
// outside check-syntax mode needs no value.
func (p *Program) matchOn(s *State) (bool, error) {
	p.growUser(s)
	return p.verdict(s)
}

// verdict is matchOn for a State already sized for the program's scope.
func (p *Program) verdict(s *State) (bool, error) {
	if p.root == nil {
		return false, nil
	}
	if s.check {
		return verdict(p.root(s))
	}
	t, err := p.test(s)
	return t == triTrue && err == nil, err
}

func internalError(r any) *syntax.Error {
	return &syntax.Error{Code: syntax.ErrInternal, Msg: fmt.Sprintf("internal error: %v\n%s", r, debug.Stack())}
}

// Match evaluates the rule on s and returns its verdict as AbuseFilter
// does: the truthiness of its value, with undefined false; an error makes
// the verdict false.
func (p *Program) Match(s *State) (matched bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			matched, err = false, internalError(r)
		}
	}()
	return p.matchOn(s)
}

func verdict(v value.Value, err error) (bool, error) {
	if err != nil {
		return false, err
	}
	return v.Kind() != value.Undefined && v.ToBool(), nil
}

// CheckSyntax is AbuseFilter's syntax check (abusefilterchecksyntax): the
// parse, the static checks, then an evaluation in check-syntax mode (no
// short-circuit, every variable undefined) that finds runtime errors in
// every branch. It returns the first error and the warnings.
func CheckSyntax(src string) (*syntax.Error, []*syntax.Error) {
	p, err := Compile(src, CompileOptions{})
	if err != nil {
		return err.(*syntax.Error), nil
	}
	s := NewState(nil, p.scope, EvalOptions{CheckSyntax: true})
	if _, err := p.Run(s); err != nil {
		return err.(*syntax.Error), s.Warnings()
	}
	return nil, s.Warnings()
}
