// Package vars builds the builtin variables of an action from what the
// caller knows, deriving the lazy ones AbuseFilter derives from the old and
// new wikitext: edit_diff, added_lines, removed_lines, new_size, old_size,
// edit_delta, new_links, old_links, added_links and removed_links.
//
// Derived values are computed on first read and kept, so every filter of
// an action shares them. Variables that need MediaWiki's parser or
// database (new_pst, new_html, new_text, page_age, user_editcount, ...)
// are read only when the caller gives them.
package vars

import (
	"github.com/vigilwiki/vigil/rules/syntax"
	"github.com/vigilwiki/vigil/rules/value"
)

// Action is the variables of one action: the ones given, and the lazily
// derived ones. It implements rules.Vars and, by a variable's index in
// syntax.Variables, rules.IndexedVars: an evaluation reads each variable by
// the index it was compiled to, without hashing its name (about 30 reads
// per action, a third of them of variables not given, which took three map
// lookups each).
type Action struct {
	given map[string]value.Value
	// at holds the variables in use by index, given or derived as state
	// says.
	at    [syntax.NumVariables]value.Value
	state [syntax.NumVariables]varState
}

type varState uint8

const (
	unread     varState = iota // not given, not derived yet
	isGiven                    // given
	isDerived                  // derived from the others
	notDerived                 // cannot be derived from what was given
)

// New returns the variables of an action. Keys are AbuseFilter variable
// names; deprecated names are accepted and stored under their current
// names. When every key is already a current name, the Action reads given
// itself rather than a copy (it never writes to it): the caller must not
// change given afterwards.
func New(given map[string]value.Value) *Action {
	a := &Action{given: given}
	canonical := true
	for k, v := range given {
		if i, ok := syntax.VariableIndex(k); ok {
			a.at[i], a.state[i] = v, isGiven
		} else if syntax.Canonical(k) != k {
			canonical = false
		}
	}
	if canonical {
		return a
	}
	// A deprecated name, or capitals: a map of current names, which also
	// decides between a name and its alias when both were given.
	a = &Action{given: make(map[string]value.Value, len(given))}
	for k, v := range given {
		a.given[syntax.Canonical(k)] = v
	}
	for k, v := range a.given {
		if i, ok := syntax.VariableIndex(k); ok {
			a.at[i], a.state[i] = v, isGiven
		}
	}
	return a
}

// Var returns a variable by its current name: given, or derived on first
// read.
func (a *Action) Var(name string) (value.Value, bool) {
	if v, ok := a.given[name]; ok {
		return v, true
	}
	i, ok := syntax.VariableIndex(name)
	if !ok {
		return value.Value{}, false
	}
	return a.VarAt(i)
}

// VarAt is Var of syntax.Variables[i].
func (a *Action) VarAt(i int) (value.Value, bool) {
	switch a.state[i] {
	case isGiven, isDerived:
		return a.at[i], true
	case notDerived:
		return value.Value{}, false
	}
	derive := derivationsAt[i]
	if derive == nil {
		a.state[i] = notDerived
		return value.Value{}, false
	}
	v, ok := derive(a)
	if !ok || v.Kind() == value.Undefined {
		// Remembered as "cannot derive" (an undefined value derived from
		// an undefined given one is returned once, as it came).
		a.state[i] = notDerived
		return v, ok
	}
	a.at[i], a.state[i] = v, isDerived
	return v, true
}

// derivations maps each derivable variable to how it is derived;
// derivationsAt is the same by index in syntax.Variables.
var (
	derivations   map[string]func(a *Action) (value.Value, bool)
	derivationsAt [syntax.NumVariables]func(a *Action) (value.Value, bool)
)

// addedLinesPST splits edit_diff_pst when it is a diff of its own.
var addedLinesPST = diffSplitVar("edit_diff_pst", '+')

