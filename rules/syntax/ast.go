package syntax

// Expr is a node of the syntax tree. Every node knows its span in the
// source (Pos, End) and the offset AbuseFilter attaches to the same node
// (AFOffset), which is where AbuseFilter reports errors raised by the node.
type Expr interface {
	Pos() Pos
	End() Pos
	AFOffset() int
	exprNode()
}

// LitKind tells which literal a Lit holds.
type LitKind uint8

const (
	LitString LitKind = iota
	LitInt
	LitFloat
	LitTrue
	LitFalse
	LitNull
)

type (
	// Lit is a string, number, true, false or null literal.
	Lit struct {
		ValuePos, ValueEnd Pos
		Kind               LitKind
		Str                string // LitString: the decoded contents
		Int                int64
		Float              float64
		AFStart            int // the token's start as AbuseFilter records it
		AF                 int
	}

	// Ident is a variable read. Name is as written; variable names are
	// case-insensitive.
	Ident struct {
		NamePos Pos
		Name    string
		// AFStart is the token's start as AbuseFilter records it, where
		// the static checker reports errors about the name.
		AFStart int
		AF      int
	}

	// Unary is a prefix operator: Not (!), Add (unary +) or Sub (unary -).
	Unary struct {
		OpPos Pos
		Op    Token
		X     Expr
		AF    int
	}

	// Binary is an infix operator: arithmetic, comparison, &, |, ^, **, or
	// a keyword operator (in, contains, like, matches, rlike, irlike,
	// regex).
	Binary struct {
		X     Expr
		OpPos Pos
		Op    Token
		Y     Expr
		AF    int
	}

	// Index is x[i].
	Index struct {
		X              Expr
		Lbrack, Rbrack Pos
		Index          Expr
		AF             int
	}

	// Call is a function call. Args may hold nil for an empty argument
	// that AbuseFilter dropped (a trailing comma in a variadic call).
	Call struct {
		NamePos Pos
		Name    string // as written; function names are case-sensitive
		Args    []Expr
		Rparen  Pos
		AF      int
	}

	// ArrayLit is [e1, e2, ...].
	ArrayLit struct {
		Lbrack, Rbrack Pos
		Elems          []Expr
		AF             int
	}

	// Cond is "if c then a [else b] end" or "c ? a : b". Else is nil when
	// the if has no else branch.
	Cond struct {
		IfPos   Pos
		Cond    Expr
		Then    Expr
		Else    Expr
		EndPos  Pos
		Ternary bool
		AF      int
	}

	// Assign is "name := v", "name[] := v" (Append) or "name[i] := v"
	// (Index != nil).
	Assign struct {
		NamePos Pos
		Name    string
		Index   Expr
		Append  bool
		Value   Expr
		AF      int
	}

	// Seq is a list of statements separated by ";"; its value is the last
	// statement's.
	Seq struct {
		List []Expr
		AF   int
	}
)

func (x *Lit) Pos() Pos      { return x.ValuePos }
func (x *Ident) Pos() Pos    { return x.NamePos }
func (x *Unary) Pos() Pos    { return x.OpPos }
func (x *Binary) Pos() Pos   { return x.X.Pos() }
func (x *Index) Pos() Pos    { return x.X.Pos() }
func (x *Call) Pos() Pos     { return x.NamePos }
func (x *ArrayLit) Pos() Pos { return x.Lbrack }
func (x *Cond) Pos() Pos {
	if x.Ternary {
		return x.Cond.Pos()
	}
	return x.IfPos
}
func (x *Assign) Pos() Pos { return x.NamePos }
func (x *Seq) Pos() Pos    { return x.List[0].Pos() }

func (x *Lit) End() Pos      { return x.ValueEnd }
func (x *Ident) End() Pos    { return x.NamePos + Pos(len(x.Name)) }
func (x *Unary) End() Pos    { return x.X.End() }
func (x *Binary) End() Pos   { return x.Y.End() }
func (x *Index) End() Pos    { return x.Rbrack + 1 }
func (x *Call) End() Pos     { return x.Rparen + 1 }
func (x *ArrayLit) End() Pos { return x.Rbrack + 1 }
func (x *Cond) End() Pos {
	if x.Ternary {
		return x.Else.End()
	}
	return x.EndPos + 3
}
func (x *Assign) End() Pos { return x.Value.End() }
func (x *Seq) End() Pos    { return x.List[len(x.List)-1].End() }

func (x *Lit) AFOffset() int      { return x.AF }
func (x *Ident) AFOffset() int    { return x.AF }
func (x *Unary) AFOffset() int    { return x.AF }
func (x *Binary) AFOffset() int   { return x.AF }
func (x *Index) AFOffset() int    { return x.AF }
func (x *Call) AFOffset() int     { return x.AF }
func (x *ArrayLit) AFOffset() int { return x.AF }
func (x *Cond) AFOffset() int     { return x.AF }
func (x *Assign) AFOffset() int   { return x.AF }
func (x *Seq) AFOffset() int      { return x.AF }

func (*Lit) exprNode()      {}
func (*Ident) exprNode()    {}
func (*Unary) exprNode()    {}
func (*Binary) exprNode()   {}
func (*Index) exprNode()    {}
func (*Call) exprNode()     {}
func (*ArrayLit) exprNode() {}
func (*Cond) exprNode()     {}
func (*Assign) exprNode()   {}
func (*Seq) exprNode()      {}

// File is a parsed rule.
type File struct {
	Src  string
	Root Expr // nil for an empty rule (which evaluates to null)
}

// Inspect walks the tree depth-first in source order, calling f for each
// node; when f returns false the node's children are skipped.
func Inspect(x Expr, f func(Expr) bool) {
	if x == nil || !f(x) {
		return
	}
	switch n := x.(type) {
	case *Unary:
		Inspect(n.X, f)
	case *Binary:
		Inspect(n.X, f)
		Inspect(n.Y, f)
	case *Index:
		Inspect(n.X, f)
		Inspect(n.Index, f)
	case *Call:
		for _, a := range n.Args {
			Inspect(a, f)
		}
	case *ArrayLit:
		for _, e := range n.Elems {
			Inspect(e, f)
		}
	case *Cond:
		Inspect(n.Cond, f)
		Inspect(n.Then, f)
		Inspect(n.Else, f)
	case *Assign:
		Inspect(n.Index, f)
		Inspect(n.Value, f)
	case *Seq:
		for _, s := range n.List {
			Inspect(s, f)
		}
	}
}
