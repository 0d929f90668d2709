package syntax

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// AbuseFilter's error ids (UserVisibleException ids). Tests and callers
// compare these, never message text.
const (
	// Tokenizer.
	ErrUnclosedComment   = "unclosedcomment"
	ErrUnrecognisedToken = "unrecognisedtoken"
	ErrUnclosedString    = "unclosedstring"
	// Parser.
	ErrExpectedNotFound    = "expectednotfound"
	ErrUnexpectedAtEnd     = "unexpectedatend"
	ErrUnexpectedToken     = "unexpectedtoken"
	ErrUnrecognisedKeyword = "unrecognisedkeyword"
	// Static checker.
	ErrUnknownFunction  = "unknownfunction"
	ErrNoParams         = "noparams"
	ErrNotEnoughArgs    = "notenoughargs"
	ErrTooManyArgs      = "toomanyargs"
	ErrUnrecognisedVar  = "unrecognisedvar"
	ErrUseBuiltin       = "usebuiltin"
	ErrOverrideBuiltin  = "overridebuiltin"
	ErrDisabledVar      = "disabledvar"
	ErrVariableVariable = "variablevariable"
	ErrUnusedVars       = "unusedvars"
	// Evaluation.
	ErrDivideByZero   = "dividebyzero"
	ErrRegexFailure   = "regexfailure"
	ErrInvalidIPRange = "invalidiprange"
	ErrNotArray       = "notarray"
	ErrOutOfBounds    = "outofbounds"
	ErrNegativeIndex  = "negativeindex"
	// Not AbuseFilter's: Vigil's guardrails.
	ErrConditionLimit = "conditionlimit" // AbuseFilter's ConditionLimitException
	ErrBudget         = "budgetexceeded" // Vigil's per-action runtime budget
	ErrTooComplex     = "toocomplex"     // nesting or size beyond Vigil's limits
	ErrInternal       = "internal"       // a bug in Vigil, reported rather than crashing
)

// Error is one error in a rule: where, AbuseFilter's id, and a message.
type Error struct {
	Pos    Pos    // byte offset of the offending token in the source
	Offset int    // AbuseFilter's "at character N" for the same error
	Code   string // AbuseFilter's error id, e.g. "unexpectedtoken"
	Msg    string // human-readable message, without the position
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (%s) at byte %d", e.Msg, e.Code, e.Pos)
}

// Position is a line and column (both 1-based; the column counts
// characters, not bytes) in a source text.
type Position struct {
	Line, Column int
}

func (p Position) String() string { return fmt.Sprintf("%d:%d", p.Line, p.Column) }

// PositionOf converts a byte offset in src to a line and column.
func PositionOf(src string, pos Pos) Position {
	if int(pos) > len(src) {
		pos = Pos(len(src))
	}
	line, col := 1, 1
	for i := 0; i < int(pos); {
		if src[i] == '\n' {
			line++
			col = 1
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(src[i:])
		i += size
		col++
	}
	return Position{line, col}
}

// Format renders e as "line:column: message (id)" for src.
func (e *Error) Format(src string) string {
	return fmt.Sprintf("%s: %s (%s)", PositionOf(src, e.Pos), e.Msg, e.Code)
}

// ErrorList is a list of errors sorted by position.
type ErrorList []*Error

func (l ErrorList) Error() string {
	switch len(l) {
	case 0:
		return "no errors"
	case 1:
		return l[0].Error()
	}
	return fmt.Sprintf("%s (and %d more errors)", l[0], len(l)-1)
}

// Err returns nil for an empty list, else the list.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Sort orders the list by position.
func (l ErrorList) Sort() {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Pos < l[j].Pos })
}

// Format renders every error on its own line, as Error.Format does.
func (l ErrorList) Format(src string) string {
	var b strings.Builder
	for _, e := range l {
		b.WriteString(e.Format(src))
		b.WriteByte('\n')
	}
	return b.String()
}

func newError(pos Pos, offset Pos, code, format string, args ...any) *Error {
	return &Error{Pos: pos, Offset: int(offset), Code: code, Msg: fmt.Sprintf(format, args...)}
}