func init() {
	derivations = map[string]func(a *Action) (value.Value, bool){
		"edit_diff": func(a *Action) (value.Value, bool) {
			oldText, okOld := a.text("old_wikitext")
			newText, okNew := a.text("new_wikitext")
			if !okOld && !okNew {
				return value.Value{}, false
			}
			return value.NewString(EditDiff(oldText, newText)), true
		},
		"added_lines":   diffSplitVar("edit_diff", '+'),
		"removed_lines": diffSplitVar("edit_diff", '-'),
		"edit_diff_pst": func(a *Action) (value.Value, bool) {
			pst, ok := a.text("new_pst")
			if !ok {
				return value.Value{}, false
			}
			if a.pstIsNew() {
				return a.Var("edit_diff")
			}
			oldText, _ := a.text("old_wikitext")
			return value.NewString(EditDiff(oldText, pst)), true
		},
		"added_lines_pst": func(a *Action) (value.Value, bool) {
			if a.pstIsNew() {
				return a.Var("added_lines")
			}
			return addedLinesPST(a)
		},
		"new_size": lengthVar("new_wikitext"),
		"old_size": lengthVar("old_wikitext"),
		"edit_delta": func(a *Action) (value.Value, bool) {
			n, okN := a.Var("new_size")
			o, okO := a.Var("old_size")
			if !okN || !okO {
				return value.Value{}, false
			}
			return value.NewInt(n.ToInt() - o.ToInt()), true
		},
		"new_links": linksVar("new_wikitext"),
		"old_links": linksVar("old_wikitext"),
		"added_links": func(a *Action) (value.Value, bool) {
			return linkDiff(a, "new_links", "old_links")
		},
		"removed_links": func(a *Action) (value.Value, bool) {
			return linkDiff(a, "old_links", "new_links")
		},
	}
	for name, derive := range derivations {
		i, ok := syntax.VariableIndex(name)
		if !ok {
			panic("vars: derivation of an unknown variable " + name)
		}
		derivationsAt[i] = derive
	}
}

// Given returns the variables the caller gave, by current name; it must
// not be changed.
func (a *Action) Given() map[string]value.Value { return a.given }

// pstIsNew reports whether the pre-save transform left the new text as it
// was, as it does for most edits (no signatures, no subst:): the _pst
// variables are then the others, derived from the same texts, and a page's
// diff is computed once. Not when the caller gave the others, which then
// need not agree with the texts.
func (a *Action) pstIsNew() bool {
	for _, name := range [...]string{"edit_diff", "added_lines"} {
		if _, given := a.given[name]; given {
			return false
		}
	}
	pst, okPST := a.text("new_pst")
	newText, okNew := a.text("new_wikitext")
	return okPST && okNew && pst == newText
}

func (a *Action) text(name string) (string, bool) {
	v, ok := a.Var(name)
	if !ok {
		return "", false
	}
	return v.ToString(), true
}

func diffSplitVar(diffVar string, prefix byte) func(a *Action) (value.Value, bool) {
	return func(a *Action) (value.Value, bool) {
		diff, ok := a.text(diffVar)
		if !ok {
			return value.Value{}, false
		}
		return value.NewStrings(DiffSplit(diff, prefix)), true
	}
}

func lengthVar(textVar string) func(a *Action) (value.Value, bool) {
	return func(a *Action) (value.Value, bool) {
		s, ok := a.text(textVar)
		if !ok {
			return value.Value{}, false
		}
		return value.NewInt(int64(len(s))), true
	}
}

func linksVar(textVar string) func(a *Action) (value.Value, bool) {
	return func(a *Action) (value.Value, bool) {
		s, ok := a.text(textVar)
		if !ok {
			return value.Value{}, false
		}
		return value.NewStrings(ExternalLinks(s)), true
	}
}

// linkDiff is PHP's array_diff of two link lists: the links of the first
// that are not in the second, in order.
func linkDiff(a *Action, fromVar, minusVar string) (value.Value, bool) {
	from, okF := a.Var(fromVar)
	minus, okM := a.Var(minusVar)
	if !okF || !okM {
		return value.Value{}, false
	}
	exclude := map[string]bool{}
	for _, e := range minus.Elems() {
		exclude[e.ToString()] = true
	}
	var out []value.Value
	for _, e := range from.Elems() {
		if !exclude[e.ToString()] {
			out = append(out, e)
		}
	}
	return value.NewArray(out), true
}

// Known returns the variables known so far: the given ones and those
// derived by earlier reads (not those that could not be derived).
func (a *Action) Known() map[string]value.Value {
	out := make(map[string]value.Value, len(a.given))
	for k, v := range a.given {
		out[k] = v
	}
	for i, st := range a.state {
		if st == isDerived {
			out[syntax.Variables[i]] = a.at[i]
		}
	}
	return out
}
