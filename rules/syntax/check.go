package syntax

// CheckMode chooses how the static checker treats variables assigned in
// only one branch of a conditional.
type CheckMode uint8

const (
	// Conservative is AbuseFilter's production mode: a variable assigned in
	// either branch of if/&/| counts as bound afterwards.
	Conservative CheckMode = iota
	// Liberal counts a variable as bound only when both branches bind it.
	Liberal
)

// CheckOptions configures Check.
type CheckOptions struct {
	Mode CheckMode
	// UnusedVars reports variables assigned and never read (AbuseFilter's
	// optional "unusedvars" check).
	UnusedVars bool
}

// Check runs AbuseFilter's static checks (SyntaxChecker) over a parsed rule:
// unknown functions, argument counts, the literal-name rule of set(),
// assignments to builtin names, reads of unknown, disabled or unbound
// variables. These errors fail a filter even in code that never runs. It
// returns the first error in AbuseFilter's traversal order.
func Check(f *File, opts CheckOptions) *Error {
	if f == nil || f.Root == nil {
		return nil
	}
	c := &checker{mode: opts.Mode}
	bound, err := c.check(f.Root, map[string]bool{})
	if err != nil {
		return err
	}
	if opts.UnusedVars {
		var unused []string
		for name, used := range bound {
			if !used {
				unused = append(unused, name)
			}
		}
		if len(unused) > 0 {
			sortedSet(unused...)
			return newError(0, 0, ErrUnusedVars, "variables assigned but never used: %v", unused)
		}
	}
	return nil
}

type checker struct{ mode CheckMode }

// bound maps each user variable bound so far to whether it has been read.
type bound = map[string]bool

func copyBound(b bound) bound {
	out := make(bound, len(b))
	for k, v := range b {
		out[k] = v
	}
	return out
}

func (c *checker) check(x Expr, b bound) (bound, *Error) {
	switch n := x.(type) {
	case *Lit:
		return b, nil
	case *Ident:
		return c.lookup(n.Name, n.NamePos, n.AFStart, b)
	case *ArrayLit:
		return c.checkAll(n.Elems, b)
	case *Unary:
		return c.check(n.X, b)
	case *Binary:
		if n.Op == And || n.Op == Or {
			// AbuseFilter desugars a & b to "if a then (if b then true
			// else false) else false end" and checks that.
			b, err := c.check(n.X, b)
			if err != nil {
				return nil, err
			}
			inner, err := c.check(n.Y, copyBound(b))
			if err != nil {
				return nil, err
			}
			return c.join(inner, b), nil
		}
		b, err := c.check(n.X, b)
		if err != nil {
			return nil, err
		}
		return c.check(n.Y, b)
	case *Index:
		b, err := c.check(n.X, b)
		if err != nil {
			return nil, err
		}
		return c.check(n.Index, b)
	case *Cond:
		b, err := c.check(n.Cond, b)
		if err != nil {
			return nil, err
		}
		left, err := c.check(n.Then, copyBound(b))
		if err != nil {
			return nil, err
		}
		right := b
		if n.Else != nil {
			if right, err = c.check(n.Else, copyBound(b)); err != nil {
				return nil, err
			}
		}
		return c.join(left, right), nil
	case *Call:
		return c.checkCall(n, b)
	case *Assign:
		switch {
		case n.Index == nil && !n.Append:
			// Desugared to set('name', value).
			b, err := c.check(n.Value, b)
			if err != nil {
				return nil, err
			}
			return c.assign(n.Name, n.NamePos, n.AF, b)
		default:
			b, err := c.lookup(n.Name, n.NamePos, n.AF, b)
			if err != nil {
				return nil, err
			}
			if n.Index != nil {
				if b, err = c.check(n.Index, b); err != nil {
					return nil, err
				}
			}
			if b, err = c.check(n.Value, b); err != nil {
				return nil, err
			}
			return c.assign(n.Name, n.NamePos, n.AF, b)
		}
	case *Seq:
		return c.checkAll(n.List, b)
	}
	return b, nil
}

func (c *checker) checkAll(list []Expr, b bound) (bound, *Error) {
	var err *Error
	for _, x := range list {
		if b, err = c.check(x, b); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// join merges the variables bound by two branches.
func (c *checker) join(left, right bound) bound {
	if c.mode == Liberal {
		out := bound{}
		for k, v := range left {
			if w, ok := right[k]; ok {
				out[k] = v || w
			}
		}
		return out
	}
	for k, v := range right {
		left[k] = left[k] || v
	}
	return left
}

func (c *checker) checkCall(n *Call, b bound) (bound, *Error) {
	arity, ok := Arities[n.Name]
	if !ok {
		return nil, newError(n.NamePos, Pos(n.AF), ErrUnknownFunction, "unknown function %s", n.Name)
	}
	if got := len(n.Args); got < arity.Min {
		code := ErrNotEnoughArgs
		if arity.Min == 1 {
			code = ErrNoParams
		}
		return nil, newError(n.NamePos, Pos(n.AF), code, "%s needs at least %d argument(s), got %d", n.Name, arity.Min, got)
	} else if arity.Max >= 0 && got > arity.Max {
		return nil, newError(n.NamePos, Pos(n.AF), ErrTooManyArgs, "%s takes at most %d argument(s), got %d", n.Name, arity.Max, got)
	}
	if n.Name == "set" || n.Name == "set_var" {
		name, ok := n.Args[0].(*Lit)
		if !ok || name.Kind != LitString {
			return nil, newError(n.NamePos, Pos(n.AF), ErrVariableVariable, "the first argument of %s must be a literal string", n.Name)
		}
		b, err := c.check(n.Args[1], b)
		if err != nil {
			return nil, err
		}
		return c.assign(name.Str, name.ValuePos, name.AFStart, b)
	}
	return c.checkAll(n.Args, b)
}

func (c *checker) lookup(name string, pos Pos, af int, b bound) (bound, *Error) {
	name = lower(name)
	if _, ok := b[name]; ok {
		b[name] = true
		return b, nil
	}
	switch {
	case Disabled[name]:
		return nil, newError(pos, Pos(af), ErrDisabledVar, "variable %s is no longer available", name)
	case IsVariable(name):
		return b, nil
	}
	if _, ok := Deprecated[name]; ok {
		return b, nil
	}
	if isReserved(name) {
		return nil, newError(pos, Pos(af), ErrUseBuiltin, "%s is a builtin name and cannot be used as a variable", name)
	}
	return nil, newError(pos, Pos(af), ErrUnrecognisedVar, "unknown variable %s", name)
}

func (c *checker) assign(name string, pos Pos, af int, b bound) (bound, *Error) {
	name = lower(name)
	if isReserved(name) {
		return nil, newError(pos, Pos(af), ErrOverrideBuiltin, "cannot assign to the builtin name %s", name)
	}
	b[name] = false
	return b, nil
}
